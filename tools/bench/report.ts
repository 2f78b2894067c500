/**
 * What `npm run bench` measured, reduced to medians and ratios, as JSON and as a Markdown table.
 * Pure functions of the recorded numbers: no clock, no processes, so a test can check them on
 * canned values.
 */

/** The per-stage split of one inference, the same five stages on both sides. */
export const BENCH_STAGES = ['preprocess', 'backbone_fpn', 'rpn', 'box_head', 'mask_head_paste'] as const;
/** One of {@link BENCH_STAGES}. */
export type BenchStage = (typeof BENCH_STAGES)[number];

/**
 * What each stage covers, on our side (StageClock names) and on torchvision's (its modules, in
 * `GeneralizedRCNN.forward` order).
 */
export const STAGE_LABELS: Record<BenchStage, string> = {
  preprocess: 'preprocess (normalise, resize, pad)',
  backbone_fpn: 'backbone + FPN',
  rpn: 'RPN (head, decode, NMS)',
  box_head: 'RoI box head (RoIAlign, fc, NMS)',
  mask_head_paste: 'mask head + paste',
};

/** Median and spread of repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/**
 * The median: the middle value, or the mean of the two middle values of an even count.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('Error in median: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Median, min, max and count of `values`.
 *
 * @example
 * ```ts
 * summarize([12, 10, 11]); // { median: 11, min: 10, max: 12, n: 3 }
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  if (!values.every(Number.isFinite)) throw new Error(`Error in summarize: non-finite value in [${values.join(', ')}]`);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/**
 * ours / theirs, or undefined when either is missing or theirs is not positive.
 *
 * @example
 * ```ts
 * ratio(15.5, 9.6); // 1.6145...
 * ```
 */
export function ratio(ours: number | undefined, theirs: number | undefined): number | undefined {
  if (ours === undefined || theirs === undefined || !(theirs > 0)) return undefined;
  return ours / theirs;
}

/** One side's inference runs: total and per-stage milliseconds of each run, detections found. */
export interface InferenceRuns {
  readonly totalMs: readonly number[];
  readonly stagesMs: Readonly<Record<BenchStage, readonly number[]>>;
  /** Detections of the image in each run (the same every run unless something is wrong). */
  readonly detections: readonly number[];
}

/** One side's raw measurements; a part left out of the run is absent. */
export interface SideRuns {
  /** Inference latency at one thread. */
  readonly inference?: InferenceRuns;
  /** Images per second of each throughput round using both cores. */
  readonly throughput?: readonly number[];
  /** Milliseconds of each training step at one thread. */
  readonly trainStepMs?: readonly number[];
  /** The five losses of the last timed training step, to see that both sides trained on something. */
  readonly trainLosses?: Readonly<Record<string, number>>;
  /** Peak resident memory of the processes of each part, MiB (throughput: summed over workers). */
  readonly peakMiB: { readonly inference?: number; readonly throughput?: number; readonly training?: number };
}

/** Everything one run of the bench recorded, as written to latest.json (minus `rows`). */
export interface BenchRecord {
  readonly date: string;
  readonly command: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    /** 1-minute load average before the bench started (other jobs) and when it ended (ours too). */
    readonly loadBefore: number;
    readonly loadAfter: number;
  };
  readonly versions: Readonly<Record<string, string>>;
  readonly settings: {
    /** Size of the inference image as given, [height, width]. */
    readonly imageSize: readonly [number, number];
    /** Size after the model's resize, [height, width]. */
    readonly resizedSize: readonly [number, number];
    readonly minSize: number;
    readonly trainSize: number;
    /** Learning rate of the timed SGD steps. */
    readonly trainLr: number;
    readonly warmup: number;
    readonly runs: number;
    readonly throughputImages: number;
    readonly weights: string;
  };
  readonly ours: SideRuns;
  readonly theirs: SideRuns;
  /** Parts not measured, each with the reason. */
  readonly leftOut: readonly string[];
}

/** One line of the table. */
export interface BenchRow {
  readonly label: string;
  readonly unit: 'ms' | 'img/s' | 'MiB';
  /** Indented under the row before (a stage of an inference). */
  readonly sub: boolean;
  readonly ours?: Summary;
  readonly theirs?: Summary;
  /** ours / theirs of the medians. */
  readonly ratio?: number;
}

function row(label: string, unit: BenchRow['unit'], ours: readonly number[] | undefined, theirs: readonly number[] | undefined, sub = false): BenchRow {
  const o = ours !== undefined && ours.length > 0 ? summarize(ours) : undefined;
  const t = theirs !== undefined && theirs.length > 0 ? summarize(theirs) : undefined;
  return { label, unit, sub, ours: o, theirs: t, ratio: ratio(o?.median, t?.median) };
}

const one = (x: number | undefined): number[] | undefined => (x === undefined ? undefined : [x]);

/**
 * The table's rows, in the order printed: inference and its stages, throughput, training step,
 * peak memory. Rows with neither side measured are left out.
 *
 * @example
 * ```ts
 * const rows = benchRows(record);
 * rows[0]; // { label: 'inference, 1 thread', unit: 'ms', ours: {...}, theirs: {...}, ratio: 1.6 }
 * ```
 */
