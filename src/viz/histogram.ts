/**
 * Score histograms: how a stage's scores (objectness, class scores, mask probabilities, IoUs) are
 * spread, as a bar chart with axes, round ticks and an optional title.
 *
 * Counting is numpy's `np.histogram` with equal bins: bin b holds the values in
 * `[edge_b, edge_b+1)`, the last bin includes its right edge, and values outside the range or NaN
 * are not counted.
 *
 * Layout at text scale s, padding `p = 4s` (pixels, x right and y down): the plot area is
 * `left..right` by `top..bottom` (both included) inside a 1-pixel frame. Bin b covers columns
 * `left + floor(b * W / bins)` to `left + floor((b + 1) * W / bins) - 1` (W the plot width), less
 * its last column when that leaves at least 3; a bar of count c is `round(c / yMax * H)` rows high
 * (H the plot height), standing on `bottom`. `yMax` is the top of a round count axis at or above
 * the largest count (at least 1). The colours are the training curves' theme.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { drawLine, drawText, fillRect, measureText, RgbaImage, strokeRect } from './draw';
import { checkOptions, describeValue, OPTION_CHECKS, resolveTextScale, TextScale } from './options';
import { DEFAULT_PALETTE, RgbColor } from './palette';
import { AxisTick, linearAxis, niceTicks } from './ticks';
import { TRAINING_CURVES_THEME } from './training_curves';

/**
 * Options of {@link scoreHistogram}.
 *
 * @example
 * ```ts
 * const options: HistogramOptions = { bins: 10, range: [0, 1], title: 'objectness', width: 400 };
 * ```
 */
export interface HistogramOptions {
  /** Number of equal bins, an integer in [1, 1000]; default 20. */
  bins?: number;
  /** `[lo, hi]` of the bins, or `'auto'`: the finite values' min and max (numpy: +-0.5 when equal, [0, 1] when none); default [0, 1]. */
  range?: readonly [number, number] | 'auto';
  /** Picture width, an integer in [64, 8192]; default 320. */
  width?: number;
  /** Picture height, an integer in [48, 8192]; default 200. */
  height?: number;
  /** Text above the plot; default none. */
  title?: string;
  /** Bar colour; default blue (0, 130, 200). */
  barColor?: RgbColor;
  /** Text scale; default `'auto'`. */
  textScale?: TextScale;
}

/**
 * Counts of `values` in `bins` equal bins over `[lo, hi]`, exactly as numpy's `np.histogram`
 * counts them (see the file comment).
 *
 * @throws Error when `bins` is not an integer >= 1 or the range is not finite with lo < hi.
 * @example
 * ```ts
 * histogramCounts([0, 0.1, 0.5, 1, 1.5, NaN], 2, [0, 1]); // Int32Array [2, 2]
 * ```
 */
export function histogramCounts(values: ArrayLike<number>, bins: number, [lo, hi]: readonly [number, number]): Int32Array {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`Error in histogramCounts: bins must be an integer >= 1, got ${describeValue(bins)}`);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new Error(`Error in histogramCounts: the range must be finite with lo < hi, got [${lo}, ${hi}]`);
  const counts = new Int32Array(bins);
  // np.histogram: an index from the scaled value, then corrected against the linspace edges, so
  // that a value on an edge falls in the bin the edges say, whatever the rounding of the scaling.
  const step = (hi - lo) / bins;
  const edge = (b: number): number => (b === bins ? hi : b * step + lo); // np.linspace
  const norm = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) continue;
    let b = Math.min(bins - 1, Math.floor((v - lo) * norm));
    if (v < edge(b)) b--;
    else if (b !== bins - 1 && v >= edge(b + 1)) b++;
    counts[b]++;
  }
  return counts;
}

/**
 * Where {@link scoreHistogram} puts things (see the file comment).
 *
 * @example
 * ```ts
 * const layout = histogramLayout(scores, { bins: 4 });
 * const [x0, x1] = layout.binColumns(0);
 * ```
 */
export interface HistogramLayout {
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly range: readonly [number, number];
  readonly counts: Int32Array;
  /** The top of the count axis. */
  readonly yMax: number;
  readonly yTicks: readonly AxisTick[];
  readonly xTicks: readonly AxisTick[];
  /** First and last column of bin b's bar. */
  readonly binColumns: (b: number) => [number, number];
  /** Height in rows of a bar of count c. */
  readonly barHeight: (count: number) => number;
  /** The column of value v on the x axis. */
  readonly xOf: (v: number) => number;
}

const HISTOGRAM_CHECKS = {
  bins: OPTION_CHECKS.integer(1, 1000),
  range: (v: unknown): string | undefined => (v === 'auto' ? undefined : OPTION_CHECKS.range(v)?.replace('must be', "must be 'auto' or")),
  width: OPTION_CHECKS.integer(64, 8192),
  height: OPTION_CHECKS.integer(48, 8192),
  title: OPTION_CHECKS.string,
  barColor: OPTION_CHECKS.color,
  textScale: OPTION_CHECKS.textScale,
};

