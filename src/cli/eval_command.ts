/**
 * `maskrcnn eval`: COCO evaluation of a results file against an instances file, printing
 * pycocotools' table.
 */
import * as fs from 'fs';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { load } from '../api/model';
import { evaluateModel, ModelEvaluation } from '../api/evaluate_model';
import { describeBackend } from '../backend';
import { CocoDetections, CocoEvaluator, CocoGroundTruth, CocoSummary, IouType } from '../eval';
import { checkInputPath, checkWeightsPath, numberIn } from './model_options';
import { withDownloadProgress } from './download_progress';
import { writeFileAtomic } from '../io/atomic_file';

const GT_EXPECTED = 'a COCO instances JSON (images, annotations, categories)';
const DT_EXPECTED = 'a COCO results JSON ([{ image_id, category_id, bbox, score, segmentation }]) as maskrcnn predict --out and eval --out write';

/**
 * Values of `--iou`.
 *
 * @example
 * ```ts
 * EVAL_IOU_CHOICES.includes('segm'); // true
 * ```
 */
export const EVAL_IOU_CHOICES = ['bbox', 'segm', 'both'] as const;

/**
 * Options of {@link runEval}.
 *
 * @example
 * ```ts
 * const opts: EvalOptions = { gt: 'instances_val2017.json', dt: 'results.json', iou: 'both' };
 * ```
 */
export interface EvalOptions {
  /** COCO instances json (ground truth). */
  gt: string;
  /** COCO results json. */
  dt: string;
  /** What to evaluate; default: 'both' when the results carry masks, else 'bbox'. */
  iou?: (typeof EVAL_IOU_CHOICES)[number];
  /** Also print AP per category. */
  perCategory?: boolean;
}

/**
 * Runs the evaluation and writes the tables through `log`; returns the summaries.
 *
 * @example
 * ```ts
 * const [bbox] = runEval({ gt: 'gt.json', dt: 'dt.json', iou: 'bbox' });
 * bbox.stats[0]; // AP
 * ```
 */
export function runEval(options: EvalOptions, log: (line: string) => void = console.log): CocoSummary[] {
  if (options.iou !== undefined && !EVAL_IOU_CHOICES.includes(options.iou)) {
    throw new Error(`Error in eval: --iou must be one of ${EVAL_IOU_CHOICES.join(', ')}; got ${JSON.stringify(options.iou)}`);
  }
  checkInputPath('eval', '--gt', options.gt, 'file', GT_EXPECTED);
  checkInputPath('eval', '--dt', options.dt, 'file', DT_EXPECTED);
  const gt = CocoGroundTruth.fromFile(options.gt);
  const dt = CocoDetections.fromResults(readResults(options.dt, gt), gt, options.dt);
  const hasMasks = dt.size > 0 && (() => {
    for (let i = 0; i < dt.size; i++) if (dt.hasSegmentation(i)) return true;
    return false;
  })();
  const iou = options.iou ?? (hasMasks ? 'both' : 'bbox');
  const types: IouType[] = iou === 'both' ? ['bbox', 'segm'] : [iou];
  if (types.includes('segm') && !hasMasks && dt.size > 0) {
    throw new Error(`Error in eval: ${options.dt} has no 'segmentation' in any result; use --iou bbox`);
  }
  log(`ground truth: ${options.gt} (${gt.imageIds.length} images, ${gt.categoryIds.length} categories)`);
  log(`results: ${options.dt} (${dt.size} detections)`);
  const covered = new Set(dt.imageIds).size;
  if (covered < gt.imageIds.length) {
    // pycocotools scores every image of the ground truth: one without results counts as all misses.
    log(`note: the results cover ${covered} of the ${gt.imageIds.length} images of --gt; the other ${gt.imageIds.length - covered} count as images where nothing was found`);
  }
  return types.map((iouType) => {
    const ev = new CocoEvaluator(gt, dt, iouType).evaluate().accumulate();
    const summary = ev.summarize();
    log(`IoU metric: ${iouType}`);
    for (const line of summary.lines) log(line);
    if (options.perCategory) {
      for (const c of ev.perCategoryAp()) log(`  ${String(c.categoryId).padStart(4)} ${c.name.padEnd(20)} AP ${c.ap < 0 ? '  -' : c.ap.toFixed(3)}`);
    }
    return summary;
  });
}

/**
 * Parses a results file, recognising the two mistakes predict used to make easy: its per-file
 * `detailed` format, and COCO results numbered 1..N (predict without --gt) that are not this
 * ground truth's image ids.
 */
function readResults(file: string, gt: CocoGroundTruth): unknown {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`Error in eval: --dt ${file} is not valid JSON (${(e as Error).message}); expected ${DT_EXPECTED}`);
  }
  const rerun = `maskrcnn predict --gt ${gt.source} --out ${file} <images>`;
  const first: unknown = Array.isArray(json) ? json[0] : undefined;
  if (first !== null && typeof first === 'object' && 'file' in first && ('detections' in first || 'error' in first)) {
    throw new Error(`Error in eval: --dt ${file} is maskrcnn predict's detailed format (one record per image file), not COCO results; write those with ${rerun}`);
  }
  if (Array.isArray(json)) {
    const i = json.findIndex((r: unknown) => r !== null && typeof r === 'object' && typeof (r as CocoResultLike).image_id === 'number' && !gt.images.has((r as CocoResultLike).image_id));
    if (i >= 0) {
      throw new Error(
        `Error in eval: --dt ${file}: results[${i}] has image_id ${(json[i] as CocoResultLike).image_id}, which is not an image of --gt ${gt.source}; ` +
          `the results are of other images, or numbered 1..N by maskrcnn predict without --gt (then: ${rerun})`,
      );
    }
  }
  return json;
}

