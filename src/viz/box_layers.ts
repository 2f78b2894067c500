/**
 * Box layers: boxes of one stage of the pipeline drawn over a picture, coloured by what they are
 * (anchor labels, proposal scores, the FPN level a RoI is pooled from, a box before and after
 * regression).
 *
 * Boxes are plain data, so any source works (a tensor's `dataSync()`, the training targets, a
 * saved file): a flat `[R * 4]` array of xyxy pixel coordinates or an array of R `[x1, y1, x2, y2]`,
 * in the frame of the picture they are drawn on. A box covers pixels `round(x1) .. round(x2) - 1`
 * by `round(y1) .. round(y2) - 1` (at least one), as in {@link drawDetections}; its lines are drawn
 * inside and clipped to the picture.
 *
 * Every layer returns a new picture and leaves its input as it was. Unless `legend: false`, the
 * layers other than {@link drawBoxes} put a legend in the top-left corner saying what each colour
 * means and how many boxes have it.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { COLORMAPS, ColormapName } from './colormap';
import { drawLine, drawTextTag, measureTextTag, RgbaImage, strokeRect } from './draw';
import { drawLegend, LegendEntry } from './legend';
import { BoxLayerOptions, checkOptions, describeValue, OPTION_CHECKS, OptionCheck, resolveTextScale } from './options';
import { DEFAULT_PALETTE, paletteColor, RgbColor } from './palette';
import { checkRgbaImage, copyImage } from './rgba';

/**
 * Boxes as plain data: `[R * 4]` numbers (x1, y1, x2, y2 of each box in turn) or R arrays of four.
 *
 * @example
 * ```ts
 * const a: BoxesData = Float32Array.of(0, 0, 10, 10, 5, 5, 20, 15);
 * const b: BoxesData = [[0, 0, 10, 10], [5, 5, 20, 15]];
 * ```
 */
export type BoxesData = ArrayLike<number> | readonly ArrayLike<number>[];

/**
 * The boxes as a flat `[R * 4]` array, after checking that there are 4 finite numbers per box.
 *
 * @internal
 * @example
 * ```ts
 * flattenBoxes([[0, 0, 10, 10]], 'drawBoxes'); // Float64Array [0, 0, 10, 10]
 * ```
 */
export function flattenBoxes(boxes: BoxesData, where: string, what = 'boxes'): Float64Array {
  if (boxes === null || typeof boxes !== 'object' || typeof boxes.length !== 'number') {
    throw new Error(`Error in ${where}: ${what} must be [R * 4] numbers or R [x1, y1, x2, y2], got ${describeValue(boxes)}`);
  }
  const nested = boxes.length > 0 && typeof boxes[0] === 'object';
  let flat: Float64Array;
  if (nested) {
    const rows = boxes as readonly ArrayLike<number>[];
    flat = new Float64Array(4 * rows.length);
    rows.forEach((b, i) => {
      if (b === null || typeof b !== 'object' || b.length !== 4) throw new Error(`Error in ${where}: ${what} ${i} must be [x1, y1, x2, y2], got ${describeValue(b)}`);
      for (let k = 0; k < 4; k++) flat[4 * i + k] = b[k];
    });
  } else {
    if (boxes.length % 4 !== 0) throw new Error(`Error in ${where}: ${what} must hold 4 numbers per box, got ${boxes.length} numbers`);
    flat = Float64Array.from(boxes as ArrayLike<number>);
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) {
      const r = Math.floor(i / 4);
      throw new Error(`Error in ${where}: ${what} ${r} must be 4 finite numbers, got [${Array.from(flat.subarray(4 * r, 4 * r + 4)).join(', ')}]`);
    }
  }
  return flat;
}

/** The pixel rectangle of box i: left, top, right, bottom, all included. */
function pixelBox(boxes: Float64Array, i: number): [number, number, number, number] {
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => Math.round(boxes[4 * i + k]));
  return [x1, y1, Math.max(x1, x2 - 1), Math.max(y1, y2 - 1)];
}

