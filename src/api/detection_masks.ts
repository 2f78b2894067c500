/**
 * The mask of a detection in a {@link Prediction}, in one of three formats chosen with predict's
 * `masks` option, and conversions between them.
 *
 * - `'cropped'` (default): the binary mask inside the window torchvision pastes it into (the
 *   box grown by (M+2)/M = 30/28 about its centre, truncated to integers, clipped to the image).
 *   Every pixel outside the window is 0, so nothing is lost; it costs about 1.15 bytes per pixel
 *   of the box instead of a byte per pixel of the image.
 * - `'full'`: `height * width` bytes, the layout torchvision's and detectron2's `masks` have
 *   (one `[H, W]` plane per detection).
 * - `'rle'`: COCO's compressed RLE `{ size, counts }`, the string pycocotools' `mask.encode`
 *   gives; a few hundred bytes for a typical object.
 */
import { Rle, CompressedRleJson } from '../data/mask/rle';
import { decodeMasksRowMajor } from '../data/mask/encode';
import { rleFromString, toCompressedJson } from '../data/mask/rle_string';

/**
 * The formats of {@link DetectionMask}, as predict's `masks` option names them.
 *
 * @example
 * ```ts
 * const format: MaskFormat = 'rle';
 * const [p] = await model.predict('a.jpg', { masks: format });
 * ```
 */
export type MaskFormat = 'cropped' | 'full' | 'rle';

/**
 * A binary mask as the window of the image it covers; outside the window the mask is 0.
 *
 * @example
 * ```ts
 * const m = detection.mask; // { format: 'cropped', x, y, width, height, data, ... }
 * const inside = m.data[(py - m.y) * m.width + (px - m.x)] === 1; // image pixel (px, py) in the window
 * ```
 */
export interface CroppedMask {
  readonly format: 'cropped';
  /** Left column of the window in image pixels (inclusive). */
  readonly x: number;
  /** Top row of the window in image pixels (inclusive). */
  readonly y: number;
  /** Columns of the window (0 when the box lies outside the image). */
  readonly width: number;
  /** Rows of the window (0 when the box lies outside the image). */
  readonly height: number;
  /** `height * width` bytes, row-major, 1 inside the object. */
  readonly data: Uint8Array;
  /** Width of the image the window lies in. */
  readonly imageWidth: number;
  /** Height of the image the window lies in. */
  readonly imageHeight: number;
}

/**
 * A binary mask of the whole image.
 *
 * @example
 * ```ts
 * const [p] = await model.predict('a.jpg', { masks: 'full' });
 * const m = p.detections[0].mask; // { format: 'full', width, height, data }
 * const inside = m.data[py * m.width + px] === 1;
 * ```
 */
export interface FullMask {
  readonly format: 'full';
  readonly width: number;
  readonly height: number;
  /** `height * width` bytes, row-major, 1 inside the object. */
  readonly data: Uint8Array;
}

/**
 * A binary mask as COCO's compressed RLE (column-major runs, pycocotools' string codec).
 *
 * @example
 * ```ts
 * const [p] = await model.predict('a.jpg', { masks: 'rle' });
 * const { size, counts } = p.detections[0].mask; // COCO's segmentation
 * ```
 */
export interface RleMask {
  readonly format: 'rle';
  /** `[height, width]` of the image. */
  readonly size: [number, number];
  /** pycocotools' compressed counts string. */
  readonly counts: string;
}

/**
 * A detection's mask in any of the {@link MaskFormat}s; `format` tells which.
 *
 * @example
 * ```ts
 * function area(m: DetectionMask): number {
 *   return m.format === 'rle' ? maskToRle(m).counts.reduce((a, c, i) => a + (i % 2 ? c : 0), 0) : m.data.reduce((a, v) => a + v, 0);
 * }
 * ```
 */
export type DetectionMask = CroppedMask | FullMask | RleMask;

/**
 * The mask type predict returns for a `masks` option value.
 *
 * @example
 * ```ts
 * const m: MaskOfFormat<'full'> = { format: 'full', width: 1, height: 1, data: Uint8Array.of(1) };
 * ```
 */
export type MaskOfFormat<F extends MaskFormat> = F extends 'full' ? FullMask : F extends 'rle' ? RleMask : CroppedMask;

