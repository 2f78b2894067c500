/**
 * Training data loader: seeded epoch-dependent shuffling, batches of mixed-size images, prefetch
 * (decoding runs in sharp's thread pool while the model computes), bounded memory, and bad
 * samples skipped with a counted warning instead of ending the epoch.
 *
 * Shorthand: N images per batch, each H_i x W_i after its own resize.
 *
 * Determinism: the order of epoch e is a permutation drawn from `hashSeed(seed, e)`; the random
 * choices of a sample (size, jitter, flip) come from `hashSeed(seed, e, index)`. Neither depends
 * on timing or prefetch depth, so a run resumed at (epoch, batch) sees the same batches.
 */
import type { CocoTarget } from './coco_sample';
import { DecodedImage } from './image_io';
import { applyTrainTransforms, resolveTransformOptions, sampleTransformParams, TrainingSample, TrainTransformOptions } from './transforms';
import { WarningHandler, WarningLog } from './warnings';
import { hashSeed, Rng } from '../util/random';

/** What the loader needs from a dataset ({@link CocoDataset} provides it). */
export interface TrainingSource {
  readonly length: number;
  target(index: number): CocoTarget;
  readImage(index: number): Promise<DecodedImage>;
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Images per batch. Default 2 (torchvision's reference default per GPU). */
  readonly batchSize?: number;
  /** Shuffle each epoch. Default true. */
  readonly shuffle?: boolean;
  /** Seed of shuffling and of the transforms' random choices. Default 0. */
  readonly seed?: number;
  /** Drop the last incomplete batch. Default false. */
  readonly dropLast?: boolean;
  /** Batches prepared ahead of the one being consumed (bounds memory). Default 2. */
  readonly prefetchBatches?: number;
  /** Images decoded at the same time. Default 2. */
  readonly concurrency?: number;
  /** Training transforms (see {@link TrainTransformOptions}). */
  readonly transform?: TrainTransformOptions;
  /** Receives warnings about skipped samples; without it the first 20 are printed. */
  readonly onWarning?: WarningHandler;
  /**
   * Give up on an epoch whose first `failFastAfter` samples all failed (a wrong images folder,
   * not a few bad files). Default 32.
   */
  readonly failFastAfter?: number;
}

/** One batch: images of different sizes, each with its ground truth. */
export interface Batch {
  readonly epoch: number;
  /** Index of the batch in its epoch. */
  readonly index: number;
  /** Dataset indices of the samples (bad samples left out). */
  readonly indices: number[];
  readonly samples: TrainingSample[];
}

/** A small counting semaphore, to cap the number of images decoded at once. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`Error in DataLoader: ${name} must be a positive integer, got ${v}`);
}

type SampleResult = { readonly ok: true; readonly sample: TrainingSample } | { readonly ok: false; readonly message: string };

/**
 * Iterates a dataset in batches for training.
 *
 * @example
 * ```ts
 * const ds = await loadCocoDataset('ann.json', 'images/');
 * const loader = new DataLoader(ds, { batchSize: 2, seed: 1, transform: { minSizes: [640, 800] } });
 * for (let epoch = 0; epoch < 12; epoch++) {
 *   for await (const batch of loader.epoch(epoch)) {
 *     trainStep(batch.samples);
 *   }
 * }
 * ```
 */
export class DataLoader {
  /** Warnings about samples that failed to load. */
  readonly warnings: WarningLog;
  private readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly prefetchBatches: number;
  private readonly failFastAfter: number;
  private readonly transform: TrainTransformOptions;
  private readonly semaphore: Semaphore;

