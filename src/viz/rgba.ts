/**
 * RGBA pictures from plain data: a blank canvas, an image from HWC pixel values (uint8 or float,
 * normalised or not, e.g. a transformed batch image read back from its tensor), a copy, a
 * nearest-neighbour resize and pasting one picture into another.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import type { RgbaImage } from './draw';
import { checkOptions, describeValue, OPTION_CHECKS } from './options';
import type { RgbColor } from './palette';

/**
 * A `width x height` picture of one colour, opaque unless `alpha` says otherwise. Either side may
 * be 0 (an empty picture).
 *
 * @throws Error when a side is not an integer >= 0.
 * @example
 * ```ts
 * const canvas = blankImage(64, 48, [255, 255, 255]); // white
 * ```
 */
export function blankImage(width: number, height: number, color: RgbColor = [0, 0, 0], alpha = 255): RgbaImage {
  checkSize(width, height, 'blankImage');
  const data = new Uint8ClampedArray(4 * width * height);
  const px = [color[0], color[1], color[2], alpha];
  for (let i = 0; i < data.length; i += 4) data.set(px, i);
  return { data, width, height };
}

/**
 * Checks a picture size: integers >= 0.
 *
 * @internal
 * @example
 * ```ts
 * checkSize(0, 4, 'blankImage'); // fine: an empty picture
 * ```
 */
export function checkSize(width: number, height: number, where: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`Error in ${where}: the size must be integers >= 0, got ${describeValue(width)}x${describeValue(height)}`);
  }
}

/**
 * Checks that `image` is an {@link RgbaImage}: integer sides and `4 * width * height` bytes.
 *
 * @internal
 * @example
 * ```ts
 * checkRgbaImage(picture, 'drawBoxes');
 * ```
 */
export function checkRgbaImage(image: RgbaImage, where: string): void {
  if (image === null || typeof image !== 'object') throw new Error(`Error in ${where}: the image must be an RGBA picture { data, width, height }, got ${describeValue(image)}`);
  checkSize(image.width, image.height, where);
  if (!(image.data instanceof Uint8ClampedArray) || image.data.length !== 4 * image.width * image.height) {
    throw new Error(
      `Error in ${where}: the image data must be a Uint8ClampedArray of ${4 * image.width * image.height} bytes (RGBA ${image.width}x${image.height}), got ${describeValue(image.data)}`,
    );
  }
}

/**
 * A copy of a picture (new pixel buffer).
 *
 * @example
 * ```ts
 * const layer = copyImage(base);
 * ```
 */
export function copyImage(image: RgbaImage): RgbaImage {
  return { data: new Uint8ClampedArray(image.data), width: image.width, height: image.height };
}

/**
 * Options of {@link toRgbaImage}.
 *
 * @example
 * ```ts
 * // A transformed image: ImageNet-normalised floats.
 * const options: ToRgbaOptions = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], range: [0, 1] };
 * ```
 */
export interface ToRgbaOptions {
  /** Values per pixel: 1 (grey), 3 (RGB) or 4 (RGBA); default `data.length / (width * height)`. */
  channels?: 1 | 3 | 4;
  /**
   * The values that become 0 and 255 (linearly between, clamped outside); default `[0, 255]` for
   * integer arrays (`Uint8Array`, `Int32Array`, ...) and `[0, 1]` for `Float32Array`,
   * `Float64Array` and plain number arrays.
   */
  range?: readonly [number, number];
  /** Undo a normalisation first: each colour channel becomes `value * std + mean`; default none. */
  mean?: readonly [number, number, number];
  /** See `mean`; default `[1, 1, 1]` when `mean` is given. */
  std?: readonly [number, number, number];
}

const triple = (v: unknown): string | undefined =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? undefined : 'must be 3 finite numbers';

