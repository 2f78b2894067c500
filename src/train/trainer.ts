/**
 * The training loop: torchvision's detection reference `train_one_epoch`, assembled from the
 * tested units. Per step: loader batch -> {@link toTrainingBatch} batch -> `tf.variableGrads` of
 * the summed losses of `MaskRCNN.trainingForward` (one pass) -> finite check -> optional clipping -> optimizer step
 * -> schedule -> heap check -> progress, with checkpoints every N steps that hold everything a
 * resumed run needs to equal an uninterrupted one: weights, optimizer slots, schedule iteration,
 * sampler RNG, and the loader position (epoch, batch), which the loader replays exactly because
 * its order and transforms are functions of (seed, epoch, index). The logged steps and the
 * evaluations go to `history.jsonl`, drawn as `curves.png` at each evaluation and at the end.
 *
 * Shapes: N images per batch padded to H x W (multiples of 32); G ground-truth objects of an image.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { evaluateModel } from '../api/evaluate_model';
import { fromTorchvision, MaskRCNNModel } from '../api/model';
import type { QuantizeOptions } from '../io/quantization';
import type { BackendRequest } from '../backend';
import { CocoDataset, DataLoader, loadCocoDataset, type TrainingSample } from '../data';
import { LOSS_NAMES, type LossName, type Losses } from '../losses/names';
import { MaskRCNN, type MaskRCNNConfig } from '../model/mask_rcnn';
import { withoutInitialization } from '../nn/torch_layer';
import { Rng } from '../util/random';
import { CHECKPOINT_WEIGHTS_DIR, latestCheckpoint, optimizerStateFromRecord, optimizerStateToRecord, saveCheckpoint } from './checkpoint';
import { NodeFileHandler } from '../io/file_handler';
import { isWasmTrainingKernelRegistered, registerWasmTrainingKernels } from '../kernels/register';
import { checkHeap } from './heap_guard';
import { evalRecord, isLoggedStep, stepRecord, TrainingHistory } from './history';
import { writeTrainingCurvesPng } from '../viz/png';
import {
  Adam,
  AdamW,
  clipGradNorm,
  gradsByKey,
  NonFiniteGradientError,
  SGD,
  TorchOptimizer,
  trainableParams,
  variablesOf,
  WarmupMultiStepSchedule,
  type OptimizerKind,
  type OptimParam,
} from './optim';
import { datasetDefaults, resolveTrainConfig, type ResolvedTrainConfig, type TrainConfig } from './train_config';
import { toTrainingBatch } from '../data/training_batch';

// Moved to its own file (inspectTargets builds its batch there too); kept here for existing imports.
export { toTrainingBatch } from '../data/training_batch';

/** What one training step measured, handed to {@link TrainerOptions.onStep}. */
export interface StepInfo {
  /** Steps done, this one included (1-based). */
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  /** Index of the batch in its epoch. */
  readonly batchIndex: number;
  readonly losses: Readonly<Record<LossName, number>>;
  readonly totalLoss: number;
  /** Learning rate this step used. */
  readonly lr: number;
  /** Global gradient norm before clipping (only when clipping is on). */
  readonly gradNorm?: number;
  readonly images: number;
  readonly stepSeconds: number;
  /** Images per second over the steps of this run so far. */
  readonly imagesPerSecond: number;
  /** Estimated seconds to `totalSteps`. */
  readonly etaSeconds: number;
}

/** One evaluation on the held-out set. */
export interface EvalInfo {
  readonly step: number;
  /** Box AP @[.5:.95]. */
  readonly boxAp: number;
  /** Mask AP @[.5:.95]. */
  readonly maskAp: number;
  /** pycocotools' printed lines, bbox then segm. */
  readonly lines: readonly string[];
}

/** Hooks and injections of a {@link Trainer}. */
export interface TrainerOptions {
  /** Continue from the newest checkpoint in `outputDir` (fails when there is none). */
  readonly resume?: boolean;
  /** Called after every step. */
  readonly onStep?: (info: StepInfo) => void;
  /** Called after every evaluation. */
  readonly onEval?: (info: EvalInfo) => void;
  /** Informational lines (checkpoints, resume); default none. */
  readonly log?: (line: string) => void;
  /**
   * Builds a model from scratch (default `new MaskRCNN(config)`, torchvision's initialisation);
   * not used when `init` is given or when resuming.
   */
  readonly buildModel?: (config: MaskRCNNConfig) => MaskRCNN;
  /**
   * Keep the run's history in `outputDir`: `history.jsonl` (a record at every logged step, see
   * `isLoggedStep`, and at every evaluation; a new run starts it afresh, a resumed one keeps the
   * records up to its checkpoint's step) and `curves.png` (redrawn at each evaluation and at the
   * end of `run()`, atomically). Default true; false writes neither.
   */
  readonly history?: boolean;
}