function autoRange(values: ArrayLike<number>): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  }
  if (lo > hi) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/**
 * The layout of the histogram of `values` (see the file comment).
 *
 * @throws Error listing every invalid option, or when `values` is not an array of numbers.
 * @example
 * ```ts
 * const { counts, yMax } = histogramLayout(Float32Array.of(0.1, 0.2, 0.9), { bins: 2 }); // [2, 1], 2
 * ```
 */
export function histogramLayout(values: ArrayLike<number>, options?: HistogramOptions): HistogramLayout {
  const o = checkOptions<HistogramOptions>(options, HISTOGRAM_CHECKS, 'scoreHistogram');
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new Error(`Error in scoreHistogram: values must be an array of numbers, got ${describeValue(values)}`);
  }
  const [width, height] = [o.width ?? 320, o.height ?? 200];
  const s = resolveTextScale(o.textScale, width, height);
  const bins = o.bins ?? 20;
  const range = o.range === 'auto' ? autoRange(values) : (o.range ?? [0, 1]);
  const counts = histogramCounts(values, bins, range);
  const pad = 4 * s;
  const th = measureText('0', s).height;
  // A y label's middle sits on its tick, so half a label sticks out above the top tick.
  const top = pad + (o.title !== undefined ? th + 3 * s : 0) + Math.ceil(th / 2);
  const bottom = height - 2 - pad - 14 * s; // tick marks, a gap, the x labels and the padding below
  const plotH = Math.max(1, bottom - top + 1);
  const axis = linearAxis(Math.max(1, ...counts), Math.max(1, Math.min(10, Math.floor(plotH / (th + 6 * s)))), 1);
  const yLabelW = Math.max(...axis.ticks.map((t) => measureText(t.label, s).width));
  const left = pad + yLabelW + 5 * s + 1;
  const right = width - 2 - pad;
  const plotW = Math.max(1, right - left + 1);
  const xTicks = niceTicks(range[0], range[1], Math.max(1, Math.floor(plotW / (measureText('0.000', s).width + 8 * s))));
  return {
    width,
    height,
    scale: s,
    left,
    top,
    right,
    bottom,
    range,
    counts,
    yMax: axis.hi,
    yTicks: axis.ticks,
    xTicks,
    binColumns: (b) => {
      const x0 = left + Math.floor((b * plotW) / bins);
      const x1 = left + Math.floor(((b + 1) * plotW) / bins) - 1;
      return [x0, x1 - x0 + 1 >= 4 ? x1 - 1 : x1];
    },
    barHeight: (c) => Math.round((c / axis.hi) * plotH),
    xOf: (v) => left + Math.round(((v - range[0]) / (range[1] - range[0])) * (plotW - 1)),
  };
}

/**
 * A histogram of scores as a picture: bars, a frame, count ticks on the left (round numbers),
 * value ticks below, grid lines, an optional title (see the file comment for the exact layout).
 * No values in the range give the empty axes with the note `no values`.
 *
 * @throws Error listing every invalid option, or when `values` is not an array of numbers.
 * @example
 * ```ts
 * const picture = scoreHistogram(objectness.dataSync(), { bins: 20, title: 'RPN objectness' });
 * ```
 */
export function scoreHistogram(values: ArrayLike<number>, options?: HistogramOptions): RgbaImage {
  const L = histogramLayout(values, options);
  const o = options ?? {};
  const { width, height, scale: s, left, top, right, bottom } = L;
  const theme = TRAINING_CURVES_THEME;
  const image: RgbaImage = { data: new Uint8ClampedArray(4 * width * height), width, height };
  fillRect(image, 0, 0, width, height, theme.background);
  if (o.title !== undefined) drawText(image, o.title, 4 * s, 4 * s, theme.text, s);
  for (const t of L.yTicks) {
    const y = bottom + 1 - L.barHeight(t.value);
    if (t.value > 0) drawLine(image, left, y, right, y, theme.grid);
    drawLine(image, left - 1 - 3 * s, y, left - 2, y, theme.axis, s);
    drawText(image, t.label, left - 1 - 5 * s - measureText(t.label, s).width, y - 3 * s, theme.text, s);
  }
  for (const t of L.xTicks) {
    const x = L.xOf(t.value);
    drawLine(image, x, bottom + 2, x, bottom + 1 + 3 * s, theme.axis, s);
    const w = measureText(t.label, s).width;
    drawText(image, t.label, Math.max(0, Math.min(width - w, x - Math.floor(w / 2))), bottom + 2 + 5 * s, theme.text, s);
  }
  L.counts.forEach((c, b) => {
    const h = L.barHeight(c);
    const [x0, x1] = L.binColumns(b);
    if (h > 0) fillRect(image, x0, bottom - h + 1, x1 - x0 + 1, h, o.barColor ?? DEFAULT_PALETTE[2]);
  });
  strokeRect(image, left - 1, top - 1, right + 1, bottom + 1, theme.axis, 1);
  if (L.counts.every((c) => c === 0)) {
    const note = 'no values';
    drawText(image, note, Math.round((left + right - measureText(note, s).width) / 2), Math.round((top + bottom - measureText(note, s).height) / 2), theme.text, s);
  }
  return image;
}
