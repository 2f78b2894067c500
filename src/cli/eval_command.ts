/**
 * `maskrcnn eval`: COCO evaluation of a results file against an instances file, printing
 * pycocotools' table.
 */
import { Command, Option } from 'commander';
import { CocoDetections, CocoEvaluator, CocoGroundTruth, CocoSummary, IouType } from '../eval';

/** Values of `--iou`. */
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
  const gt = CocoGroundTruth.fromFile(options.gt);
  const dt = CocoDetections.fromFile(options.dt, gt);
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
    .description('COCO evaluation of a results file (equal to pycocotools COCOeval)')
    .requiredOption('--gt <file>', 'COCO instances json (ground truth)')
    .requiredOption('--dt <file>', 'COCO results json')
    .addOption(
      new Option('--iou <type>', 'IoU type (default: both when results have masks, else bbox)').choices([...EVAL_IOU_CHOICES]),
    )
    .option('--per-category', 'also print AP per category')
    .action((opts: EvalOptions) => {
      runEval(opts);
    });
}