  constructor(
    private readonly dataset: TrainingSource,
    options: DataLoaderOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.prefetchBatches = options.prefetchBatches ?? 2;
    this.failFastAfter = options.failFastAfter ?? 32;
    const concurrency = options.concurrency ?? 2;
    checkPositiveInt('batchSize', this.batchSize);
    checkPositiveInt('concurrency', concurrency);
    checkPositiveInt('failFastAfter', this.failFastAfter);
    if (!Number.isInteger(this.prefetchBatches) || this.prefetchBatches < 0) {
      throw new Error(`Error in DataLoader: prefetchBatches must be a non-negative integer, got ${this.prefetchBatches}`);
    }
    if (!Number.isInteger(this.seed)) throw new Error(`Error in DataLoader: seed must be an integer, got ${this.seed}`);
    if (dataset.length === 0) throw new Error('Error in DataLoader: the dataset is empty');
    resolveTransformOptions(options.transform); // fail now, not in the middle of an epoch
    this.transform = options.transform ?? {};
    this.semaphore = new Semaphore(concurrency);
    this.warnings = new WarningLog(options.onWarning);
  }

  /** Batches per epoch. */
  get numBatches(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order of dataset indices in `epoch`. */
  order(epoch: number): number[] {
    if (!this.shuffle) return Array.from({ length: this.dataset.length }, (_, i) => i);
    return new Rng(hashSeed(this.seed, 0x5348, epoch)).permutation(this.dataset.length);
  }

  /**
   * Batches of `epoch`, from batch `startBatch` (to resume mid-epoch). Throws if no sample of
   * the epoch could be loaded, or if the first `failFastAfter` all failed.
   */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch, void, undefined> {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`Error in DataLoader.epoch: epoch must be a non-negative integer, got ${epoch}`);
    const numBatches = this.numBatches;
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > numBatches) {
      throw new Error(`Error in DataLoader.epoch: startBatch must be an integer in 0..${numBatches}, got ${startBatch}`);
    }
    const order = this.order(epoch);
    const end = Math.min(order.length, numBatches * this.batchSize);
    const window = (this.prefetchBatches + 1) * this.batchSize; // samples started but not consumed
    const pending: Promise<SampleResult>[] = [];
    let next = startBatch * this.batchSize;
    let loaded = 0;
    let failed = 0;
    let firstError = '';
    for (let b = startBatch; b < numBatches; b++) {
      while (pending.length < window && next < end) {
        const index = order[next++];
        pending.push(this.loadSample(index, epoch));
      }
      const count = Math.min(this.batchSize, end - b * this.batchSize);
      const indices: number[] = [];
      const samples: TrainingSample[] = [];
      for (let k = 0; k < count; k++) {
        const index = order[b * this.batchSize + k];
        const r = await (pending.shift() as Promise<SampleResult>);
        if (r.ok) {
          indices.push(index);
          samples.push(r.sample);
          loaded++;
        } else {
          failed++;
          if (firstError === '') firstError = r.message;
          if (loaded === 0 && failed >= this.failFastAfter) {
            throw new Error(`DataLoader: the first ${failed} samples of epoch ${epoch} all failed to load; first error: ${firstError}`);
          }
        }
      }
      if (samples.length > 0) yield { epoch, index: b, indices, samples };
    }
    if (loaded === 0 && failed > 0) {
      throw new Error(`DataLoader: no sample of epoch ${epoch} could be loaded (${failed} failed); first error: ${firstError}`);
    }
  }

  /** Loads and transforms one sample; never rejects (a failure is warned and returned). */
  private async loadSample(index: number, epoch: number): Promise<SampleResult> {
    let fileName = `dataset index ${index}`;
    try {
      const target = this.dataset.target(index);
      fileName = target.filePath;
      const params = sampleTransformParams(new Rng(hashSeed(this.seed, 0x5452, epoch, index)), target.height, target.width, this.transform);
      await this.semaphore.acquire();
      let image: DecodedImage;
      try {
        image = await this.dataset.readImage(index);
      } finally {
        this.semaphore.release();
      }
      return { ok: true, sample: applyTrainTransforms(image, target, params, this.transform) };
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      this.warnings.warn('bad-sample', fileName, `skipped in epoch ${epoch}: ${message}`);
      return { ok: false, message };
    }
  }
}