interface CocoResultLike {
  image_id: number;
}

/**
 * Options of {@link runModelEval}.
 *
 * @example
 * ```ts
 * const o: ModelEvalOptions = { gt: 'val/instances.json', images: 'val/images', weights: 'runs/a/model', out: 'results.json' };
 * ```
 */
export interface ModelEvalOptions {
  /** COCO instances json whose images are evaluated. */
  gt: string;
  /** Folder holding the images named by the json's file_name. */
  images: string;
  /** torchvision checkpoint (.pth) or a folder saved by maskrcnn-tfjs. */
  weights: string;
  iou?: (typeof EVAL_IOU_CHOICES)[number];
  maxImages?: number;
  /** Write the COCO results here (never overwritten unless `force`). */
  out?: string;
  force?: boolean;
  backend?: string;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
}

/**
 * Runs a model on a dataset folder and prints pycocotools' tables.
 *
 * @example
 * ```ts
 * await runModelEval({ gt: 'val/instances.json', images: 'val/images', weights: 'model.pth' });
 * ```
 */
export async function runModelEval(o: ModelEvalOptions, log: (line: string) => void = console.log): Promise<ModelEvaluation> {
  if (o.out !== undefined && fs.existsSync(o.out) && !o.force) throw new Error(`Error in eval: ${o.out} exists; pass --force to replace it`);
  checkInputPath('eval', '--gt', o.gt, 'file', GT_EXPECTED);
  checkInputPath('eval', '--images', o.images, 'folder', 'the folder of the images named by the file_name of --gt');
  checkWeightsPath('eval', '--weights', o.weights);
  const model = await withDownloadProgress((download) => load(o.weights, { backend: o.backend, download }));
  const bar = new SingleBar({ format: 'eval [{bar}] {value}/{total} images | {duration}s | ETA {eta}s', stream: process.stderr });
  const showBar = o.progress ?? process.stderr.isTTY === true;
  try {
    if (model.backend) log(describeBackend(model.backend));
    const iou = o.iou ?? 'both';
    const result = await evaluateModel(model, o.gt, o.images, {
      iouTypes: iou === 'both' ? ['bbox', 'segm'] : [iou],
      maxImages: o.maxImages,
      onProgress: (done, total) => {
        if (!showBar) return;
        if (done <= 1) bar.start(total, 0);
        bar.update(done);
      },
    });
    if (showBar) bar.stop();
    log(result.categoryNote);
    log(`${result.imagesEvaluated} images, ${result.results.length} detections, ${result.seconds.toFixed(1)} s`);
    for (const s of result.summaries) {
      log(`IoU metric: ${s.iouType}`);
      for (const line of s.lines) log(line);
    }
    if (o.out !== undefined) {
      await writeFileAtomic(o.out, JSON.stringify(result.results));
      log(`wrote ${o.out}`);
    }
    return result;
  } finally {
    model.dispose();
  }
}

/**
 * Adds `eval` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerEvalCommand(program);
 * program.parse(['node', 'maskrcnn', 'eval', '--gt', 'gt.json', '--dt', 'dt.json']);
 * ```
 */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('COCO evaluation (equal to pycocotools COCOeval) of a results file, or of a model on a dataset folder')
    .requiredOption('--gt <file>', 'COCO instances json (ground truth)')
    .option('--dt <file>', 'COCO results json to evaluate')
    .option('--weights <name|path>', 'evaluate this model instead (a checkpoint name, .pth or a saved folder); needs --images')
    .option('--images <dir>', 'folder of the images named in --gt (with --weights)')
    .option('--max-images <n>', 'with --weights: only the first n images', numberIn(1, 1e9, true))
    .option('--out <file>', 'with --weights: write the COCO results json')
    .option('--force', 'replace --out if it exists')
    .option('--backend <name>', 'with --weights: auto, tensorflow-gpu, tensorflow, wasm or cpu')
    .addOption(
      new Option('--iou <type>', 'IoU type (default: both when results have masks, else bbox)').choices([...EVAL_IOU_CHOICES]),
    )
    .option('--per-category', 'also print AP per category')
    .action(async (opts: Partial<EvalOptions & ModelEvalOptions>) => {
      if ((opts.dt === undefined) === (opts.weights === undefined)) {
        throw new Error('Error in eval: give either --dt (a results file) or --weights with --images (a model)');
      }
      if (opts.dt !== undefined) {
        runEval(opts as EvalOptions);
        return;
      }
      if (opts.images === undefined) throw new Error('Error in eval: --weights needs --images <dir>');
      await runModelEval(opts as ModelEvalOptions);
    });
}
