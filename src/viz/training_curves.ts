/**
 * Training curves: a run's history (`history.jsonl`, see `TrainingHistory`) drawn as RGBA, three
 * panels over one step axis, top to bottom:
 *
 * - the five losses and their total, log scale (a loss of 0, as an image without objects gives,
 *   sits on the bottom edge; the axis spans at most 8 decades below the largest loss);
 * - the learning rate, linear from 0 (warmup ramp and decay steps);
 * - box and mask AP @[.5:.95] at each evaluation, linear from 0, a marker on each.
 *
 * Each panel has a title, grid lines, tick labels and a legend to its right. The step axis runs
 * from 0 to the last step in the history. Lines are Bresenham lines in whole pixels and the text
 * is the bitmap font, so a history always gives the same picture, in Node and in browsers.
 *
 * Pure TypeScript with no Node imports: it runs in browsers. The records it reads are declared
 * here ({@link CurveRecord}); the trainer's history records extend them, so viz does not depend
 * on the trainer.
 */
import type { LossName } from '../losses/names';
import { drawLine, drawText, fillRect, measureText, RgbaImage, strokeRect } from './draw';
import { DEFAULT_PALETTE, RgbColor } from './palette';
import { linearAxis, linearTicks, niceStep } from './ticks';

/**
 * What the curves read of one logged training step: the five losses, their total and the
 * learning rate (`train/history`'s `StepRecord` adds the epoch and the gradient norm).
 *
 * @example
 * ```ts
 * const r: CurveStepRecord = { type: 'step', step: 20, loss_objectness: 0.41, loss_rpn_box_reg: 0.02,
 *   loss_classifier: 1.2, loss_box_reg: 0.9, loss_mask: 0.7, total: 3.23, lr: 4e-4 };
 * ```
 */
export interface CurveStepRecord extends Readonly<Record<LossName, number>> {
  readonly type: 'step';
  /** Steps done, this one included (1-based). */
  readonly step: number;
  /** Sum of the five losses. */
  readonly total: number;
  /** Learning rate of this step. */
  readonly lr: number;
}

/**
 * One evaluation on the held-out set: box and mask AP @[.5:.95] after `step` steps (-1 or NaN
 * when there was nothing to score).
 *
 * @example
 * ```ts
 * const r: CurveEvalRecord = { type: 'eval', step: 500, boxAp: 0.083, maskAp: 0.081 };
 * ```
 */
export interface CurveEvalRecord {
  readonly type: 'eval';
  readonly step: number;
  readonly boxAp: number;
  readonly maskAp: number;
}

/**
 * A record the curves are drawn from: a line of a run's `history.jsonl` as the trainer writes it.
 *
 * @example
 * ```ts
 * const history: CurveRecord[] = [{ type: 'eval', step: 500, boxAp: 0.08, maskAp: 0.08 }];
 * ```
 */
export type CurveRecord = CurveStepRecord | CurveEvalRecord;

/**
 * A line of the training curves: one of the five losses, their total, the learning rate, or an AP.
 *
 * @example
 * ```ts
 * const name: CurveName = 'loss_mask';
 * TRAINING_CURVE_COLORS[name]; // [145, 30, 180]
 * ```
 */
export type CurveName = LossName | 'total' | 'lr' | 'boxAp' | 'maskAp';

/**
 * The colour of each curve (fixed, so pictures of two runs compare at a glance): the losses take
 * the palette's red, orange, green, blue and purple, their total is black and drawn thicker on
 * top, the lr is teal, box AP blue and mask AP orange.
 *
 * @example
 * ```ts
 * TRAINING_CURVE_COLORS.total; // [0, 0, 0]
 * ```
 */
