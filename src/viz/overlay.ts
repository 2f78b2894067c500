/**
 * Pictures of predictions: a model's detections drawn onto the image they were made on, as an
 * RGBA buffer (a browser `ImageData`, or PNG through {@link overlayToPng} in Node).
 *
 * What is drawn, bottom to top: every mask blended in its colour with an opaque outline, then
 * every box, then every label tag (`labelName score`, e.g. `circle 0.97`) above its box's top-left
 * corner. Within each layer the detections go by increasing score, so the best is on top.
 *
 * Pure TypeScript with no Node imports: it runs in browsers. (The types from `../api/model` are
 * types only and vanish in the compiled code.)
 */
import type { PixelBuffer, Prediction } from '../api/model';
import { DetectionMask, maskToFull } from '../api/detection_masks';
import { blendMask, MaskWindow, measureTextTag, outlineMask, RgbaImage, strokeRect, drawTextTag } from './draw';
import { DEFAULT_PALETTE, paletteColor, RgbColor } from './palette';

/**
 * How instances are coloured: `'instance'` gives detection i (its position in the prediction's
 * list) `palette[i % n]`; `'label'` gives every detection of class k `palette[k % n]`.
 *
 * @example
 * ```ts
 * const colorBy: ColorBy = 'label'; // all persons one colour
 * ```
 */
export type ColorBy = 'instance' | 'label';

/**
 * Options of {@link drawDetections}; every field has a default.
 *
 * @example
 * ```ts
 * const options: OverlayOptions = { scoreThreshold: 0.5, alpha: 0.4, showBoxes: false, colorBy: 'label' };
 * const picture = drawDetections(pixels, prediction, options);
 * ```
 */
export interface OverlayOptions {
  /** Draw only detections with `score >= scoreThreshold`; default 0 (everything given). */
  scoreThreshold?: number;
  /** Opacity of the mask fill, in [0, 1]; default 0.5. */
  alpha?: number;
  /** Draw the boxes; default true. */
  showBoxes?: boolean;
  /** Draw the masks (fill and outline); default true. */
  showMasks?: boolean;
  /** Draw the label tags; default true. */
  showLabels?: boolean;
  /** Thickness of the box lines in pixels, a positive integer; default 2. */
  lineWidth?: number;
  /** Thickness of the mask outlines in pixels, an integer, 0 for none; default 2. */
  outlineWidth?: number;
  /**
   * Size of the label text: each font pixel becomes a `textScale x textScale` square (glyphs are
   * 5x9 at scale 1), a positive integer, or `'auto'` (default): `max(1, floor(min(width, height) / 400))`,
   * so 1 up to 799 pixels, 2 for an 800-pixel short side.
   */
  textScale?: number | 'auto';
  /** Colour per instance or per class label; default `'instance'`. */
  colorBy?: ColorBy;
  /** The colours to cycle through; default {@link DEFAULT_PALETTE}. */
  palette?: readonly RgbColor[];
}

/**
 * {@link OverlayOptions} with every default filled in.
 *
 * @example
 * ```ts
 * const o: ResolvedOverlayOptions = resolveOverlayOptions({ alpha: 0.3 });
 * ```
 */
export type ResolvedOverlayOptions = Required<OverlayOptions>;

const OVERLAY_OPTION_NAMES = [
  'scoreThreshold',
  'alpha',
  'showBoxes',
  'showMasks',
  'showLabels',
  'lineWidth',
  'outlineWidth',
  'textScale',
  'colorBy',
  'palette',
] as const satisfies readonly (keyof OverlayOptions)[];

const COLOR_BY: readonly ColorBy[] = ['instance', 'label'];

const isByte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
const inUnit = (v: unknown): string | undefined => (typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'must be a number in [0, 1]');
const boolean = (v: unknown): string | undefined => (typeof v === 'boolean' ? undefined : 'must be true or false');
const integer = (min: number) => (v: unknown): string | undefined => (Number.isInteger(v) && (v as number) >= min ? undefined : `must be an integer >= ${min}`);