export function benchRows(r: BenchRecord): BenchRow[] {
  const rows: BenchRow[] = [];
  const { ours, theirs } = r;
  const [h, w] = r.settings.resizedSize;
  rows.push(row(`inference, 1 thread (${h}x${w})`, 'ms', ours.inference?.totalMs, theirs.inference?.totalMs));
  for (const s of BENCH_STAGES) rows.push(row(STAGE_LABELS[s], 'ms', ours.inference?.stagesMs[s], theirs.inference?.stagesMs[s], true));
  rows.push(row(`throughput, 2 cores (${r.settings.throughputImages} images a round)`, 'img/s', ours.throughput, theirs.throughput));
  rows.push(row(`training step, batch 2 at ${r.settings.trainSize} px, 1 thread`, 'ms', ours.trainStepMs, theirs.trainStepMs));
  rows.push(row('peak memory, inference process', 'MiB', one(ours.peakMiB.inference), one(theirs.peakMiB.inference)));
  rows.push(row('peak memory, throughput processes', 'MiB', one(ours.peakMiB.throughput), one(theirs.peakMiB.throughput)));
  rows.push(row('peak memory, training process', 'MiB', one(ours.peakMiB.training), one(theirs.peakMiB.training)));
  return rows.filter((x) => x.ours !== undefined || x.theirs !== undefined);
}

/**
 * A number for the table: milliseconds and MiB whole, images/s to three significant digits,
 * thousands not separated (the table is read by scripts too).
 *
 * @example
 * ```ts
 * formatValue(15512.4, 'ms'); // '15512'
 * formatValue(0.08512, 'img/s'); // '0.0851'
 * ```
 */
export function formatValue(v: number, unit: BenchRow['unit']): string {
  if (unit === 'img/s') return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
  return v < 10 ? v.toFixed(1) : v.toFixed(0);
}

function cell(s: Summary | undefined, unit: BenchRow['unit']): string {
  if (s === undefined) return '-';
  if (s.n === 1) return formatValue(s.median, unit);
  return `${formatValue(s.median, unit)} (${formatValue(s.min, unit)}-${formatValue(s.max, unit)})`;
}

/**
 * The rows as a Markdown table: median (min-max) of each side and the ratio of the medians.
 *
 * @example
 * ```ts
 * console.log(markdownTable(benchRows(record)));
 * ```
 */
export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = ['| measure | unit | ours (tfjs wasm) | torchvision | ours / torchvision |', '|---|---|---:|---:|---:|'];
  for (const r of rows) {
    const label = r.sub ? `&nbsp;&nbsp;${r.label}` : r.label;
    lines.push(`| ${label} | ${r.unit} | ${cell(r.ours, r.unit)} | ${cell(r.theirs, r.unit)} | ${r.ratio === undefined ? '-' : r.ratio.toFixed(2)} |`);
  }
  return lines.join('\n');
}

/** The distinct detection counts of the runs: `100`, or `99/100` when they differ. */
function detectionCounts(runs: InferenceRuns | undefined): string {
  return runs === undefined ? '-' : [...new Set(runs.detections)].join('/');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The whole report: where and how it was measured, the table, and what to read it with.
 *
 * @example
 * ```ts
 * fs.writeFileSync('bench/results/latest.md', markdownReport(record));
 * ```
 */
export function markdownReport(r: BenchRecord): string {
  const s = r.settings;
  const v = Object.entries(r.versions)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');
  const lines = [
    `# Mask R-CNN: maskrcnn-tfjs vs torchvision (${r.date})`,
    '',
    `\`${r.command}\` on ${r.machine.cpu}, ${r.machine.cores} cores; load average ${r.machine.loadBefore.toFixed(2)} before the run (other jobs), ${r.machine.loadAfter.toFixed(2)} after it.`,
    `${v}.`,
    `Inference: a ${s.imageSize[0]}x${s.imageSize[1]} photo resized to ${s.resizedSize[0]}x${s.resizedSize[1]} (min size ${s.minSize}), ` +
      `detections per image ours ${detectionCounts(r.ours.inference)}, torchvision ${detectionCounts(r.theirs.inference)}. ` +
      `Training: two photos with 3 objects each, short side ${s.trainSize} px, SGD at lr ${s.trainLr}${s.trainLr === 0 ? ' (all of its arithmetic, the weights kept)' : ''}. Weights: ${s.weights} (seeded random).`,
    `${plural(s.warmup, 'warm-up run')} and ${plural(s.runs, 'timed run')} per measure, ours and torchvision interleaved; cells are median (min-max).`,
    '',
    markdownTable(benchRows(r)),
    '',
    'Times and memory: lower is better, so a ratio below 1 means we are faster or smaller. Throughput: higher is better, a ratio above 1 means we are faster.',
  ];
  if (r.leftOut.length > 0) lines.push('', 'Not measured:', ...r.leftOut.map((x) => `- ${x}`));
  return `${lines.join('\n')}\n`;
}