function checkPerBox(values: ArrayLike<number>, count: number, where: string, what: string): void {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') throw new Error(`Error in ${where}: ${what} must be an array of ${count} numbers, got ${describeValue(values)}`);
  if (values.length !== count) throw new Error(`Error in ${where}: ${what} must hold one number per box (${count} boxes), got ${values.length}`);
}

const BOX_LAYER_CHECKS: Readonly<Record<keyof BoxLayerOptions, OptionCheck>> = {
  lineWidth: OPTION_CHECKS.integer(1),
  legend: OPTION_CHECKS.boolean,
  textScale: OPTION_CHECKS.textScale,
};

/** The common start of a layer: checked options, a copy of the picture, the text scale. */
function begin<O extends BoxLayerOptions>(
  image: RgbaImage,
  options: O | undefined,
  checks: Readonly<Record<Exclude<keyof O, keyof BoxLayerOptions> & string, OptionCheck>>,
  where: string,
): { o: O; picture: RgbaImage; lineWidth: number; scale: number } {
  const o = checkOptions<O>(options, { ...BOX_LAYER_CHECKS, ...checks } as Readonly<Record<keyof O & string, OptionCheck>>, where);
  checkRgbaImage(image, where);
  const picture = copyImage(image);
  return { o, picture, lineWidth: o.lineWidth ?? 1, scale: resolveTextScale(o.textScale, image.width, image.height) };
}

function legendIf(o: BoxLayerOptions, picture: RgbaImage, entries: readonly LegendEntry[], scale: number): void {
  if (o.legend ?? true) drawLegend(picture, entries, 0, 0, { scale });
}

/**
 * Options of {@link drawBoxes}.
 *
 * @example
 * ```ts
 * const options: DrawBoxesOptions = { colors: [[255, 0, 0], [0, 0, 255]], labels: ['gt', 'gt'], lineWidth: 2 };
 * ```
 */
export interface DrawBoxesOptions {
  /** One colour for all boxes, or colours that box i takes `colors[i % n]` of; default {@link DEFAULT_PALETTE}. */
  colors?: RgbColor | readonly RgbColor[];
  /** A tag per box (text on the box colour above its top-left corner, as {@link drawDetections} draws them); default none. */
  labels?: readonly string[];
  /** Box line thickness, an integer >= 1; default 1. */
  lineWidth?: number;
  /** Tag text scale; default `'auto'`. */
  textScale?: BoxLayerOptions['textScale'];
}

const isColor = (v: unknown): boolean => OPTION_CHECKS.color(v) === undefined;

/**
 * Boxes over a copy of `image`, box i in `colors[i % n]` (or the one colour given), in order (the
 * last on top), with optional tags. No boxes give an unchanged copy.
 *
 * @throws Error naming the problem: a malformed picture or box (its index), or invalid options (all listed).
 * @example
 * ```ts
 * const picture = drawBoxes(toRgbaImage(pixels.data, w, h), gt.boxes, { colors: [255, 255, 255], labels: gt.names });
 * ```
 */
export function drawBoxes(image: RgbaImage, boxes: BoxesData, options?: DrawBoxesOptions): RgbaImage {
  const where = 'drawBoxes';
  const o = checkOptions<DrawBoxesOptions>(
    options,
    { colors: OPTION_CHECKS.colors, labels: OPTION_CHECKS.strings, lineWidth: OPTION_CHECKS.integer(1), textScale: OPTION_CHECKS.textScale },
    where,
  );
  checkRgbaImage(image, where);
  const flat = flattenBoxes(boxes, where);
  const picture = copyImage(image);
  const n = flat.length / 4;
  const colors = o.colors === undefined ? DEFAULT_PALETTE : isColor(o.colors) ? [o.colors as RgbColor] : (o.colors as readonly RgbColor[]);
  for (let i = 0; i < n; i++) strokeRect(picture, ...pixelBox(flat, i), paletteColor(i, colors), o.lineWidth ?? 1);
  if (o.labels !== undefined) {
    const scale = resolveTextScale(o.textScale, image.width, image.height);
    for (let i = 0; i < Math.min(n, o.labels.length); i++) {
      const [left, top] = pixelBox(flat, i);
      const tag = measureTextTag(o.labels[i], scale);
      // Above the box; inside it where the box starts too near the top; always within the picture.
      let y = top - tag.height >= 0 ? top - tag.height : Math.max(0, top);
      y = Math.max(0, Math.min(y, image.height - tag.height));
      drawTextTag(picture, o.labels[i], Math.max(0, Math.min(left, image.width - tag.width)), y, paletteColor(i, colors), scale);
    }
  }
  return picture;
}