export const TRAINING_CURVE_COLORS: Readonly<Record<CurveName, RgbColor>> = Object.freeze({
  loss_objectness: DEFAULT_PALETTE[0],
  loss_rpn_box_reg: DEFAULT_PALETTE[3],
  loss_classifier: DEFAULT_PALETTE[1],
  loss_box_reg: DEFAULT_PALETTE[2],
  loss_mask: DEFAULT_PALETTE[4],
  total: [0, 0, 0],
  lr: DEFAULT_PALETTE[8],
  boxAp: DEFAULT_PALETTE[2],
  maskAp: DEFAULT_PALETTE[3],
});

/**
 * The colours of everything that is not a curve: the picture's background (also the plot
 * areas'), grid lines, axis frames and tick marks, and text.
 *
 * @example
 * ```ts
 * TRAINING_CURVES_THEME.background; // [255, 255, 255]
 * ```
 */
export const TRAINING_CURVES_THEME: Readonly<Record<'background' | 'grid' | 'axis' | 'text', RgbColor>> = Object.freeze({
  background: [255, 255, 255],
  grid: [228, 228, 228],
  axis: [110, 110, 110],
  text: [40, 40, 40],
});

// Kept here rather than imported from '../losses/names', which loads tfjs: the picture needs none.
const LOSS_CURVES = ['loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg', 'loss_mask'] as const satisfies readonly LossName[];

const LEGEND_LABELS: Readonly<Record<CurveName, string>> = {
  loss_objectness: 'loss_objectness',
  loss_rpn_box_reg: 'loss_rpn_box_reg',
  loss_classifier: 'loss_classifier',
  loss_box_reg: 'loss_box_reg',
  loss_mask: 'loss_mask',
  total: 'total',
  lr: 'lr',
  boxAp: 'box AP',
  maskAp: 'mask AP',
};

/**
 * Options of {@link renderTrainingCurves}.
 *
 * @example
 * ```ts
 * const options: TrainingCurvesOptions = { width: 1280, height: 960 };
 * ```
 */
export interface TrainingCurvesOptions {
  /** Picture width in pixels, an integer in [480, 8192]; default 960. */
  width?: number;
  /** Picture height in pixels, an integer in [360, 8192]; default 720. */
  height?: number;
}

/**
 * A panel's plot area (pixels `left..right` by `top..bottom`, both included, inside its frame) and
 * the pixel row of a value on its y axis.
 *
 * @internal
 * @example
 * ```ts
 * const { loss } = trainingCurvesLayout(records, 960, 720).panels;
 * const row = loss.yOf(0.1);
 * ```
 */
export interface CurvesPanelLayout {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  /** Pixel row of a value, clamped to the plot area (log panels: a value <= 0 goes to the bottom). */
  readonly yOf: (value: number) => number;
  /** The y ticks: value and label. */
  readonly yTicks: readonly { readonly value: number; readonly label: string }[];
}

/**
 * Where {@link renderTrainingCurves} puts things: the text scale, the three panels and the pixel
 * column of a step (shared by the panels).
 *
 * @internal
 * @example
 * ```ts
 * const layout = trainingCurvesLayout(records, 960, 720);
 * const column = layout.xOf(500);
 * ```
 */
export interface CurvesLayout {
  readonly scale: number;
  readonly panels: Readonly<Record<'loss' | 'lr' | 'ap', CurvesPanelLayout>>;
  readonly xOf: (step: number) => number;
  readonly xTicks: readonly { readonly value: number; readonly label: string }[];
  /** Largest step shown (the right edge of every panel). */
  readonly lastStep: number;
}

function decadeLabel(k: number): string {
  return k >= -3 && k <= 4 ? String(Number((10 ** k).toPrecision(1))) : `1e${k}`;
}

const finite = (v: number): boolean => typeof v === 'number' && Number.isFinite(v);

// Loops, not Math.max(...values): a long run logged every step has more values than a call takes arguments.
function maxOf(values: readonly number[], empty: number): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return values.length > 0 ? m : empty;
}

function minOf(values: readonly number[], empty: number): number {
  let m = Infinity;
  for (const v of values) if (v < m) m = v;
  return values.length > 0 ? m : empty;
}