/**
 * The name of the training-curves picture in a run's output folder (see `TrainerOptions.history`).
 *
 * @example
 * ```ts
 * const png = path.join(config.outputDir, CURVES_FILE); // runs/shapes/curves.png
 * ```
 */
export const CURVES_FILE = 'curves.png';

/** What {@link Trainer.run} did. */
export interface TrainResult {
  readonly steps: number;
  /** Losses of the last step. */
  readonly lastLosses?: Readonly<Record<LossName, number>>;
  /** Images per second over this run. */
  readonly imagesPerSecond: number;
  readonly lastEval?: EvalInfo;
  /** Path of the last checkpoint written. */
  readonly checkpoint?: string;
}

/**
 * Thrown when a step's losses or gradients are NaN or infinite. Nothing of that step was applied
 * and no checkpoint was written, so the previous checkpoint is the last good state.
 *
 * @example
 * ```ts
 * try { await trainer.run(); } catch (e) { if (e instanceof TrainingDivergedError) console.error(e.step, e.losses); }
 * ```
 */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly losses: Readonly<Record<string, number>>,
    detail: string,
  ) {
    super(
      `Training diverged at step ${step}: ${detail}; losses ${Object.entries(losses)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}. Nothing of this step was applied; the last checkpoint before it is untouched ` +
        '(lower the lr, add clipGradNorm, or lengthen the warmup).',
    );
    this.name = 'TrainingDivergedError';
  }
}

/** Where the next batch comes from. */
/** Where the loader stands: the epoch and the index of the next batch in it. */
export interface LoaderPosition {
  readonly epoch: number;
  readonly batch: number;
}

const STATE_KEY = 'trainer';

function makeOptimizer(config: ResolvedTrainConfig, params: readonly OptimParam[], lr: number): TorchOptimizer {
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(params, { lr, momentum: config.momentum, weightDecay: config.weightDecay });
    case 'adam':
      return new Adam(params, { lr, weightDecay: config.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, weightDecay: config.weightDecay });
  }
}

function lossValues(losses: Losses): Record<LossName, number> {
  const out = {} as Record<LossName, number>;
  for (const k of LOSS_NAMES) out[k] = losses[k].dataSync()[0];
  return out;
}

/**
 * Trains a Mask R-CNN on a COCO-format dataset. Build with {@link Trainer.create}, then `run()`.
 *
 * @example
 * ```ts
 * const trainer = await Trainer.create({ train: { annotationFile: 'a.json', imagesDir: 'img' }, outputDir: 'runs/a' },
 *   { onStep: (s) => console.log(s.step, s.totalLoss) });
 * await trainer.run();
 * trainer.dispose();
 * ```
 */
export class Trainer {
  /** Steps done so far. */
  private stepsDone: number;
  private position: LoaderPosition;
  private disposed = false;
  /** The newest checkpoint this trainer wrote or resumed from, and its step. */
  private lastCheckpoint: { dir: string; step: number } | undefined;
  /** How many history records `curves.png` shows (-1: not drawn by this trainer). */
  private curvesDrawn = -1;

  private constructor(
    readonly config: ResolvedTrainConfig,
    readonly model: MaskRCNNModel,
    readonly dataset: CocoDataset,
    private readonly loader: DataLoader,
    private readonly params: OptimParam[],
    readonly optimizer: TorchOptimizer,
    readonly schedule: WarmupMultiStepSchedule,
    readonly rng: Rng,
    readonly totalSteps: number,
    private readonly options: TrainerOptions,
    start: { step: number; position: LoaderPosition; checkpoint?: string },
    /** The run's history file; undefined with `history: false`. */
    readonly history: TrainingHistory | undefined,
  ) {
    this.stepsDone = start.step;
    this.position = start.position;
    if (start.checkpoint !== undefined) this.lastCheckpoint = { dir: start.checkpoint, step: start.step };
  }