const CHECKS: Readonly<Record<keyof OverlayOptions, (v: unknown) => string | undefined>> = {
  scoreThreshold: inUnit,
  alpha: inUnit,
  showBoxes: boolean,
  showMasks: boolean,
  showLabels: boolean,
  lineWidth: integer(1),
  outlineWidth: integer(0),
  textScale: (v) => (v === 'auto' || (Number.isInteger(v) && (v as number) >= 1) ? undefined : "must be 'auto' or an integer >= 1"),
  colorBy: (v) => (COLOR_BY.includes(v as ColorBy) ? undefined : `must be one of ${COLOR_BY.map((c) => `'${c}'`).join(', ')}`),
  palette: (v) =>
    Array.isArray(v) && v.length > 0 && v.every((c) => Array.isArray(c) && c.length === 3 && c.every(isByte))
      ? undefined
      : 'must be a non-empty array of [r, g, b] colours, integers 0-255',
};

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v) || (v !== null && typeof v === 'object')) {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}

/**
 * Checks {@link OverlayOptions} and fills the defaults.
 *
 * @param where the function named in error messages.
 * @throws Error listing every unknown or invalid option with what it must be.
 *
 * @example
 * ```ts
 * resolveOverlayOptions({}).alpha; // 0.5
 * resolveOverlayOptions({ alpha: 2, colorBy: 'score' as ColorBy });
 * // throws: Error in drawDetections: invalid options:
 * //   alpha: must be a number in [0, 1], got 2
 * //   colorBy: must be one of 'instance', 'label', got 'score'
 * ```
 */
