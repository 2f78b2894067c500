/**
 * Area and bounding box of an RLE, as pycocotools' rleArea / rleToBbox.
 */
import { BoxXywh, checkRle, Rle } from './rle';

/**
 * Number of foreground pixels.
 *
 * @example
 * ```ts
 * area({ h: 2, w: 2, counts: [1, 2, 1] }); // 2
 * ```
 */
export function area(rle: Rle): number {
  checkRle(rle, 'area');
  return rleAreaUnchecked(rle.counts);
}

/** {@link area} of counts already checked. */
export function rleAreaUnchecked(counts: ArrayLike<number>): number {
  let a = 0;
  for (let j = 1; j < counts.length; j += 2) a += counts[j];
  return a;
}

/**
 * Tight box `[x, y, w, h]` of the foreground; `[0, 0, 0, 0]` for an empty mask. Same values as
 * pycocotools' `toBbox`, including its rule that a run wrapping to a later column spans the
 * full height.
 *
 * @example
 * ```ts
 * toBbox({ h: 3, w: 3, counts: [4, 1, 4] }); // [1, 1, 1, 1]
 * ```
 */
export function toBbox(rle: Rle): BoxXywh {
  checkRle(rle, 'toBbox');
  return rleBboxUnchecked(rle);
}

/** {@link toBbox} of an RLE already checked. */
export function rleBboxUnchecked(rle: Rle): BoxXywh {
  const h = rle.h;
  const cnts = rle.counts;
  // A trailing run of zeros cannot move the box.
  const m = cnts.length - (cnts.length % 2);
  if (m === 0) return [0, 0, 0, 0];
  let xs = rle.w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += cnts[j];
    // Start of a foreground run (j even) or its last pixel (j odd).
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}