  /**
   * Loads the dataset, builds or loads the model, the optimizer and the schedule, and restores
   * the newest checkpoint when `options.resume` is set.
   */
  static async create(config: TrainConfig | ResolvedTrainConfig, options: TrainerOptions = {}): Promise<Trainer> {
    const c = resolveTrainConfig(config);
    if (tf.getBackend() === 'wasm') {
      registerWasmTrainingKernels();
      if (!isWasmTrainingKernelRegistered('Conv2DBackpropFilter')) {
        throw new Error('Error in Trainer: the wasm backend lacks the training kernels; call registerWasmTrainingKernels() before tf.setBackend("wasm")');
      }
    }
    const log = options.log ?? (() => undefined);
    const dataset = await loadCocoDataset(c.train.annotationFile, c.train.imagesDir);
    const modelConfig: MaskRCNNConfig = {
      numClasses: dataset.numClasses,
      depth: c.depth,
      fpnChannels: c.fpnChannels,
      representationSize: c.representationSize,
      maskLayers: c.maskLayers,
      maskDimReduced: c.maskDimReduced,
      trainableBackboneLayers: c.trainableBackboneLayers,
      backboneNorm: c.backboneNorm,
      transform: { minSize: Math.min(...c.minSizes), maxSize: c.maxSize },
      // The run's seed drives every random choice, the initial weights included.
      initSeed: c.seed,
      rpn: {
        preNmsTopN: { training: c.rpnPreNmsTopN, testing: Math.min(1000, c.rpnPreNmsTopN) },
        postNmsTopN: { training: c.rpnPostNmsTopN, testing: Math.min(1000, c.rpnPostNmsTopN) },
      },
    };
    const checkpoint = options.resume ? await latestCheckpoint(c.outputDir) : undefined;
    if (options.resume && checkpoint === undefined) throw new Error(`Error in Trainer: resume asked, but ${path.resolve(c.outputDir)} holds no checkpoint`);
    for (const w of checkpoint?.warnings ?? []) log(`resume: ${w}`);
    const classNames = ['__background__', ...dataset.categories.map((cat) => cat.name)];
    let model: MaskRCNNModel;
    if (checkpoint !== undefined) {
      const network = withoutInitialization(() => new MaskRCNN(modelConfig));
      checkpoint.applyWeights(network);
      model = new MaskRCNNModel(network, classNames, undefined);
    } else if (c.init !== undefined) {
      model = await fromTorchvision(c.init, { config: modelConfig, strict: false, classNames, backend: tf.getBackend() as BackendRequest });
      log(`init: ${c.init}: ${model.loadReport?.loaded.length ?? 0} tensors loaded, ${model.loadReport?.missing.length ?? 0} left fresh`);
    } else {
      model = new MaskRCNNModel((options.buildModel ?? ((m) => new MaskRCNN(m)))(modelConfig), classNames, undefined);
    }
    const loader = new DataLoader(dataset, {
      batchSize: c.batchSize,
      seed: c.seed,
      transform: {
        minSizes: c.minSizes,
        maxSize: c.maxSize,
        flipProbability: c.flipProbability,
        // The model's own transform normalises before resizing; the loader does the same.
        normalize: { mean: model.network.transform.imageMean, std: model.network.transform.imageStd },
      },
    });
    const { totalSteps, lr: baseLr, warmupIters } = datasetDefaults(c, loader.numBatches);
    const schedule = new WarmupMultiStepSchedule({
      baseLr,
      milestones: c.milestones,
      gamma: c.gamma,
      warmupFactor: c.warmupFactor,
      warmupIters,
      milestoneUnit: 'iteration',
    });
    const params = trainableParams(model.network);
    const optimizer = makeOptimizer(c, params, schedule.lr);
    const rng = new Rng(c.seed);
    let start: { step: number; position: LoaderPosition; checkpoint?: string } = { step: 0, position: { epoch: 0, batch: 0 } };
    if (checkpoint !== undefined) {
      const saved = checkpoint.trainConfig[STATE_KEY] as { optimizer: OptimizerKind; position: LoaderPosition } | undefined;
      if (saved === undefined) throw new Error(`Error in Trainer: checkpoint ${checkpoint.dir} was not written by the Trainer (no '${STATE_KEY}' record)`);
      if (saved.optimizer !== c.optimizer) throw new Error(`Error in Trainer: checkpoint ${checkpoint.dir} holds '${saved.optimizer}' state, the config asks for '${c.optimizer}'`);
      optimizer.setState(optimizerStateFromRecord(checkpoint.optimizerState, c.optimizer));
      schedule.setState({ iteration: checkpoint.optimizerState.scalars.scheduleIteration });
      rng.setState(checkpoint.rngState);
      start = { step: checkpoint.step, position: saved.position, checkpoint: checkpoint.dir };
      log(`resumed from ${checkpoint.dir} at step ${checkpoint.step} (epoch ${saved.position.epoch}, batch ${saved.position.batch})`);
    }
    let history: TrainingHistory | undefined;
    if (options.history !== false) {
      history = await TrainingHistory.open(c.outputDir, { resumeStep: checkpoint?.step });
      if (history.dropped > 0 || history.droppedTornLine) {
        const what = checkpoint === undefined ? 'a new run' : `resuming at step ${checkpoint.step}`;
        const dropped = [...(history.dropped > 0 ? [`${history.dropped} record${history.dropped === 1 ? '' : 's'}`] : []), ...(history.droppedTornLine ? ['a torn last line'] : [])];
        log(`history: ${what}: dropped ${dropped.join(' and ')} from ${history.file}`);
      }
    }
    return new Trainer(c, model, dataset, loader, params, optimizer, schedule, rng, totalSteps, options, start, history);
  }