/**
 * The layout of the picture of `history` at `width x height`; {@link renderTrainingCurves} draws
 * into it.
 *
 * @internal
 * @example
 * ```ts
 * const { panels, xOf } = trainingCurvesLayout(records, 960, 720);
 * ```
 */
export function trainingCurvesLayout(history: readonly CurveRecord[], width: number, height: number): CurvesLayout {
  const s = Math.max(1, Math.floor(Math.min(width, height) / 720));
  const th = measureText('0', s).height;
  const pad = 6 * s;
  const tick = 3 * s;
  const steps = history.filter((r): r is CurveStepRecord => r.type === 'step');
  const evals = history.filter((r): r is CurveEvalRecord => r.type === 'eval');

  // Vertical: per panel a title row above the plot and a tick-label row below it; "step" at the foot.
  const titleH = th + 4 * s;
  const belowH = tick + 2 * s + th + 4 * s;
  const avail = height - pad - (th + pad) - 3 * (titleH + belowH + 2);
  const heights = [Math.round(avail * 0.5), Math.round(avail * 0.2)];
  heights.push(avail - heights[0] - heights[1]);
  const tops: number[] = [];
  let y = pad;
  for (const h of heights) {
    tops.push(y + titleH + 1);
    y += titleH + h + 2 + belowH;
  }
  const maxYTicks = (h: number): number => Math.max(2, Math.floor(h / (2.5 * th)));

  // Losses, log scale: whole decades from the smallest positive loss (at most 8 below the largest).
  const lossValues = steps.flatMap((r) => [...LOSS_CURVES.map((k) => r[k]), r.total]).filter((v) => finite(v) && v > 0);
  let hiDecade = Math.ceil(Math.log10(maxOf(lossValues, 10)) - 1e-9);
  let loDecade = Math.floor(Math.log10(minOf(lossValues, 0.01)) + 1e-9);
  loDecade = Math.max(loDecade, hiDecade - 8);
  if (hiDecade <= loDecade) hiDecade = loDecade + 1;
  const every = Math.ceil((hiDecade - loDecade) / maxYTicks(heights[0]));
  const lossTicks: { value: number; label: string }[] = [];
  for (let k = loDecade; k <= hiDecade; k += every) lossTicks.push({ value: 10 ** k, label: decadeLabel(k) });

  const lrs = steps.map((r) => r.lr).filter((v) => finite(v) && v > 0);
  // 5% headroom, so a flat top (the lr after warmup) is not drawn on the frame.
  const lrAxis = linearAxis(1.05 * maxOf(lrs, 1 / 1.05), maxYTicks(heights[1]));
  const aps = evals.flatMap((r) => [r.boxAp, r.maskAp]).filter((v) => finite(v) && v >= 0);
  const apAxis = linearAxis(Math.min(1, Math.max(0.1, 1.05 * maxOf(aps, 0))), maxYTicks(heights[2]));

  // Horizontal: y tick labels, tick, frame | plot | frame, legend.
  const yLabelW = Math.max(...[lossTicks, lrAxis.ticks, apAxis.ticks].flat().map((t) => measureText(t.label, s).width));
  const legendW = 16 * s + Math.max(...Object.values(LEGEND_LABELS).map((l) => measureText(l, s).width));
  const left = pad + yLabelW + 2 * s + tick + 1;
  const right = width - 1 - pad - legendW - pad - 1;

  const lastStep = Math.max(1, maxOf(history.map((r) => r.step).filter(finite), 1));
  const xOf = (step: number): number => left + Math.round((Math.min(Math.max(step, 0), lastStep) / lastStep) * (right - left));
  const xStep = Math.max(1, niceStep(lastStep / Math.max(2, Math.floor((right - left) / (measureText(String(lastStep), s).width + 24 * s)))));
  const xTicks = linearTicks(lastStep, xStep);

  const panel = (i: number, yTicks: { value: number; label: string }[], toUnit: (v: number) => number): CurvesPanelLayout => {
    const top = tops[i];
    const bottom = top + heights[i] - 1;
    const yOf = (v: number): number => bottom - Math.round(Math.min(1, Math.max(0, toUnit(v))) * (bottom - top));
    return { left, top, right, bottom, yOf, yTicks };
  };
  return {
    scale: s,
    lastStep,
    xOf,
    xTicks,
    panels: {
      loss: panel(0, lossTicks, (v) => (v > 0 ? (Math.log10(v) - loDecade) / (hiDecade - loDecade) : 0)),
      lr: panel(1, lrAxis.ticks, (v) => v / lrAxis.hi),
      ap: panel(2, apAxis.ticks, (v) => v / apAxis.hi),
    },
  };
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** Checks the options and fills the defaults. */
function resolveOptions(options: TrainingCurvesOptions): { width: number; height: number } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`Error in renderTrainingCurves: options must be an object, got ${describe(options)}`);
  }
  const problems: string[] = [];
  for (const k of Object.keys(options)) if (k !== 'width' && k !== 'height') problems.push(`${k}: unknown option (valid options: width, height)`);
  const size = (k: 'width' | 'height', min: number, fallback: number): number => {
    const v = options[k];
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || v < min || v > 8192) problems.push(`${k}: must be an integer in [${min}, 8192], got ${describe(v)}`);
    return v;
  };
  const resolved = { width: size('width', 480, 960), height: size('height', 360, 720) };
  if (problems.length > 0) throw new Error(`Error in renderTrainingCurves: invalid options:\n  ${problems.join('\n  ')}`);
  return resolved;
}

