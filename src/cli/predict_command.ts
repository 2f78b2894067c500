/**
 * `maskrcnn predict`: detections and masks for image files, printed as a table, written as JSON
 * (COCO results by default, which `maskrcnn eval --dt` reads) and drawn into one picture per image.
 *
 * Everything that can be checked without the model is, before the model is loaded (6-13 s for
 * ResNet-50): the output files, the weights path, the --gt file and every image's header. An
 * image that fails, then or later, is reported with its position and path and the others go on;
 * the command writes what it has and fails at the end, saying how many images failed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { CocoResult, toCocoResults } from '../api/coco_results';
import { CroppedMask, load, maskToCocoRle, Prediction } from '../api/model';
import { loadShippedModel, shippedModelPath } from '../api/shipped_model';
import { describeBackend } from '../backend';
import { readImage, readImageInfo } from '../data/image_io';
import { CocoGroundTruth } from '../eval';
import { writeOverlayPng } from '../viz/png';
import { matchImageIds } from './coco_ids';
import { categoryIdsOf } from '../api/category_ids';
import { checkInputPath, checkWeightsPath, numberIn } from './model_options';
import { withDownloadProgress } from './download_progress';
import { writeFileAtomic } from '../io/atomic_file';

/**
 * Formats of `predict --out`: `coco` is COCO results (`[{ image_id, category_id, bbox, score,
 * segmentation }]`, what pycocotools' loadRes and `maskrcnn eval --dt` read); `detailed` is one
 * record per image file (file, size, boxes as x1 y1 x2 y2, labels and their names, RLE masks).
 *
 * @example
 * ```ts
 * PREDICT_FORMATS.includes('coco'); // true
 * ```
 */
export const PREDICT_FORMATS = ['coco', 'detailed'] as const;

/**
 * A value of `--format`; see {@link PREDICT_FORMATS}.
 *
 * @example
 * ```ts
 * const format: PredictFormat = 'detailed';
 * ```
 */
export type PredictFormat = (typeof PREDICT_FORMATS)[number];

/**
 * Options of {@link runPredict}.
 *
 * @example
 * ```ts
 * const o: PredictCommandOptions = { images: ['a.jpg', 'b.jpg'], out: 'preds.json', gt: 'val/instances.json' };
 * ```
 */
export interface PredictCommandOptions {
  /**
   * A published checkpoint's name (e.g. `maskrcnn_resnet50_fpn_coco`, downloaded once), a torchvision
   * checkpoint (.pth) or a folder saved by maskrcnn-tfjs; default the shipped shapes model.
   */
  weights?: string;
  images: string[];
  /** JSON output file; never overwritten unless `force`. */
  out?: string;
  /** Format of `out`; default 'coco' (see {@link PREDICT_FORMATS}). */
  format?: PredictFormat;
  /**
   * COCO instances file the images belong to: image ids come from its `file_name`s and category
   * ids from its category names. Without it, image ids are 1..N in argument order and category
   * ids are the labels.
   */
  gt?: string;
  /**
   * Folder of the pictures (`<image name>.overlay.png`, one per image); default the folder of
   * `out`, none without `out`; false: no pictures. Never overwritten unless `force`.
   */
  overlays?: string | false;
  force?: boolean;
  scoreThreshold?: number;
  maskThreshold?: number;
  maxDetections?: number;
  /** Largest image accepted, in pixels; default 50 megapixels (see `DEFAULT_MAX_PIXELS`). */
  maxPixels?: number;
  backend?: string;
}

/**
 * An image that could not be predicted, drawn or matched to the ground truth.
 *
 * @example
 * ```ts
 * const f: PredictFailure = { index: 1, file: 'b.jpg', reason: 'readImage: image file not found: b.jpg' };
 * ```
 */
export interface PredictFailure {
  /** Position in `images`, 0-based (the messages count from 1: "image 2 of 3"). */
  readonly index: number;
  readonly file: string;
  readonly reason: string;
}

/**
 * Thrown by {@link runPredict} when some images failed, after the others were predicted and
 * written. The message says how many and lists them.
 *
 * @example
 * ```ts
 * try {
 *   await runPredict({ images: ['a.jpg', 'missing.jpg'], out: 'preds.json' });
 * } catch (e) {
 *   if (e instanceof PredictFailedError) console.log(e.failures[0].file, e.predictions[0]?.detections.length);
 * }
 * ```
 */