  /** Steps done so far. */
  get step(): number {
    return this.stepsDone;
  }

  /** Where the next batch comes from. */
  get nextPosition(): LoaderPosition {
    return this.position;
  }

  /**
   * Trains until `untilStep` (default the configured total), checkpointing every
   * `checkpointEvery` steps and at the end, and evaluating every `evalEvery` steps and at the
   * end when a held-out set is configured. With history on (the default), every logged step and
   * evaluation is appended to `history.jsonl`, and `curves.png` is redrawn at each evaluation and
   * when the run ends (a diverged run included).
   *
   * @throws TrainingDivergedError on a NaN/Inf loss or gradient (nothing of that step applied).
   */
  async run(untilStep: number = this.totalSteps): Promise<TrainResult> {
    if (this.disposed) throw new Error('Error in Trainer.run: the trainer was disposed');
    const c = this.config;
    const until = Math.min(untilStep, this.totalSteps);
    const started = Date.now();
    let images = 0;
    let lastLosses: Record<LossName, number> | undefined;
    let lastEval: EvalInfo | undefined;
    let checkpoint: string | undefined;
    const itersPerEpoch = this.loader.numBatches;
    try {
      while (this.stepsDone < until) {
        if (this.position.batch >= itersPerEpoch) this.position = { epoch: this.position.epoch + 1, batch: 0 };
        for await (const b of this.loader.epoch(this.position.epoch, this.position.batch)) {
          const t0 = Date.now();
          const lr = this.schedule.lr;
          const { losses, gradNorm } = await this.trainStep(b.samples, this.stepsDone + 1);
          lastLosses = losses;
          this.stepsDone++;
          this.position = { epoch: b.epoch, batch: b.index + 1 };
          images += b.samples.length;
          const elapsed = (Date.now() - started) / 1000;
          const ips = images / Math.max(elapsed, 1e-9);
          const info: StepInfo = {
            step: this.stepsDone,
            totalSteps: this.totalSteps,
            epoch: b.epoch,
            batchIndex: b.index,
            losses,
            totalLoss: LOSS_NAMES.reduce((s, k) => s + losses[k], 0),
            lr,
            gradNorm,
            images: b.samples.length,
            stepSeconds: (Date.now() - t0) / 1000,
            imagesPerSecond: ips,
            etaSeconds: ((this.totalSteps - this.stepsDone) * c.batchSize) / ips,
          };
          this.options.onStep?.(info);
          const last = this.stepsDone === until;
          if (this.history !== undefined && (isLoggedStep(this.stepsDone, this.totalSteps, c.logEvery) || last)) {
            await this.history.append(stepRecord(info));
          }
          if (c.val !== undefined && ((c.evalEvery > 0 && this.stepsDone % c.evalEvery === 0) || (last && this.stepsDone === this.totalSteps))) {
            lastEval = await this.evaluate();
          }
          if (this.stepsDone % c.checkpointEvery === 0 || last) {
            checkpoint = await this.saveCheckpoint(lastEval?.step === this.stepsDone ? lastEval : undefined);
          }
          if (last) break;
        }
        if (this.stepsDone < until && this.position.batch < itersPerEpoch) {
          // The epoch ended early (bad samples left out): move on.
          this.position = { epoch: this.position.epoch + 1, batch: 0 };
        }
      }
    } catch (e) {
      // The curves up to a divergence show how it came; the error is what the caller needs.
      await this.drawCurves().catch(() => undefined);
      throw e;
    }
    const seconds = (Date.now() - started) / 1000;
    const curves = await this.drawCurves();
    if (curves !== undefined) (this.options.log ?? (() => undefined))(`curves: ${curves}`);
    return { steps: this.stepsDone, lastLosses, imagesPerSecond: images / Math.max(seconds, 1e-9), lastEval, checkpoint };
  }