/**
 * Draws a training history (the records of `history.jsonl`) as training curves: losses (log
 * scale), learning rate and box / mask AP against the step, with axes, tick labels and legends
 * (see the file header). An empty history, or one without evaluations, gives the empty panels
 * with a note.
 *
 * @throws Error listing every invalid option, or when `history` is not an array.
 * @example
 * ```ts
 * const picture = renderTrainingCurves(await readHistory('runs/shapes'));
 * ctx.putImageData(new ImageData(picture.data, picture.width, picture.height), 0, 0); // in a browser
 * ```
 */
export function renderTrainingCurves(history: readonly CurveRecord[], options: TrainingCurvesOptions = {}): RgbaImage {
  const { width, height } = resolveOptions(options);
  if (!Array.isArray(history)) throw new Error(`Error in renderTrainingCurves: history must be an array of records, got ${describe(history)}`);
  const image: RgbaImage = { data: new Uint8ClampedArray(4 * width * height), width, height };
  const theme = TRAINING_CURVES_THEME;
  fillRect(image, 0, 0, width, height, theme.background);

  const layout = trainingCurvesLayout(history, width, height);
  const { scale: s, xOf, panels } = layout;
  const th = measureText('0', s).height;
  const byStep = <R extends CurveRecord>(rs: R[]): R[] => rs.filter((r) => finite(r.step)).sort((a, b) => a.step - b.step);
  const steps = byStep(history.filter((r): r is CurveStepRecord => r.type === 'step'));
  const evals = byStep(history.filter((r): r is CurveEvalRecord => r.type === 'eval'));

  const drawPanel = (p: CurvesPanelLayout, title: string, legend: readonly CurveName[]): void => {
    drawText(image, title, p.left - 1, p.top - 1 - 2 * s - th, theme.text, s);
    for (const t of layout.xTicks) {
      const x = xOf(t.value);
      drawLine(image, x, p.top, x, p.bottom, theme.grid);
      drawLine(image, x, p.bottom + 2, x, p.bottom + 1 + 3 * s, theme.axis, s);
      const w = measureText(t.label, s).width;
      drawText(image, t.label, Math.max(0, Math.min(width - w, x - Math.floor(w / 2))), p.bottom + 2 + 5 * s, theme.text, s);
    }
    for (const t of p.yTicks) {
      const y = p.yOf(t.value);
      drawLine(image, p.left, y, p.right, y, theme.grid);
      drawLine(image, p.left - 1 - 3 * s, y, p.left - 2, y, theme.axis, s);
      const w = measureText(t.label, s).width;
      drawText(image, t.label, p.left - 1 - 5 * s - w, y - 3 * s, theme.text, s);
    }
    strokeRect(image, p.left - 1, p.top - 1, p.right + 1, p.bottom + 1, theme.axis, 1);
    legend.forEach((name, i) => {
      const x = p.right + 1 + 6 * s;
      const y = p.top + i * (th + 3 * s);
      fillRect(image, x, y + 3 * s, 12 * s, 2 * s, TRAINING_CURVE_COLORS[name]);
      drawText(image, LEGEND_LABELS[name], x + 16 * s, y, theme.text, s);
    });
  };
  const note = (p: CurvesPanelLayout, text: string): void => {
    const w = measureText(text, s).width;
    drawText(image, text, Math.round((p.left + p.right - w) / 2), Math.round((p.top + p.bottom - th) / 2), theme.text, s);
  };
  /** The polyline of (step, value) in `p`, in whole pixels kept inside the plot area; points with no value are left out. */
  const curve = (p: CurvesPanelLayout, points: readonly (readonly [number, number])[], color: RgbColor, lineWidth: number, marker = 0): void => {
    const back = Math.floor((lineWidth - 1) / 2);
    const px = (x: number): number => Math.min(Math.max(x, p.left + back), p.right - (lineWidth - 1 - back));
    const py = (y: number): number => Math.min(Math.max(y, p.top + back), p.bottom - (lineWidth - 1 - back));
    let prev: [number, number] | undefined;
    for (const [step, value] of points) {
      const at: [number, number] = [px(xOf(step)), py(p.yOf(value))];
      drawLine(image, ...(prev ?? at), ...at, color, lineWidth);
      if (marker > 0) {
        const m = Math.floor(marker / 2);
        fillRect(image, Math.min(Math.max(at[0] - m, p.left), p.right + 1 - marker), Math.min(Math.max(at[1] - m, p.top), p.bottom + 1 - marker), marker, marker, color);
      }
      prev = at;
    }
  };

  drawPanel(panels.loss, 'loss - log scale', [...LOSS_CURVES, 'total']);
  drawPanel(panels.lr, 'learning rate', ['lr']);
  drawPanel(panels.ap, 'held-out AP 0.5:0.95', ['boxAp', 'maskAp']);
  const stepLabel = 'step';
  drawText(image, stepLabel, Math.round((panels.ap.left + panels.ap.right - measureText(stepLabel, s).width) / 2), height - 6 * s - th, theme.text, s);

  if (steps.length === 0) note(panels.loss, 'no steps logged yet');
  for (const k of LOSS_CURVES) curve(panels.loss, steps.filter((r) => finite(r[k])).map((r) => [r.step, r[k]]), TRAINING_CURVE_COLORS[k], s);
  curve(panels.loss, steps.filter((r) => finite(r.total)).map((r) => [r.step, r.total]), TRAINING_CURVE_COLORS.total, 2 * s);
  curve(panels.lr, steps.filter((r) => finite(r.lr)).map((r) => [r.step, r.lr]), TRAINING_CURVE_COLORS.lr, s);
  // pycocotools gives -1 where nothing could be scored: no point.
  const ap = (k: 'boxAp' | 'maskAp'): [number, number][] => evals.filter((r) => finite(r[k]) && r[k] >= 0).map((r) => [r.step, r[k]]);
  if (ap('boxAp').length === 0 && ap('maskAp').length === 0) note(panels.ap, 'no evaluation yet');
  for (const k of ['boxAp', 'maskAp'] as const) curve(panels.ap, ap(k), TRAINING_CURVE_COLORS[k], s, 4 * s + 1);
  return image;
}
