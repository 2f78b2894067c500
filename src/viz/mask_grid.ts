/**
 * Mask pictures: the mask head's probability crops (28 x 28 per RoI, or any size) as a grid of
 * small grey or viridis tiles, and the mask training targets drawn as binary masks on their boxes
 * over the image.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { BoxesData, flattenBoxes } from './box_layers';
import { COLORMAPS, ColormapName } from './colormap';
import { blendMask, MaskWindow, outlineMask, RgbaImage, strokeRect } from './draw';
import { GRID_CHECKS, imageGrid, ImageGridOptions } from './image_grid';
import { drawLegend } from './legend';
import { BoxLayerOptions, checkOptions, describeValue, OPTION_CHECKS, resolveTextScale } from './options';
import { DEFAULT_PALETTE, paletteColor, RgbColor } from './palette';
import { checkRgbaImage, checkSize, copyImage } from './rgba';

/**
 * M masks of one size as plain data: `M x height x width` values, row-major (a `[M, 28, 28]` or
 * `[M, 28, 28, 1]` tensor's `dataSync()`).
 *
 * @example
 * ```ts
 * const masks: MaskStack = { data: probs.dataSync(), height: 28, width: 28 };
 * ```
 */
export interface MaskStack {
  readonly data: ArrayLike<number>;
  readonly height: number;
  readonly width: number;
}

/** The number of masks of a stack, after checking it. */
function countMasks(masks: MaskStack, where: string): number {
  if (masks === null || typeof masks !== 'object') throw new Error(`Error in ${where}: masks must be { data, height, width }, got ${describeValue(masks)}`);
  checkSize(masks.width, masks.height, where);
  const { data } = masks;
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') throw new Error(`Error in ${where}: the mask data must be an array of numbers, got ${describeValue(data)}`);
  const size = masks.height * masks.width;
  if (size === 0 ? data.length !== 0 : data.length % size !== 0) {
    throw new Error(`Error in ${where}: ${data.length} values do not hold whole ${masks.height}x${masks.width} masks`);
  }
  return size === 0 ? 0 : data.length / size;
}

/**
 * Options of {@link maskGrid}: those of the tiles and of the grid.
 *
 * @example
 * ```ts
 * const options: MaskGridOptions = { colormap: 'viridis', zoom: 3, captions: ['cat 0.97', 'dog 0.71'] };
 * ```
 */
export interface MaskGridOptions extends ImageGridOptions {
  /** Default `'greys'`: 0 black, 1 white. */
  colormap?: ColormapName;
  /** Each mask pixel becomes a `zoom x zoom` block, an integer >= 1; default 2. */
  zoom?: number;
  /** The values mapped to the colormap's 0 and 1 (clamped outside); default [0, 1] (probabilities). */
  range?: readonly [number, number];
}

/**
 * Mask probabilities as tiles in a grid: mask m's pixel (c, r) becomes the `zoom x zoom` block at
 * (c * zoom, r * zoom) of its tile, coloured `colormap((p - lo) / (hi - lo))` (NaN as 0), and the
 * tiles are laid out by {@link imageGrid} (default margin 4 on a mid grey, so black and white
 * tiles both stand out). No masks give the empty grid.
 *
 * @throws Error naming the problem: a malformed stack, or invalid options (all listed).
 * @example
 * ```ts
 * const probs = maskLogits.sigmoid(); // [R, 28, 28, 1]
 * const sheet = maskGrid({ data: probs.dataSync(), height: 28, width: 28 }, { captions: labels, columns: 8 });
 * ```
 */
export function maskGrid(masks: MaskStack, options?: MaskGridOptions): RgbaImage {
  const where = 'maskGrid';
  const o = checkOptions<MaskGridOptions>(
    options,
    {
      colormap: OPTION_CHECKS.colormap,
      zoom: OPTION_CHECKS.integer(1),
      range: OPTION_CHECKS.range,
      ...GRID_CHECKS,
    },
    where,
  );
  const count = countMasks(masks, where);
  const { colormap, zoom, range, ...grid } = o;
  const map = COLORMAPS[colormap ?? 'greys'];
  const z = zoom ?? 2;
  const [lo, hi] = range ?? [0, 1];
  const { width: mw, height: mh, data } = masks;
  const tiles: RgbaImage[] = [];
  for (let m = 0; m < count; m++) {
    const tile = new Uint8ClampedArray(4 * mw * z * mh * z);
    for (let r = 0; r < mh * z; r++) {
      for (let c = 0; c < mw * z; c++) {
        const p = data[m * mw * mh + Math.floor(r / z) * mw + Math.floor(c / z)];
        const i = 4 * (r * mw * z + c);
        tile.set(map((p - lo) / (hi - lo)), i);
        tile[i + 3] = 255;
      }
    }
    tiles.push({ data: tile, width: mw * z, height: mh * z });
  }
  return imageGrid(tiles, { background: [96, 96, 96], ...grid });
}