export class PredictFailedError extends Error {
  constructor(
    /** The failed images, in input order. */
    readonly failures: readonly PredictFailure[],
    /** Per input image, its prediction, or undefined where it failed. */
    readonly predictions: readonly (Prediction<CroppedMask> | undefined)[],
  ) {
    const n = predictions.length;
    super(
      `Error in predict: ${failures.length} of ${n} image${n === 1 ? '' : 's'} failed` +
        `${failures.length < n ? ` (the other ${n - failures.length} were predicted and written)` : ''}:\n` +
        failures.map((f) => `  ${describeImage(f.index, n, f.file)}: ${f.reason}`).join('\n'),
    );
    this.name = 'PredictFailedError';
  }
}

function describeImage(index: number, count: number, file: string): string {
  return `image ${index + 1} of ${count} (${file})`;
}

/**
 * Runs the model on the images and returns the predictions; prints one line per image and a
 * table of the detections, writes `out` and the pictures. An image that fails does not stop the
 * others: see {@link PredictFailedError}.
 *
 * @throws PredictFailedError after writing the outputs, when some images failed.
 * @throws Error before any work: bad options, existing outputs without `force`, bad weights or --gt.
 * @example
 * ```ts
 * await runPredict({ weights: 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth', images: ['a.jpg'], out: 'a.json' });
 * ```
 */