  /** One optimizer step on `samples`; applies nothing when a loss or gradient is not finite. */
  private async trainStep(samples: readonly TrainingSample[], step: number): Promise<{ losses: Record<LossName, number>; gradNorm?: number }> {
    const c = this.config;
    const batch = toTrainingBatch(samples);
    let kept: Losses | undefined;
    let grads: tf.NamedTensorMap | undefined;
    let value: tf.Scalar | undefined;
    let clippedGrads: tf.Tensor[] = [];
    // Batch norms (backboneNorm 'batch') use batch statistics in the step, and their running
    // statistics move only when the step is applied.
    const body = this.model.network.backbone.body;
    body.setBatchNormTraining(true);
    try {
      this.schedule.apply(this.optimizer);
      // One forward through the model's own stages, proposals and targets read as data inside it.
      ({ value, grads } = tf.variableGrads(() => {
        const l = this.model.network.trainingForward(batch, {
          rng: this.rng,
          rpnBatchSizePerImage: c.rpnBatchSizePerImage,
          roiBatchSizePerImage: c.roiBatchSizePerImage,
          rpnPositiveFraction: c.rpnPositiveFraction,
          roiPositiveFraction: c.roiPositiveFraction,
        }).losses;
        kept = l;
        for (const k of LOSS_NAMES) tf.keep(l[k]);
        return tf.addN(LOSS_NAMES.map((k) => l[k])) as tf.Scalar;
      }, variablesOf(this.params)));
      const losses = lossValues(kept as Losses);
      if (!LOSS_NAMES.every((k) => Number.isFinite(losses[k]))) {
        throw new TrainingDivergedError(step, losses, 'a loss is not finite');
      }
      let byKey = gradsByKey(this.params, grads);
      let gradNorm: number | undefined;
      if (c.clipGradNorm !== undefined) {
        const clipped = clipGradNorm(byKey, c.clipGradNorm);
        gradNorm = clipped.totalNorm;
        clippedGrads = [...clipped.grads.values()].filter((g) => !Object.values(grads as tf.NamedTensorMap).includes(g));
        byKey = clipped.grads;
      }
      try {
        this.optimizer.step(byKey);
      } catch (e) {
        if (e instanceof NonFiniteGradientError) throw new TrainingDivergedError(step, losses, e.message);
        throw e;
      }
      for (const bn of body.batchNorms()) bn.commitRunningStatistics();
      this.schedule.step();
      checkHeap(`training step ${step}`, c.heapLimitGiB * 1024 ** 3);
      return { losses, gradNorm };
    } finally {
      body.setBatchNormTraining(false);
      tf.dispose([batch.images, ...(kept ? LOSS_NAMES.map((k) => (kept as Losses)[k]) : []), ...(value ? [value] : []), ...clippedGrads]);
      if (grads) tf.dispose(grads);
    }
  }

  /** Box and mask AP of the model on the held-out set. */
  async evaluate(): Promise<EvalInfo> {
    const c = this.config;
    if (c.val === undefined) throw new Error('Error in Trainer.evaluate: the config has no val dataset');
    const labelToCategoryId = [0, ...this.dataset.categories.map((cat) => cat.id)];
    const { summaries } = await evaluateModel(this.model, c.val.annotationFile, c.val.imagesDir, {
      labelToCategoryId,
      maxImages: c.evalMaxImages,
    });
    const ap = (t: string): number => summaries.find((s) => s.iouType === t)?.stats[0] ?? NaN;
    const info: EvalInfo = { step: this.stepsDone, boxAp: ap('bbox'), maskAp: ap('segm'), lines: summaries.flatMap((s) => [`${s.iouType}:`, ...s.lines]) };
    if (this.history !== undefined) {
      await this.history.append(evalRecord(info));
      await this.drawCurves();
    }
    this.options.onEval?.(info);
    return info;
  }