/**
 * Options of {@link drawMaskTargets}.
 *
 * @example
 * ```ts
 * const options: MaskTargetOptions = { alpha: 0.6, threshold: 0.5, colors: [[255, 0, 0]] };
 * ```
 */
export interface MaskTargetOptions extends BoxLayerOptions {
  /** Colours that mask i takes `colors[i % n]` of; default {@link DEFAULT_PALETTE}. */
  colors?: readonly RgbColor[];
  /** Opacity of the mask fill, in [0, 1]; default 0.5. */
  alpha?: number;
  /** A target pixel is inside the mask where its value is `>= threshold`; default 0.5. */
  threshold?: number;
  /** Thickness of the mask outline, an integer >= 0 (0: none); default 1. */
  outlineWidth?: number;
}

/**
 * Mask targets on their boxes over a copy of `image`: target i (an `S x S` crop of the GT mask,
 * as RoIAlign'd for the mask loss) is stretched over box i's pixels by nearest neighbour (pixel
 * (c, r) of a box `bw x bh` pixels takes target cell `(floor((c + 0.5) * S / bw), floor((r + 0.5) * S / bh))`),
 * set where `>= threshold`, blended in its colour with an outline ({@link blendMask},
 * {@link outlineMask}), and the box is stroked. Boxes follow the {@link BoxesData} pixel rule.
 * The legend counts the targets. No targets give an unchanged copy (with the legend's `0 targets`).
 *
 * @param boxes `[M * 4]` xyxy boxes (the positive proposals the targets were cropped for).
 * @param targets M target masks, one per box.
 * @throws Error naming the problem: a malformed picture, box or stack, a mask count that differs
 * from the box count, or invalid options (all listed).
 * @example
 * ```ts
 * const picture = drawMaskTargets(base, positiveProposals, { data: maskTargets.dataSync(), height: 28, width: 28 });
 * ```
 */
export function drawMaskTargets(image: RgbaImage, boxes: BoxesData, targets: MaskStack, options?: MaskTargetOptions): RgbaImage {
  const where = 'drawMaskTargets';
  const o = checkOptions<MaskTargetOptions>(
    options,
    {
      lineWidth: OPTION_CHECKS.integer(1),
      legend: OPTION_CHECKS.boolean,
      textScale: OPTION_CHECKS.textScale,
      colors: (v) => (Array.isArray(v) && v.length > 0 && v.every((c) => OPTION_CHECKS.color(c) === undefined) ? undefined : 'must be a non-empty array of [r, g, b] colours, integers 0-255'),
      alpha: OPTION_CHECKS.unit,
      threshold: OPTION_CHECKS.finite,
      outlineWidth: OPTION_CHECKS.integer(0),
    },
    where,
  );
  checkRgbaImage(image, where);
  const flat = flattenBoxes(boxes, where);
  const count = countMasks(targets, where);
  if (count !== flat.length / 4) {
    throw new Error(`Error in ${where}: ${count} target masks for ${flat.length / 4} boxes; there must be one per box`);
  }
  const picture = copyImage(image);
  const palette = o.colors ?? DEFAULT_PALETTE;
  const threshold = o.threshold ?? 0.5;
  const { width: S, height: T, data } = targets;
  for (let i = 0; i < flat.length / 4; i++) {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => Math.round(flat[4 * i + k]));
    const [bw, bh] = [Math.max(1, x2 - x1), Math.max(1, y2 - y1)];
    // A window the size of the box's visible part at most: a wild box stays cheap.
    const [c0, r0] = [Math.max(0, -x1), Math.max(0, -y1)];
    const [c1, r1] = [Math.min(bw, image.width - x1), Math.min(bh, image.height - y1)];
    if (c1 > c0 && r1 > r0) {
      const [ww, wh] = [c1 - c0, r1 - r0];
      const mask = new Uint8Array(ww * wh);
      for (let r = 0; r < wh; r++) {
        const tr = Math.min(T - 1, Math.floor(((r + r0 + 0.5) * T) / bh));
        for (let c = 0; c < ww; c++) {
          const tc = Math.min(S - 1, Math.floor(((c + c0 + 0.5) * S) / bw));
          mask[r * ww + c] = data[i * S * T + tr * S + tc] >= threshold ? 1 : 0;
        }
      }
      const window: MaskWindow = { x: x1 + c0, y: y1 + r0, width: ww, height: wh, data: mask };
      blendMask(picture, window, paletteColor(i, palette), o.alpha ?? 0.5);
      outlineMask(picture, window, paletteColor(i, palette), o.outlineWidth ?? 1);
    }
    strokeRect(picture, x1, y1, x1 + bw - 1, y1 + bh - 1, paletteColor(i, palette), o.lineWidth ?? 1);
  }
  if (o.legend ?? true) {
    drawLegend(picture, [{ color: paletteColor(0, palette), label: `${flat.length / 4} targets` }], 0, 0, { scale: resolveTextScale(o.textScale, image.width, image.height) });
  }
  return picture;
}
