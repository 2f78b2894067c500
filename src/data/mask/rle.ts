/**
 * Run-length encoded masks in COCO's layout, and the checks every entry point shares.
 *
 * Shorthand: a mask is `h x w` pixels stored column-major (index `x * h + y`, Fortran order, as
 * COCO and pycocotools' maskApi.c do). An RLE lists alternating run lengths of 0s and 1s along
 * that order, always starting with a (possibly empty) run of 0s, and the runs sum to `h * w`.
 */

/**
 * Uncompressed RLE in memory: column-major run lengths, starting with a run of zeros.
 *
 * @example
 * ```ts
 * // 2x2 mask with only pixel (x=1, y=1) set: column-major bits 0,0,0,1
 * const rle: Rle = { h: 2, w: 2, counts: Uint32Array.of(3, 1) };
 * ```
 */
export interface Rle {
  readonly h: number;
  readonly w: number;
  readonly counts: Uint32Array | number[];
}

/**
 * Compressed RLE as it appears in COCO json (`size` is `[h, w]`, `counts` is the
 * pycocotools string codec, see {@link rleToString}).
 *
 * @example
 * ```ts
 * const seg: CompressedRleJson = { size: [2, 2], counts: '31' };
 * ```
 */
export interface CompressedRleJson {
  size: [number, number];
  counts: string;
}

/**
 * Uncompressed RLE as it appears in COCO json (crowd annotations): `size` is `[h, w]`.
 *
 * @example
 * ```ts
 * const seg: UncompressedRleJson = { size: [2, 2], counts: [3, 1] };
 * ```
 */
export interface UncompressedRleJson {
  size: [number, number];
  counts: number[];
}

/**
 * A COCO annotation's `segmentation`: a list of polygons `[x0, y0, x1, y1, ...]` (pixel
 * coordinates), or an RLE in compressed or uncompressed form.
 *
 * @example
 * ```ts
 * const square: Segmentation = [[0, 0, 0, 4, 4, 4, 4, 0]];
 * ```
 */
export type Segmentation = number[][] | CompressedRleJson | UncompressedRleJson;

/**
 * Box as COCO writes it: `[x, y, width, height]` in pixels.
 *
 * @example
 * ```ts
 * const box: BoxXywh = [10, 20, 30, 40]; // x 10..40, y 20..60
 * ```
 */
export type BoxXywh = [number, number, number, number];

/** Throws unless `h` and `w` are positive integers (`where` names the caller). */
export function checkSize(h: number, w: number, where: string): void {
  if (!Number.isInteger(h) || h <= 0 || !Number.isInteger(w) || w <= 0) {
    throw new Error(`Error in ${where}: size must be two positive integers h, w; got h=${h}, w=${w}`);
  }
  if (h * w > 0xffffffff) {
    throw new Error(`Error in ${where}: h*w=${h * w} exceeds the 32-bit run lengths of COCO RLE`);
  }
}

/**
 * Throws unless `rle` is well formed: positive integer size, non-negative integer counts that
 * sum to `h * w`. `where` names the caller (and the entry) in the message.
 */
export function checkRle(rle: Rle, where: string): void {
  if (rle === null || typeof rle !== 'object' || rle.counts === undefined) {
    throw new Error(`Error in ${where}: expected an Rle {h, w, counts}, got ${String(rle)}`);
  }
  checkSize(rle.h, rle.w, where);
  const counts = rle.counts;
  let sum = 0;
  if (counts instanceof Uint32Array) {
    for (let i = 0; i < counts.length; i++) sum += counts[i];
  } else {
    if (!Array.isArray(counts)) {
      throw new Error(`Error in ${where}: counts must be a Uint32Array or number[]`);
    }
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i];
      if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) {
        throw new Error(`Error in ${where}: counts[${i}] = ${c} is not a non-negative 32-bit integer`);
      }
      sum += c;
    }
  }
  if (sum !== rle.h * rle.w) {
    throw new Error(
      `Error in ${where}: counts sum to ${sum} but the mask has h*w = ${rle.h}*${rle.w} = ${rle.h * rle.w} pixels`,
    );
  }
}