/**
 * What the training targets make of an anchor: positive (label >= 1, foreground), negative
 * (label 0, background) or ignored (anything else: -1 between the IoU thresholds).
 *
 * @example
 * ```ts
 * const kinds: AnchorKind[] = ['positive', 'negative'];
 * ```
 */
export type AnchorKind = 'positive' | 'negative' | 'ignored';

/**
 * The colours of {@link drawAnchorLabels}: positives green, negatives blue, ignored grey.
 *
 * @example
 * ```ts
 * ANCHOR_LABEL_COLORS.positive; // [60, 180, 75]
 * ```
 */
export const ANCHOR_LABEL_COLORS: Readonly<Record<AnchorKind, RgbColor>> = Object.freeze({
  positive: DEFAULT_PALETTE[1],
  negative: DEFAULT_PALETTE[2],
  ignored: [170, 170, 170],
});

const ANCHOR_KINDS: readonly AnchorKind[] = ['negative', 'ignored', 'positive'];

/**
 * Options of {@link drawAnchorLabels}.
 *
 * @example
 * ```ts
 * const options: AnchorLabelOptions = { kinds: ['positive', 'ignored'], indices: sampled.positive };
 * ```
 */
export interface AnchorLabelOptions extends BoxLayerOptions {
  /** Which kinds to draw; default all three (negatives first, positives on top). */
  kinds?: readonly AnchorKind[];
  /** Draw only these anchors (e.g. the sampled ones); default all. */
  indices?: ArrayLike<number>;
  /** Colours that replace {@link ANCHOR_LABEL_COLORS}, per kind. */
  colors?: Partial<Record<AnchorKind, RgbColor>>;
}

/**
 * The kind of an anchor label: >= 1 positive, 0 negative, anything else (-1, -2, NaN) ignored.
 *
 * @example
 * ```ts
 * anchorKind(1);  // 'positive'
 * anchorKind(-1); // 'ignored'
 * ```
 */
export function anchorKind(label: number): AnchorKind {
  return label >= 1 ? 'positive' : label === 0 ? 'negative' : 'ignored';
}

/**
 * Anchors over a copy of `image`, coloured by their training label (1 positive, 0 negative, -1
 * ignored, as `assignRpnTargets` gives them): negatives, then ignored, then positives on top, each
 * kind in anchor order. The legend counts the anchors drawn of each kind.
 *
 * @param anchors `[A * 4]` xyxy anchors of one image.
 * @param labels `[A]` their labels.
 * @throws Error naming the problem: a malformed box, a label count that differs from the anchor
 * count, an index outside the anchors, or invalid options (all listed).
 * @example
 * ```ts
 * const { labels } = assignRpnTargets(anchors, gt);
 * const picture = drawAnchorLabels(base, anchors, labels, { kinds: ['positive', 'ignored'] });
 * ```
 */