  /**
   * Redraws `outputDir/curves.png` from the history unless it already shows every record; returns
   * its path (undefined with history off).
   */
  private async drawCurves(): Promise<string | undefined> {
    const history = this.history;
    if (history === undefined) return undefined;
    const file = path.join(this.config.outputDir, CURVES_FILE);
    if (history.records.length !== this.curvesDrawn) {
      await fs.promises.mkdir(this.config.outputDir, { recursive: true });
      await writeTrainingCurvesPng(history.records, file);
      this.curvesDrawn = history.records.length;
    }
    return file;
  }

  /** Writes a checkpoint of the current state into `outputDir`; returns its folder. */
  async saveCheckpoint(evalInfo?: EvalInfo): Promise<string> {
    const c = this.config;
    const dir = await saveCheckpoint(
      c.outputDir,
      {
        model: this.model.network,
        modelConfig: { ...this.model.network.config, numClasses: this.model.network.numClasses } as Record<string, unknown>,
        optimizerState: optimizerStateToRecord(this.optimizer.getState(), this.schedule.iteration),
        step: this.stepsDone,
        epoch: this.position.epoch,
        rngState: this.rng.getState(),
        trainConfig: { ...c, [STATE_KEY]: { optimizer: c.optimizer, position: this.position } } as unknown as Record<string, unknown>,
        metrics: evalInfo ? { boxAp: evalInfo.boxAp, maskAp: evalInfo.maskAp } : undefined,
      },
      { keep: c.keep },
    );
    this.lastCheckpoint = { dir, step: this.stepsDone };
    (this.options.log ?? (() => undefined))(`checkpoint: ${dir}`);
    return dir;
  }

  /**
   * Saves the trained model as model.json + shards (loadable with `load`), optionally quantized
   * (see `QuantizeOptions`); checkpoints stay float32 so that a resume is exact.
   *
   * The model is not stored twice: when a checkpoint of this step exists (run() writes one at
   * its end), the float32 shards are hard links to that checkpoint's, whose bytes they equal
   * (compared before linking). Retention deleting the checkpoint later only removes its name;
   * model/ keeps the data. Where links are impossible (another file system, FAT), or the model is
   * quantized, the shards are written as usual.
   */
  async saveModel(dir: string = path.join(this.config.outputDir, 'model'), options: QuantizeOptions = {}): Promise<string> {
    await fs.promises.mkdir(dir, { recursive: true });
    const ckpt = this.lastCheckpoint?.step === this.stepsDone ? this.lastCheckpoint : undefined;
    const handler = new NodeFileHandler(path.resolve(dir), {
      reuseShardsFrom: ckpt !== undefined && options.quantization === undefined ? path.join(ckpt.dir, CHECKPOINT_WEIGHTS_DIR) : undefined,
    });
    await this.model.save(handler, options);
    const saved = handler.lastSave;
    if (ckpt !== undefined && saved !== undefined && saved.linked > 0) {
      const mb = (saved.linkedBytes / 1e6).toFixed(1);
      (this.options.log ?? (() => undefined))(`model: ${saved.linked} of ${saved.shards} shards (${mb} MB) are hard links to ${ckpt.dir}, stored once`);
    }
    return dir;
  }

  /** Frees the model and optimizer. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/**
 * Trains with `config` from start to end (or resumes), saves the final model under
 * `outputDir/model`, and frees everything.
 *
 * @example
 * ```ts
 * const result = await train({ train: { annotationFile: 'shapes/train.json', imagesDir: 'shapes/images' },
 *   outputDir: 'runs/shapes', minSizes: [160], maxSize: 256, maxSteps: 200, lr: 0.01 });
 * console.log(result.lastEval?.maskAp);
 * ```
 */
export async function train(config: TrainConfig, options: TrainerOptions = {}): Promise<TrainResult> {
  const trainer = await Trainer.create(config, options);
  try {
    const result = await trainer.run();
    await trainer.saveModel();
    return result;
  } finally {
    trainer.dispose();
  }
}
