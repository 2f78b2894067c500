/**
 * Precision / recall accumulation over images, as pycocotools' `COCOeval.accumulate`.
 *
 * Shorthand: T IoU thresholds, R recall thresholds, K categories, A area ranges, M maxDets.
 * Arrays are flat in numpy's C order: precision[t, r, k, a, m] is at
 * `(((t * R + r) * K + k) * A + a) * M + m`, recall[t, k, a, m] at `((t * K + k) * A + a) * M + m`.
 */
import type { EvalImage } from './evaluate_image';

/** np.spacing(1): added to the precision denominator, as pycocotools does. */
const EPS = 2.220446049250313e-16;

/**
 * Accumulated results. -1 marks settings without ground truth (as pycocotools).
 *
 * @example
 * ```ts
 * const { precision, counts: [T, R, K, A, M] } = acc;
 * const ap50 = precision[(((0 * R + 50) * K + 0) * A + 0) * M + (M - 1)];
 * ```
 */
export interface Accumulated {
  /** [T, R, K, A, M]. */
  readonly counts: readonly [number, number, number, number, number];
  /** [T, R, K, A, M] interpolated precision at each recall threshold. */
  readonly precision: Float64Array;
  /** [T, K, A, M] maximum recall. */
  readonly recall: Float64Array;
  /** [T, R, K, A, M] detection score at each recall threshold. */
  readonly scores: Float64Array;
}

/** First index i with sorted[i] >= v (np.searchsorted side='left'). */
function searchLeft(sorted: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Accumulates `evalImgs` laid out as pycocotools does (index `(k * A + a) * I + i`, null where
 * an image has neither gt nor dt for the category).
 *
 * @example
 * ```ts
 * const acc = accumulate(evalImgs, { T: 10, R: 101, K: 80, A: 4, I: 5000 }, iouThrs, recThrs, [1, 10, 100]);
 * ```
 */
export function accumulate(
  evalImgs: readonly (EvalImage | null)[],
  dims: { T: number; K: number; A: number; I: number },
  recThrs: readonly number[],
  maxDets: readonly number[],
): Accumulated {
  const { T, K, A, I } = dims;
  const R = recThrs.length;
  const M = maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const rc = new Float64Array(0);
  let rcBuf = rc;
  let prBuf = rc;
  for (let k = 0; k < K; k++) {
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m];
      // Entries present for this category; the same images for every area range.
      const present: number[] = [];
      for (let i = 0; i < I; i++) if (evalImgs[k * A * I + i] !== null) present.push(i);
      if (present.length === 0) continue;
      // Concatenate the top-maxDet scores image by image, then sort stably by score descending
      // (np.argsort(-scores, kind='mergesort')): ties keep image order, then within-image order.
      let nd = 0;
      for (const i of present) nd += Math.min(maxDet, (evalImgs[k * A * I + i] as EvalImage).dtScores.length);
      const cat = new Float64Array(nd);
      const srcImg = new Int32Array(nd);
      const srcDet = new Int32Array(nd);
      let p = 0;
      for (const i of present) {
        const e = evalImgs[k * A * I + i] as EvalImage;
        const n = Math.min(maxDet, e.dtScores.length);
        for (let d = 0; d < n; d++, p++) {
          cat[p] = e.dtScores[d];
          srcImg[p] = i;
          srcDet[p] = d;
        }
      }
      const order = Array.from({ length: nd }, (_, j) => j);
      order.sort((x, y) => cat[y] - cat[x] || x - y);
      if (rcBuf.length < nd) {
        rcBuf = new Float64Array(nd);
        prBuf = new Float64Array(nd);
      }
      for (let a = 0; a < A; a++) {
        const base = (k * A + a) * I;
        let npig = 0;
        for (const i of present) {
          const g = (evalImgs[base + i] as EvalImage).gtIgnore;
          for (let j = 0; j < g.length; j++) if (g[j] === 0) npig++;
        }
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          for (let q = 0; q < nd; q++) {
            const j = order[q];
            const e = evalImgs[base + srcImg[j]] as EvalImage;
            const idx = t * e.dtIds.length + srcDet[j];
            if (!e.dtIgnore[idx]) {
              if (e.dtMatched[idx]) tp++;
              else fp++;
            }
            rcBuf[q] = tp / npig;
            prBuf[q] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rcBuf[nd - 1] : 0;
          // Interpolated precision: the running maximum from the right.
          for (let q = nd - 1; q > 0; q--) if (prBuf[q] > prBuf[q - 1]) prBuf[q - 1] = prBuf[q];
          for (let r = 0; r < R; r++) {
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            const pi = searchLeft(rcBuf, nd, recThrs[r]);
            // pycocotools stops at the first threshold beyond the reached recall: the rest stay 0.
            if (pi >= nd) {
              for (let r2 = r; r2 < R; r2++) {
                const at2 = (((t * R + r2) * K + k) * A + a) * M + m;
                precision[at2] = 0;
                scores[at2] = 0;
              }
              break;
            }
            precision[at] = prBuf[pi];
            scores[at] = cat[order[pi]];
          }
        }
      }
    }
  }
  return { counts: [T, R, K, A, M], precision, recall, scores };
}