export function drawAnchorLabels(image: RgbaImage, anchors: BoxesData, labels: ArrayLike<number>, options?: AnchorLabelOptions): RgbaImage {
  const where = 'drawAnchorLabels';
  const { o, picture, lineWidth, scale } = begin<AnchorLabelOptions>(
    image,
    options,
    {
      kinds: (v) => (Array.isArray(v) && v.every((k) => ANCHOR_KINDS.includes(k)) ? undefined : `must be an array of ${ANCHOR_KINDS.map((k) => `'${k}'`).join(', ')}`),
      indices: (v) => (v !== null && typeof v === 'object' && typeof (v as ArrayLike<number>).length === 'number' ? undefined : 'must be an array of anchor indices'),
      colors: (v) =>
        v !== null && typeof v === 'object' && !Array.isArray(v) && Object.entries(v).every(([k, c]) => ANCHOR_KINDS.includes(k as AnchorKind) && isColor(c))
          ? undefined
          : 'must be { positive?, negative?, ignored? } of [r, g, b] colours',
    },
    where,
  );
  const flat = flattenBoxes(anchors, where, 'anchors');
  const count = flat.length / 4;
  checkPerBox(labels, count, where, 'labels');
  const chosen = o.indices === undefined ? Array.from({ length: count }, (_, i) => i) : Array.from(o.indices);
  chosen.forEach((a, k) => {
    if (!(Number.isInteger(a) && a >= 0 && a < count)) throw new Error(`Error in ${where}: indices[${k}] must be an anchor index in [0, ${count}), got ${describeValue(a)}`);
  });
  const kinds = o.kinds ?? ANCHOR_KINDS;
  const colors = { ...ANCHOR_LABEL_COLORS, ...o.colors };
  const legend: LegendEntry[] = [];
  for (const kind of ANCHOR_KINDS.filter((k) => kinds.includes(k))) {
    let drawn = 0;
    for (const a of chosen) {
      if (anchorKind(labels[a]) !== kind) continue;
      strokeRect(picture, ...pixelBox(flat, a), colors[kind], lineWidth);
      drawn++;
    }
    legend.unshift({ color: colors[kind], label: `${kind} ${drawn}` });
  }
  legendIf(o, picture, legend, scale);
  return picture;
}

/**
 * Options of {@link drawProposals}.
 *
 * @example
 * ```ts
 * const options: ProposalOptions = { topK: 50, scoreRange: 'auto' };
 * ```
 */
export interface ProposalOptions extends BoxLayerOptions {
  /** Draw only the `topK` best-scored proposals, an integer >= 0; default all. */
  topK?: number;
  /**
   * Scores mapped to the colormap's 0 and 1 (clamped outside): `[lo, hi]`, or `'auto'` for the
   * lowest and highest score drawn; default `[0, 1]` (objectness probabilities).
   */
  scoreRange?: readonly [number, number] | 'auto';
  /** Default `'viridis'`: low scores dark purple, high ones yellow. */
  colormap?: ColormapName;
}

/**
 * Proposals over a copy of `image`, coloured by score with viridis (see {@link ProposalOptions}):
 * the `topK` best (ties: the lower index first), drawn from the lowest score up so the best is on
 * top. A NaN score counts as the lowest and takes the colormap's 0. With `'auto'` and equal
 * scores every box takes the colormap's 0. The legend shows the colours of the range's ends and
 * middle and how many proposals are drawn.
 *
 * @param boxes `[R * 4]` xyxy proposals.
 * @param scores `[R]` their scores.
 * @throws Error naming the problem: a malformed box, a score count that differs from the box
 * count, or invalid options (all listed).
 * @example
 * ```ts
 * const picture = drawProposals(base, proposals.dataSync(), scores.dataSync(), { topK: 100 });
 * ```
 */
export function drawProposals(image: RgbaImage, boxes: BoxesData, scores: ArrayLike<number>, options?: ProposalOptions): RgbaImage {
  const where = 'drawProposals';
  const { o, picture, lineWidth, scale } = begin<ProposalOptions>(
    image,
    options,
    {
      topK: OPTION_CHECKS.integer(0),
      scoreRange: (v) => (v === 'auto' ? undefined : OPTION_CHECKS.range(v)?.replace('must be', "must be 'auto' or")),
      colormap: OPTION_CHECKS.colormap,
    },
    where,
  );
  const flat = flattenBoxes(boxes, where);
  const count = flat.length / 4;
  checkPerBox(scores, count, where, 'scores');
  const key = (i: number): number => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  const best = Array.from({ length: count }, (_, i) => i)
    .sort((a, b) => key(b) - key(a) || a - b)
    .slice(0, o.topK ?? count);
  let [lo, hi] = o.scoreRange === 'auto' ? [Infinity, -Infinity] : (o.scoreRange ?? [0, 1]);
  if (o.scoreRange === 'auto') {
    // A loop, not Math.min(...scores): pre-NMS proposals outnumber the arguments a call takes.
    for (const i of best) if (!Number.isNaN(scores[i])) [lo, hi] = [Math.min(lo, scores[i]), Math.max(hi, scores[i])];
    if (lo > hi) [lo, hi] = [0, 0];
  }
  const colormap = COLORMAPS[o.colormap ?? 'viridis'];
  const t = (s: number): number => (hi > lo ? (s - lo) / (hi - lo) : 0);
  for (let k = best.length - 1; k >= 0; k--) strokeRect(picture, ...pixelBox(flat, best[k]), colormap(t(scores[best[k]])), lineWidth);
  if (best.length > 0) {
    const fmt = (v: number): string => String(Number(v.toPrecision(3)));
    const mid = (lo + hi) / 2;
    legendIf(
      o,
      picture,
      [
        { color: colormap(t(hi)), label: `score ${fmt(hi)}` },
        { color: colormap(t(mid)), label: `score ${fmt(mid)}` },
        { color: colormap(t(lo)), label: `score ${fmt(lo)}` },
        { color: [255, 255, 255], label: `${best.length} of ${count}` },
      ],
      scale,
    );
  }
  return picture;
}