function checkCropped(m: CroppedMask, where: string): void {
  const ints = [m.x, m.y, m.width, m.height, m.imageWidth, m.imageHeight];
  if (!ints.every((v) => Number.isInteger(v) && v >= 0) || m.imageWidth < 1 || m.imageHeight < 1) {
    throw new Error(`Error in ${where}: cropped mask geometry must be non-negative integers and a non-empty image, got x ${m.x}, y ${m.y}, ${m.width}x${m.height} in ${m.imageWidth}x${m.imageHeight}`);
  }
  if (m.x + m.width > m.imageWidth || m.y + m.height > m.imageHeight) {
    throw new Error(`Error in ${where}: cropped mask window (${m.x}, ${m.y}, ${m.width}x${m.height}) is outside the ${m.imageWidth}x${m.imageHeight} image`);
  }
  if (!(m.data instanceof Uint8Array) || m.data.length !== m.width * m.height) {
    throw new Error(`Error in ${where}: cropped mask data must be a Uint8Array of ${m.width * m.height} bytes, got ${m.data?.length}`);
  }
}

function checkFull(m: FullMask, where: string): void {
  if (!Number.isInteger(m.width) || !Number.isInteger(m.height) || m.width < 1 || m.height < 1) {
    throw new Error(`Error in ${where}: full mask size must be positive integers, got ${m.width}x${m.height}`);
  }
  if (!(m.data instanceof Uint8Array) || m.data.length !== m.width * m.height) {
    throw new Error(`Error in ${where}: full mask data must be a Uint8Array of ${m.width * m.height} bytes, got ${m.data?.length}`);
  }
}

function formatError(where: string, m: unknown): Error {
  const f = m !== null && typeof m === 'object' ? (m as { format?: unknown }).format : undefined;
  return new Error(`Error in ${where}: not a detection mask (format ${String(f)}; expected 'cropped', 'full' or 'rle')`);
}

/**
 * pycocotools' RLE of a detection's mask, on the whole image (as `mask.encode` of the full mask
 * gives it); a cropped mask is encoded without materialising the full image.
 *
 * @example
 * ```ts
 * const rle = maskToRle(detection.mask); // { h, w, counts: Uint32Array }
 * ```
 */
export function maskToRle(mask: DetectionMask): Rle {
  const where = 'maskToRle';
  if (mask?.format === 'rle') return rleFromString(mask.counts, mask.size[0], mask.size[1]);
  if (mask?.format === 'full') {
    checkFull(mask, where);
    return encodeWindow(mask.data, 0, 0, mask.width, mask.height, mask.height, mask.width);
  }
  if (mask?.format === 'cropped') {
    checkCropped(mask, where);
    return encodeWindow(mask.data, mask.x, mask.y, mask.width, mask.height, mask.imageHeight, mask.imageWidth);
  }
  throw formatError(where, mask);
}

/**
 * COCO's compressed RLE `{ size, counts }` of a detection's mask: pycocotools' `mask.encode`
 * string for the same mask, whatever its format.
 *
 * @example
 * ```ts
 * const segmentation = maskToCocoRle(detection.mask); // { size: [h, w], counts: '...' }
 * ```
 */
export function maskToCocoRle(mask: DetectionMask): CompressedRleJson {
  if (mask?.format === 'rle') return { size: [mask.size[0], mask.size[1]], counts: mask.counts };
  return toCompressedJson(maskToRle(mask));
}

/**
 * A detection's mask as `height * width` bytes of the whole image, row-major.
 *
 * @example
 * ```ts
 * const full = maskToFull(detection.mask); // Uint8Array(imageHeight * imageWidth)
 * ```
 */
export function maskToFull(mask: DetectionMask): Uint8Array {
  const where = 'maskToFull';
  if (mask?.format === 'full') {
    checkFull(mask, where);
    return mask.data;
  }
  if (mask?.format === 'cropped') {
    checkCropped(mask, where);
    const out = new Uint8Array(mask.imageHeight * mask.imageWidth);
    for (let r = 0; r < mask.height; r++) {
      out.set(mask.data.subarray(r * mask.width, (r + 1) * mask.width), (mask.y + r) * mask.imageWidth + mask.x);
    }
    return out;
  }
  if (mask?.format === 'rle') {
    const [h, w] = mask.size;
    return decodeMasksRowMajor([rleFromString(mask.counts, h, w)], h, w);
  }
  throw formatError(where, mask);
}

/**
 * Column-major runs (COCO's order) of an `h x w` image that is 0 except for a row-major
 * `cw x ch` window at (cx, cy): the same counts as `fromMaskRowMajor` of the pasted image.
 */
function encodeWindow(data: Uint8Array, cx: number, cy: number, cw: number, ch: number, h: number, w: number): Rle {
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  const add = (v: number, n: number): void => {
    if (n === 0) return;
    if (v !== prev) {
      runs.push(run);
      run = 0;
      prev = v;
    }
    run += n;
  };
  add(0, cx * h);
  for (let c = 0; c < cw; c++) {
    add(0, cy);
    for (let r = 0; r < ch; r++) add(data[r * cw + c] !== 0 ? 1 : 0, 1);
    add(0, h - cy - ch);
  }
  add(0, (w - cx - cw) * h);
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}