export function resolveOverlayOptions(options: OverlayOptions = {}, where = 'drawDetections'): ResolvedOverlayOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`Error in ${where}: options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o)) {
    if (!(OVERLAY_OPTION_NAMES as readonly string[]).includes(k)) problems.push(`${k}: unknown option (valid options: ${OVERLAY_OPTION_NAMES.join(', ')})`);
  }
  for (const k of OVERLAY_OPTION_NAMES) {
    if (o[k] === undefined) continue;
    const why = CHECKS[k](o[k]);
    if (why !== undefined) problems.push(`${k}: ${why}, got ${describe(o[k])}`);
  }
  if (problems.length > 0) throw new Error(`Error in ${where}: invalid options:\n  ${problems.join('\n  ')}`);
  return {
    scoreThreshold: options.scoreThreshold ?? 0,
    alpha: options.alpha ?? 0.5,
    showBoxes: options.showBoxes ?? true,
    showMasks: options.showMasks ?? true,
    showLabels: options.showLabels ?? true,
    lineWidth: options.lineWidth ?? 2,
    outlineWidth: options.outlineWidth ?? 2,
    textScale: options.textScale ?? 'auto',
    colorBy: options.colorBy ?? 'instance',
    palette: options.palette ?? DEFAULT_PALETTE,
  };
}

/**
 * Draws a prediction's detections onto a copy of its image and returns it as RGBA.
 *
 * The image is RGB, RGBA or grayscale pixels (`channels` 3, 4 or 1; default
 * `data.length / (width * height)`), the same size as the prediction was made at. Its pixels are
 * not modified. The picture is opaque for RGB and grayscale input; for RGBA input the alpha
 * channel is kept where nothing is drawn, becomes 255 under boxes, outlines and tags, and
 * `round(255 * alpha + (1 - alpha) * a)` under a mask fill. Masks may be in any
 * {@link MaskFormat}; cropped masks are drawn from their window without expanding them.
 *
 * Colour of detection i: `palette[i % n]` (i its position in `prediction.detections`, so a
 * detection keeps its colour whatever `scoreThreshold` hides) or, with `colorBy: 'label'`,
 * `palette[label % n]`. Boxes cover the pixels `round(x1) .. round(x2) - 1` and
 * `round(y1) .. round(y2) - 1`, their lines drawn inside. A label tag sits on top of its box,
 * left-aligned with it; where there is no room above the box it goes inside it, and it is moved
 * sideways to stay within the image.
 *
 * @throws Error naming the problem: invalid options (all listed), an image whose size differs
 * from the prediction's (both sizes named), a malformed image, box or mask (the detection's index).
 *
 * @example
 * ```ts
 * const [prediction] = await model.predict(pixels); // pixels: { data, width, height } RGB or RGBA
 * const picture = drawDetections(pixels, prediction, { scoreThreshold: 0.5 });
 * ctx.putImageData(new ImageData(picture.data, picture.width, picture.height), 0, 0);
 * ```
 */
export function drawDetections(image: PixelBuffer, prediction: Prediction, options: OverlayOptions = {}): RgbaImage {
  return renderDetections(image, prediction, options, 'drawDetections');
}

/**
 * {@link drawDetections} with the function named in its errors; for the Node writer.
 *
 * @internal
 */
export function renderDetections(image: PixelBuffer, prediction: Prediction, options: OverlayOptions, where: string): RgbaImage {
  const o = resolveOverlayOptions(options, where);
  const picture = toRgba(image, where);
  checkPrediction(prediction, picture, where);
  const { width, height } = picture;

  const dets = prediction.detections;
  dets.forEach((d, i) => checkDetection(d, i, where));
  // Indices of the detections drawn, by increasing score, so that the best ends up on top.
  const drawn = dets
    .map((_, i) => i)
    .filter((i) => dets[i].score >= o.scoreThreshold)
    .sort((a, b) => dets[a].score - dets[b].score || b - a);
  const colorOf = (i: number): RgbColor => paletteColor(o.colorBy === 'label' ? dets[i].label : i, o.palette);

  if (o.showMasks) {
    for (const i of drawn) {
      const window = maskWindow(dets[i].mask, width, height, where, i);
      blendMask(picture, window, colorOf(i), o.alpha);
      outlineMask(picture, window, colorOf(i), o.outlineWidth);
    }
  }
  const pixelBox = (i: number): [number, number, number, number] => {
    const [x1, y1, x2, y2] = dets[i].box.map(Math.round);
    return [x1, y1, Math.max(x1, x2 - 1), Math.max(y1, y2 - 1)];
  };
  if (o.showBoxes) {
    for (const i of drawn) {
      const [left, top, right, bottom] = pixelBox(i);
      strokeRect(picture, left, top, right, bottom, colorOf(i), o.lineWidth);
    }
  }
  if (o.showLabels) {
    const scale = o.textScale === 'auto' ? Math.max(1, Math.floor(Math.min(width, height) / 400)) : o.textScale;
    for (const i of drawn) {
      const d = dets[i];
      const text = `${d.labelName} ${d.score.toFixed(2)}`;
      const tag = measureTextTag(text, scale);
      const [left, top] = pixelBox(i);
      // Above the box; inside it where the box starts too near the top; always within the image.
      let y = top - tag.height >= 0 ? top - tag.height : Math.max(0, top);
      y = Math.max(0, Math.min(y, height - tag.height));
      const x = Math.max(0, Math.min(left, width - tag.width));
      drawTextTag(picture, text, x, y, colorOf(i), scale);
    }
  }
  return picture;
}

/** A copy of the image as RGBA, after checking its size and layout. */
function toRgba(image: PixelBuffer, where: string): RgbaImage {
  if (image === null || typeof image !== 'object') throw new Error(`Error in ${where}: the image must be a pixel buffer { data, width, height, channels? }, got ${describe(image)}`);
  const { data, width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`Error in ${where}: the image size must be positive integers, got ${describe(width)}x${describe(height)}`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new Error(`Error in ${where}: the image data must be a Uint8Array or Uint8ClampedArray, got ${Object.prototype.toString.call(data)}`);
  }
  const pixels = width * height;
  const channels = image.channels ?? data.length / pixels;
  if (![1, 3, 4].includes(channels) || data.length !== pixels * channels) {
    throw new Error(
      `Error in ${where}: the image data of ${data.length} bytes does not hold ${width}x${height} pixels of ${image.channels ?? '1, 3 or 4'} channels`,
    );
  }
  const out = new Uint8ClampedArray(4 * pixels);
  if (channels === 4) {
    out.set(data);
  } else {
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < 3; c++) out[4 * p + c] = data[p * channels + (channels === 1 ? 0 : c)];
      out[4 * p + 3] = 255;
    }
  }
  return { data: out, width, height };
}

function checkPrediction(prediction: Prediction, image: RgbaImage, where: string): void {
  if (prediction === null || typeof prediction !== 'object' || !Array.isArray(prediction.detections)) {
    throw new Error(`Error in ${where}: the prediction must be { width, height, detections: [...] }, got ${describe(prediction)}`);
  }
  if (prediction.width !== image.width || prediction.height !== image.height) {
    throw new Error(
      `Error in ${where}: the image is ${image.width}x${image.height} (width x height) but the prediction was made on a ` +
        `${describe(prediction.width)}x${describe(prediction.height)} image; draw on the image the prediction was made on`,
    );
  }
}

function checkDetection(d: Prediction['detections'][number], i: number, where: string): void {
  const box: unknown = d?.box;
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(`Error in ${where}: detection ${i}: box must be 4 finite numbers [x1, y1, x2, y2], got ${describe(box)}`);
  }
  if (typeof d.score !== 'number' || Number.isNaN(d.score)) throw new Error(`Error in ${where}: detection ${i}: score must be a number, got ${describe(d.score)}`);
  if (!Number.isInteger(d.label)) throw new Error(`Error in ${where}: detection ${i}: label must be an integer, got ${describe(d.label)}`);
  if (typeof d.labelName !== 'string') throw new Error(`Error in ${where}: detection ${i}: labelName must be a string, got ${describe(d.labelName)}`);
}

/**
 * The window of the image a detection's mask covers. A cropped mask is its own window (no copy);
 * a full mask is the whole image; an RLE mask is decoded to the whole image.
 */
function maskWindow(mask: DetectionMask, width: number, height: number, where: string, i: number): MaskWindow {
  const sizeError = (w: unknown, h: unknown): Error =>
    new Error(`Error in ${where}: detection ${i}: its mask is for a ${describe(w)}x${describe(h)} image but the image is ${width}x${height} (width x height)`);
  const dataError = (n: number, got: unknown): Error =>
    new Error(`Error in ${where}: detection ${i}: mask data must be a Uint8Array of ${n} bytes, got ${describe((got as { length?: unknown })?.length)}`);
  switch (mask?.format) {
    case 'cropped': {
      if (mask.imageWidth !== width || mask.imageHeight !== height) throw sizeError(mask.imageWidth, mask.imageHeight);
      const geometry = [mask.x, mask.y, mask.width, mask.height];
      if (!geometry.every((v) => Number.isInteger(v) && v >= 0) || mask.x + mask.width > width || mask.y + mask.height > height) {
        throw new Error(`Error in ${where}: detection ${i}: cropped mask window (${geometry.join(', ')}) is not inside the ${width}x${height} image`);
      }
      if (!(mask.data instanceof Uint8Array) || mask.data.length !== mask.width * mask.height) throw dataError(mask.width * mask.height, mask.data);
      return mask;
    }
    case 'full':
      if (mask.width !== width || mask.height !== height) throw sizeError(mask.width, mask.height);
      if (!(mask.data instanceof Uint8Array) || mask.data.length !== width * height) throw dataError(width * height, mask.data);
      return { x: 0, y: 0, width, height, data: mask.data };
    case 'rle':
      if (!Array.isArray(mask.size) || mask.size[1] !== width || mask.size[0] !== height) throw sizeError(mask.size?.[1], mask.size?.[0]);
      return { x: 0, y: 0, width, height, data: maskToFull(mask) };
    default:
      throw new Error(
        `Error in ${where}: detection ${i}: not a detection mask (format ${describe((mask as { format?: unknown } | undefined)?.format)}; expected 'cropped', 'full' or 'rle')`,
      );
  }
}