/**
 * The colour of FPN level `level` (0 the finest map, P2 in Mask R-CNN, as `LevelMapper.levels`
 * numbers them): {@link DEFAULT_PALETTE}`[level]`, so P2 red, P3 green, P4 blue, P5 orange.
 *
 * @throws Error when `level` is not an integer >= 0.
 * @example
 * ```ts
 * fpnLevelColor(0); // [230, 25, 75]
 * fpnLevelColor(3); // [245, 130, 48]
 * ```
 */
export function fpnLevelColor(level: number): RgbColor {
  if (!Number.isInteger(level) || level < 0) throw new Error(`Error in fpnLevelColor: level must be an integer >= 0, got ${describeValue(level)}`);
  return paletteColor(level);
}

/**
 * Options of {@link drawRoiLevels}.
 *
 * @example
 * ```ts
 * const options: RoiLevelOptions = { firstLevel: 2 }; // level 0 is called P2
 * ```
 */
export interface RoiLevelOptions extends BoxLayerOptions {
  /** The FPN number of level 0, for the legend (`P2`, `P3`, ...); default 2. */
  firstLevel?: number;
}

/**
 * RoIs over a copy of `image`, each in the colour of the FPN level it is pooled from
 * ({@link fpnLevelColor}), coarse levels first so the small boxes of fine levels stay on top.
 * The legend lists the levels present (`P2 14`: level name and count).
 *
 * @param boxes `[R * 4]` xyxy RoIs.
 * @param levels `[R]` their levels, integers >= 0 (`LevelMapper.levels` gives them).
 * @throws Error naming the problem: a malformed box, a level count that differs from the box
 * count, a level that is not an integer >= 0, or invalid options (all listed).
 * @example
 * ```ts
 * const levels = new LevelMapper({ kMin: 2, kMax: 5 }).levels(rois);
 * const picture = drawRoiLevels(base, rois, levels);
 * ```
 */
export function drawRoiLevels(image: RgbaImage, boxes: BoxesData, levels: ArrayLike<number>, options?: RoiLevelOptions): RgbaImage {
  const where = 'drawRoiLevels';
  const { o, picture, lineWidth, scale } = begin<RoiLevelOptions>(image, options, { firstLevel: OPTION_CHECKS.integer(0) }, where);
  const flat = flattenBoxes(boxes, where);
  const count = flat.length / 4;
  checkPerBox(levels, count, where, 'levels');
  const counts = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    if (!Number.isInteger(levels[i]) || levels[i] < 0) throw new Error(`Error in ${where}: levels[${i}] must be an integer >= 0, got ${describeValue(levels[i])}`);
    counts.set(levels[i], (counts.get(levels[i]) ?? 0) + 1);
  }
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => levels[b] - levels[a] || a - b);
  for (const i of order) strokeRect(picture, ...pixelBox(flat, i), fpnLevelColor(levels[i]), lineWidth);
  const first = o.firstLevel ?? 2;
  const present = [...counts.keys()].sort((a, b) => a - b);
  legendIf(o, picture, present.map((l) => ({ color: fpnLevelColor(l), label: `P${first + l} ${counts.get(l)}` })), scale);
  return picture;
}