export async function runPredict(o: PredictCommandOptions, log: (line: string) => void = console.log): Promise<Prediction<CroppedMask>[]> {
  const images = o.images;
  if (images.length === 0) throw new Error('Error in predict: no image files given');
  const format = o.format ?? 'coco';
  if (!PREDICT_FORMATS.includes(format)) {
    throw new Error(`Error in predict: --format must be one of ${PREDICT_FORMATS.join(', ')}; got ${JSON.stringify(format)}`);
  }
  if (o.out !== undefined && fs.existsSync(o.out) && !o.force) {
    throw new Error(`Error in predict: ${o.out} exists; pass --force to replace it`);
  }
  // Every picture's name is settled before any work, so a clash fails fast and nothing is replaced.
  const overlayDir = o.overlays === false ? undefined : (o.overlays ?? (o.out !== undefined ? path.dirname(path.resolve(o.out)) : undefined));
  const pictures = overlayDir === undefined ? [] : overlayNames(images, overlayDir);
  const existing = pictures.filter((p) => fs.existsSync(p));
  if (existing.length > 0 && !o.force) {
    throw new Error(`Error in predict: ${existing.join(', ')} exist${existing.length === 1 ? 's' : ''}; pass --force to replace, or --no-overlays`);
  }
  if (o.weights !== undefined) checkWeightsPath('predict', '--weights', o.weights);
  const gt = o.gt === undefined ? undefined : readGroundTruth(o.gt);

  // Every image is checked from its header (and matched to --gt) now, not after the model load.
  const failed = await mapWithLimit(images, 8, (file) => readImageInfo(file, { maxPixels: o.maxPixels }).then(() => undefined, (e: Error) => e.message));
  const imageIds: (number | undefined)[] = images.map((_, i) => i + 1);
  if (gt !== undefined) {
    const match = matchImageIds(images, gt);
    match.problems.forEach((p, i) => (failed[i] ??= p));
    imageIds.splice(0, images.length, ...match.ids);
  }
  const failures: PredictFailure[] = [];
  const fail = (index: number, reason: string): void => {
    failures.push({ index, file: images[index], reason });
    log(`error: ${describeImage(index, images.length, images[index])}: ${reason}`);
  };
  failed.forEach((reason, i) => reason !== undefined && fail(i, reason));
  const predictions: (Prediction<CroppedMask> | undefined)[] = images.map(() => undefined);
  if (failures.length === images.length) throw new PredictFailedError(failures, predictions);
  if (failures.length > 0) log(`${failures.length} of ${images.length} images cannot be read; predicting the other ${images.length - failures.length}`);

  if (overlayDir !== undefined) fs.mkdirSync(overlayDir, { recursive: true });
  const weights = o.weights;
  const model =
    weights !== undefined
      ? await withDownloadProgress((download) => load(weights, { backend: o.backend, download }))
      : await loadShippedModel({ backend: o.backend });
  try {
    if (o.weights === undefined) log(`no --weights: using the shipped shapes model (ResNet-18-FPN, 6 shape classes), ${shippedModelPath()}`);
    if (model.backend) log(describeBackend(model.backend));
    const categories = gt === undefined ? undefined : categoryIdsOf(model.classNames, gt);
    if (categories !== undefined) log(categories.note);
    const rows: string[][] = [];
    for (let i = 0; i < images.length; i++) {
      if (failed[i] !== undefined) continue;
      const file = images[i];
      const start = Date.now();
      let p: Prediction<CroppedMask>;
      let image: Awaited<ReturnType<typeof readImage>>;
      try {
        // Decoded here rather than by predict, whose errors would call every file 'input 0'.
        image = await readImage(file, { maxPixels: o.maxPixels });
        [p] = await model.predict({ ...image, channels: 3 }, {
          scoreThreshold: o.scoreThreshold,
          maskThreshold: o.maskThreshold,
          maxDetections: o.maxDetections,
          maxPixels: o.maxPixels,
        });
      } catch (e) {
        fail(i, (e as Error).message);
        continue;
      }
      const expected = gt?.images.get(imageIds[i]!);
      if (expected !== undefined && (expected.width !== p.width || expected.height !== p.height)) {
        fail(i, `is ${p.width}x${p.height} but image id ${expected.id} of ${gt!.source} is ${expected.width}x${expected.height}; is it the same image?`);
        continue;
      }
      predictions[i] = p;
      log(`${file}: ${p.width}x${p.height}, ${p.detections.length} detections in ${((Date.now() - start) / 1000).toFixed(2)} s`);
      if (pictures[i] !== undefined) {
        try {
          await writeOverlayPng(image, p, pictures[i], { maxPixels: o.maxPixels });
          log(`  picture: ${pictures[i]}`);
        } catch (e) {
          fail(i, `picture ${pictures[i]} not written: ${(e as Error).message}`);
        }
      }
      for (const d of p.detections) {
        const pixels = d.mask.data.reduce((a, v) => a + v, 0);
        rows.push([path.basename(file), d.labelName, d.score.toFixed(3), d.box.map((v) => v.toFixed(1)).join(', '), String(pixels)]);
      }
    }
    for (const line of formatTable(['image', 'label', 'score', 'box (x1, y1, x2, y2)', 'mask px'], rows)) log(line);
    if (o.out !== undefined) {
      const json =
        format === 'coco'
          ? cocoJson(predictions, imageIds, categories?.labelToCategoryId)
          : detailedJson(images, predictions, failures, gt === undefined ? undefined : imageIds);
      await writeFileAtomic(o.out, JSON.stringify(json));
      log(`wrote ${o.out} (${describeOutput(format, json.length, gt)})`);
    }
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index);
      throw new PredictFailedError(failures, predictions);
    }
    return predictions as Prediction<CroppedMask>[];
  } finally {
    model.dispose();
  }
}

/** `fn` over `items` with at most `limit` calls in flight (thousands of open files would hit EMFILE). */
async function mapWithLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function readGroundTruth(file: string): CocoGroundTruth {
  checkInputPath('predict', '--gt', file, 'file', 'a COCO instances JSON (images with file_name, categories)');
  try {
    return CocoGroundTruth.fromFile(file);
  } catch (e) {
    throw new Error(`Error in predict: --gt ${file}: ${(e as Error).message}`);
  }
}

/** COCO results of the predicted images; detections of classes that are no category are left out. */
function cocoJson(
  predictions: readonly (Prediction<CroppedMask> | undefined)[],
  imageIds: readonly (number | undefined)[],
  labelToCategoryId: readonly (number | undefined)[] | undefined,
): CocoResult[] {
  const done = predictions.flatMap((p, i) => (p === undefined ? [] : [{ p, id: imageIds[i]! }]));
  return toCocoResults(done.map((d) => d.p), done.map((d) => d.id), { labelToCategoryId, unmapped: 'skip' });
}