/**
 * An RGBA picture from HWC pixel values (row-major, channels last: what `tensor.dataSync()` of a
 * `[H, W, C]` image gives). Each value `v` of a colour channel becomes
 * `round(255 * (v' - lo) / (hi - lo))` clamped to 0-255, where `v' = v * std + mean` (or `v`
 * without a normalisation) and `[lo, hi]` is `range`; NaN becomes 0. Grey input is copied to
 * R, G and B; alpha is 255 unless the input has a fourth channel (mapped through `range`).
 *
 * @throws Error naming the problem: a size that is not integers >= 0, a data length that does
 * not hold `width x height` pixels of the channels, or invalid options (all listed).
 * @example
 * ```ts
 * const image = batch.images.slice([0, 0, 0, 0], [1, h, w, 3]); // normalised [1, h, w, 3]
 * const picture = toRgbaImage(image.dataSync(), w, h, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * ```
 */
export function toRgbaImage(data: ArrayLike<number>, width: number, height: number, options?: ToRgbaOptions): RgbaImage {
  const where = 'toRgbaImage';
  const o = checkOptions<ToRgbaOptions>(
    options,
    {
      channels: (v) => ([1, 3, 4].includes(v as number) ? undefined : 'must be 1, 3 or 4'),
      range: OPTION_CHECKS.range,
      mean: triple,
      std: triple,
    },
    where,
  );
  checkSize(width, height, where);
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new Error(`Error in ${where}: data must be an array or typed array of pixel values, got ${describeValue(data)}`);
  }
  const pixels = width * height;
  const channels = o.channels ?? (pixels === 0 ? 3 : data.length / pixels);
  if (![1, 3, 4].includes(channels) || data.length !== pixels * channels) {
    throw new Error(`Error in ${where}: ${data.length} values do not hold ${width}x${height} pixels of ${o.channels ?? '1, 3 or 4'} channels`);
  }
  const isFloat = Array.isArray(data) || data instanceof Float32Array || data instanceof Float64Array;
  const [lo, hi] = o.range ?? (isFloat ? [0, 1] : [0, 255]);
  const mean = o.mean ?? [0, 0, 0];
  const std = o.std ?? [1, 1, 1];
  const k = 255 / (hi - lo);
  const byte = (v: number): number => (Number.isNaN(v) ? 0 : Math.round((v - lo) * k));
  const out = new Uint8ClampedArray(4 * pixels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) out[4 * p + c] = byte(data[p * channels + (channels === 1 ? 0 : c)] * std[c] + mean[c]);
    out[4 * p + 3] = channels === 4 ? byte(data[p * channels + 3]) : 255;
  }
  return { data: out, width, height };
}

/**
 * `image` scaled to `width x height` by nearest neighbour: pixel (x, y) takes source pixel
 * `(floor((x + 0.5) * sw / width), floor((y + 0.5) * sh / height))` (torch's `'nearest-exact'`),
 * so an integer factor repeats each pixel in a `k x k` block.
 *
 * @example
 * ```ts
 * const big = resizeNearest(mask28, 112, 112); // each mask pixel a 4x4 block
 * ```
 */
export function resizeNearest(image: RgbaImage, width: number, height: number): RgbaImage {
  checkSize(width, height, 'resizeNearest');
  const { width: sw, height: sh, data: src } = image;
  const out = new Uint8ClampedArray(4 * width * height);
  if (sw === 0 || sh === 0) return { data: out, width, height };
  const cols = Int32Array.from({ length: width }, (_, x) => Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / width)));
  for (let y = 0; y < height; y++) {
    const row = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / height)) * sw;
    for (let x = 0; x < width; x++) out.set(src.subarray(4 * (row + cols[x]), 4 * (row + cols[x]) + 4), 4 * (y * width + x));
  }
  return { data: out, width, height };
}

/**
 * Copies `source` into `target` with its top-left pixel at (x, y), all four channels (no
 * blending), clipped to `target`.
 *
 * @example
 * ```ts
 * pasteImage(sheet, tile, 4, 4);
 * ```
 */
export function pasteImage(target: RgbaImage, source: RgbaImage, x: number, y: number): void {
  const [x0, y0] = [Math.round(x), Math.round(y)];
  const c0 = Math.max(0, -x0);
  const c1 = Math.min(source.width, target.width - x0);
  if (c1 <= c0) return;
  for (let r = Math.max(0, -y0); r < Math.min(source.height, target.height - y0); r++) {
    const from = 4 * (r * source.width + c0);
    target.data.set(source.data.subarray(from, from + 4 * (c1 - c0)), 4 * ((y0 + r) * target.width + x0 + c0));
  }
}