/**
 * Options of {@link drawBoxRefinement}.
 *
 * @example
 * ```ts
 * const options: BoxRefinementOptions = { rawColor: [128, 128, 128], lineWidth: 2 };
 * ```
 */
export interface BoxRefinementOptions extends BoxLayerOptions {
  /** Colour of the boxes before regression; default blue (0, 130, 200). */
  rawColor?: RgbColor;
  /** Colour of the boxes after regression; default orange (245, 130, 48). */
  refinedColor?: RgbColor;
  /** Colour of the line from a raw box's centre to its refined box's centre; default yellow (255, 225, 25). */
  lineColor?: RgbColor;
}

/**
 * Boxes before and after regression (anchors and their decoded proposals, proposals and their
 * detections) over a copy of `image`: the raw boxes, then the refined ones, then for each pair a
 * 1-pixel line from the raw box's centre `((x1 + x2) / 2, (y1 + y2) / 2)` to the refined box's,
 * rounded to whole pixels.
 *
 * @param raw `[R * 4]` xyxy boxes before.
 * @param refined `[R * 4]` xyxy boxes after, pair by pair.
 * @throws Error naming the problem: a malformed box, two lists of different lengths, or invalid
 * options (all listed).
 * @example
 * ```ts
 * const picture = drawBoxRefinement(base, proposals, decodedBoxes, { legend: false });
 * ```
 */
export function drawBoxRefinement(image: RgbaImage, raw: BoxesData, refined: BoxesData, options?: BoxRefinementOptions): RgbaImage {
  const where = 'drawBoxRefinement';
  const { o, picture, lineWidth, scale } = begin<BoxRefinementOptions>(
    image,
    options,
    { rawColor: OPTION_CHECKS.color, refinedColor: OPTION_CHECKS.color, lineColor: OPTION_CHECKS.color },
    where,
  );
  const before = flattenBoxes(raw, where, 'raw boxes');
  const after = flattenBoxes(refined, where, 'refined boxes');
  if (before.length !== after.length) throw new Error(`Error in ${where}: ${before.length / 4} raw boxes but ${after.length / 4} refined boxes; they go in pairs`);
  const count = before.length / 4;
  const rawColor = o.rawColor ?? DEFAULT_PALETTE[2];
  const refinedColor = o.refinedColor ?? DEFAULT_PALETTE[3];
  const lineColor = o.lineColor ?? DEFAULT_PALETTE[7];
  for (let i = 0; i < count; i++) strokeRect(picture, ...pixelBox(before, i), rawColor, lineWidth);
  for (let i = 0; i < count; i++) strokeRect(picture, ...pixelBox(after, i), refinedColor, lineWidth);
  const centre = (b: Float64Array, i: number): [number, number] => [(b[4 * i] + b[4 * i + 2]) / 2, (b[4 * i + 1] + b[4 * i + 3]) / 2];
  for (let i = 0; i < count; i++) {
    const segment = clipSegment(centre(before, i), centre(after, i), image.width, image.height);
    if (segment !== null) drawLine(picture, ...segment, lineColor);
  }
  legendIf(
    o,
    picture,
    [
      { color: rawColor, label: `raw ${count}` },
      { color: refinedColor, label: `refined ${count}` },
      { color: lineColor, label: 'centre shift' },
    ],
    scale,
  );
  return picture;
}

/**
 * The part of the segment a-b within [-1, width] x [-1, height] (Liang-Barsky), or null when it
 * misses that rectangle. A segment inside the picture comes back as it is; a long one is cut
 * before drawing, since drawLine's cost is the whole line's length (a badly regressed box can be
 * millions of pixels away).
 */
function clipSegment(a: [number, number], b: [number, number], width: number, height: number): [number, number, number, number] | null {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  let [t0, t1] = [0, 1];
  const edges: [number, number][] = [
    [-dx, a[0] + 1],
    [dx, width - a[0]],
    [-dy, a[1] + 1],
    [dy, height - a[1]],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const r = q / p;
      if (p < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
    }
  }
  if (t0 > t1) return null;
  return [a[0] + t0 * dx, a[1] + t0 * dy, a[0] + t1 * dx, a[1] + t1 * dy];
}
