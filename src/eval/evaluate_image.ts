/**
 * Greedy matching of one image and category at one area range, as pycocotools'
 * `COCOeval.evaluateImg`.
 *
 * Shorthand: T IoU thresholds, D detections (score-sorted, at most maxDets[-1]), G ground truths.
 */

/**
 * Per image, category and area range result (pycocotools' evalImgs entry). Flags are
 * row-major [T, D]; ground truths are in pycocotools' order (not ignored first).
 *
 * @example
 * ```ts
 * // matched detections at IoU 0.5 (t = 0) of one entry:
 * const hits = [...e.dtIds].filter((_, d) => e.dtMatched[0 * e.dtIds.length + d] === 1);
 * ```
 */
export interface EvalImage {
  readonly imageId: number;
  readonly categoryId: number;
  readonly areaRng: readonly [number, number];
  readonly maxDet: number;
  /** Detection ids (1..N), highest score first. */
  readonly dtIds: Uint32Array;
  readonly dtScores: Float64Array;
  /** `[T, D]`: 1 where the detection matched a ground truth (pycocotools' dtMatches != 0). */
  readonly dtMatched: Uint8Array;
  /** `[T, D]`: 1 where the detection is ignored (matched to an ignored gt, or unmatched and outside the area range). */
  readonly dtIgnore: Uint8Array;
  /** Ground-truth ids, not-ignored first (stable). */
  readonly gtIds: Float64Array;
  /** `[G]`: 1 where the ground truth is ignored (crowd, or area outside the range). */
  readonly gtIgnore: Uint8Array;
}

/**
 * Hands out small typed arrays as views of large chunks: COCO val makes over a million
 * per-image results, and a separate ArrayBuffer for each would cost more than the flags.
 */
export class ArrayPool {
  private u8 = new Uint8Array(0);
  private u8Used = 0;
  private f64 = new Float64Array(0);
  private f64Used = 0;

  /** Zeroed Uint8Array of length n. */
  bytes(n: number): Uint8Array {
    if (this.u8Used + n > this.u8.length) {
      this.u8 = new Uint8Array(Math.max(n, 1 << 20));
      this.u8Used = 0;
    }
    const out = this.u8.subarray(this.u8Used, this.u8Used + n);
    this.u8Used += n;
    return out;
  }

  /** Zeroed Float64Array of length n. */
  doubles(n: number): Float64Array {
    if (this.f64Used + n > this.f64.length) {
      this.f64 = new Float64Array(Math.max(n, 1 << 16));
      this.f64Used = 0;
    }
    const out = this.f64.subarray(this.f64Used, this.f64Used + n);
    this.f64Used += n;
    return out;
  }
}

const defaultPool = { bytes: (n: number) => new Uint8Array(n), doubles: (n: number) => new Float64Array(n) };

/** Inputs of {@link evaluateImage} for one image and category. */
export interface ImageCategoryData {
  readonly imageId: number;
  readonly categoryId: number;
  readonly dtIds: Uint32Array;
  readonly dtScores: Float64Array;
  readonly dtAreas: Float64Array;
  readonly gtIds: Float64Array;
  readonly gtAreas: Float64Array;
  readonly gtCrowd: Uint8Array;
  /** [D][G] IoU, gt in input order; empty when D or G is 0. */
  readonly ious: Float64Array[];
}

/**
 * Matches score-sorted detections to ground truths at every IoU threshold for one area range.
 *
 * @example
 * ```ts
 * const e = evaluateImage(data, [0, 1e10], 100, [0.5, 0.75]);
 * e.dtMatched; // [2, D] flags
 * ```
 */
export function evaluateImage(
  data: ImageCategoryData,
  aRng: readonly [number, number],
  maxDet: number,
  iouThrs: readonly number[],
  pool: Pick<ArrayPool, 'bytes' | 'doubles'> = defaultPool,
): EvalImage {
  const G = data.gtIds.length;
  const D = data.dtIds.length;
  const T = iouThrs.length;
  // Ignore flag per gt, then a stable sort putting ignored gts last (np.argsort kind='mergesort').
  const ignoreOf = new Uint8Array(G);
  for (let g = 0; g < G; g++) {
    const a = data.gtAreas[g];
    ignoreOf[g] = data.gtCrowd[g] || a < aRng[0] || a > aRng[1] ? 1 : 0;
  }
  const gtind: number[] = [];
  for (let g = 0; g < G; g++) if (!ignoreOf[g]) gtind.push(g);
  for (let g = 0; g < G; g++) if (ignoreOf[g]) gtind.push(g);
  const gtIds = pool.doubles(G);
  const gtIg = pool.bytes(G);
  const crowd = new Uint8Array(G);
  for (let j = 0; j < G; j++) {
    gtIds[j] = data.gtIds[gtind[j]];
    gtIg[j] = ignoreOf[gtind[j]];
    crowd[j] = data.gtCrowd[gtind[j]];
  }
  const dtMatched = pool.bytes(T * D);
  const dtIgnore = pool.bytes(T * D);
  if (D > 0 && G > 0) {
    const gtMatched = new Uint8Array(G);
    for (let t = 0; t < T; t++) {
      gtMatched.fill(0);
      for (let d = 0; d < D; d++) {
        const row = data.ious[d];
        let iou = Math.min(iouThrs[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          // A gt already matched can match again only if it is a crowd region.
          if (gtMatched[g] && !crowd[g]) continue;
          // Once matched to a regular gt, stop at the ignored ones (they are sorted last).
          if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
          const v = row[gtind[g]];
          if (v < iou) continue;
          iou = v;
          m = g;
        }
        if (m === -1) continue;
        dtIgnore[t * D + d] = gtIg[m];
        // pycocotools stores the gt id and tests it for non-zero: a gt with id 0 counts unmatched.
        dtMatched[t * D + d] = gtIds[m] !== 0 ? 1 : 0;
        gtMatched[m] = 1;
      }
    }
  }
  // Unmatched detections outside the area range are ignored.
  for (let d = 0; d < D; d++) {
    const a = data.dtAreas[d];
    if (!(a < aRng[0] || a > aRng[1])) continue;
    for (let t = 0; t < T; t++) if (!dtMatched[t * D + d]) dtIgnore[t * D + d] = 1;
  }
  return {
    imageId: data.imageId,
    categoryId: data.categoryId,
    areaRng: aRng,
    maxDet,
    dtIds: data.dtIds,
    dtScores: data.dtScores,
    dtMatched,
    dtIgnore,
    gtIds,
    gtIgnore: gtIg,
  };
}