/** Record of an image file (or of its failure) in the `detailed` format. */
interface DetailedRecord {
  file: string;
  imageId?: number;
  height?: number;
  width?: number;
  detections?: { box: number[]; score: number; label: number; labelName: string; segmentation: { size: [number, number]; counts: string } }[];
  error?: string;
}

function detailedJson(
  images: readonly string[],
  predictions: readonly (Prediction<CroppedMask> | undefined)[],
  failures: readonly PredictFailure[],
  imageIds: readonly (number | undefined)[] | undefined,
): DetailedRecord[] {
  return images.map((file, i): DetailedRecord => {
    const p = predictions[i];
    const id = imageIds?.[i] === undefined ? {} : { imageId: imageIds[i] };
    if (p === undefined) return { file, ...id, error: failures.find((f) => f.index === i)?.reason ?? 'not predicted' };
    return {
      file,
      ...id,
      height: p.height,
      width: p.width,
      detections: p.detections.map((d) => ({ box: d.box, score: d.score, label: d.label, labelName: d.labelName, segmentation: maskToCocoRle(d.mask) })),
    };
  });
}

function describeOutput(format: PredictFormat, n: number, gt: CocoGroundTruth | undefined): string {
  if (format === 'detailed') return `${n} image records`;
  const ids = gt === undefined ? 'image ids 1..N in argument order, category ids = labels' : `image and category ids of ${gt.source}`;
  return `${n} COCO results; ${ids}`;
}

/** `<dir>/<image name>.overlay.png` per image; images of the same name get `-2`, `-3`, ... */
function overlayNames(images: readonly string[], dir: string): string[] {
  const seen = new Map<string, number>();
  return images.map((file) => {
    const stem = path.parse(file).name;
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return path.join(dir, `${stem}${n === 1 ? '' : `-${n}`}.overlay.png`);
  });
}

/** Columns padded to their widest cell, a rule under the header. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/**
 * Adds `predict` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerPredictCommand(program);
 * await program.parseAsync(['node', 'maskrcnn', 'predict', 'a.jpg', '--out', 'preds.json']);
 * ```
 */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('detect and segment objects in image files')
    .option('--weights <name|path>', 'checkpoint name (maskrcnn_resnet50_fpn_coco: downloaded once), torchvision .pth, or a folder saved by maskrcnn-tfjs (default: the shipped shapes model)')
    .argument('<images...>', 'image files (PNG, JPEG, WebP, GIF, TIFF, AVIF); one that cannot be read is reported and the others go on')
    .option('--out <file>', 'write the predictions as JSON (see --format)')
    .addOption(
      new Option(
        '--format <format>',
        'coco: COCO results [{image_id, category_id, bbox, score, segmentation}], read by maskrcnn eval --dt and pycocotools; ' +
          'detailed: one record per file (file, size, x1 y1 x2 y2 boxes, label names, RLE masks)',
      )
        .choices([...PREDICT_FORMATS])
        .default('coco'),
    )
    .option(
      '--gt <file>',
      'COCO instances json the images belong to: image ids from its file_name, category ids by category name ' +
        '(or the labels when no class name matches). Without it: image ids 1..N in argument order, category id = label',
    )
    .option('--overlays <dir>', 'folder of the pictures, <image>.overlay.png (default: the folder of --out)')
    .option('--no-overlays', 'write no pictures')
    .option('--force', 'replace --out and pictures that exist')
    .option('--score-threshold <p>', 'minimum score (default 0.05)', numberIn(0, 1))
    .option('--mask-threshold <p>', 'mask probability threshold (default 0.5)', numberIn(0, 1))
    .option('--max-detections <n>', 'detections per image (default 100)', numberIn(0, 10000, true))
    .option('--max-pixels <n>', 'largest image accepted, width x height (default 50000000; raise only for trusted images)', numberIn(1, Number.MAX_SAFE_INTEGER, true))
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu (default: MASKRCNN_BACKEND or auto)')
    .addHelpText(
      'after',
      '\nExit status 1 when any image fails; the others are still predicted, drawn and written.\n' +
        'Evaluate the results: maskrcnn predict --gt val.json --out preds.json val/images/*.jpg && maskrcnn eval --gt val.json --dt preds.json\n',
    )
    .action(async (images: string[], opts: Omit<PredictCommandOptions, 'images'>) => {
      await runPredict({ ...opts, images });
    });
}
