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
  let rcBuf = new Float64Array(0); // [T, nd]
  let prBuf = new Float64Array(0); // [T, nd]
  let matchedBuf = new Uint8Array(0); // [T, nd]
  let ignoreBuf = new Uint8Array(0); // [T, nd]
  for (let k = 0; k < K; k++) {
    // Images present for this category; the same for every area range and maxDet.
    const present: number[] = [];
    for (let i = 0; i < I; i++) if (evalImgs[k * A * I + i] !== null) present.push(i);
    if (present.length === 0) continue;
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m];
      // Concatenate the top-maxDet scores image by image, then sort stably by score descending
      // (np.argsort(-scores, kind='mergesort')): ties keep image order, then within-image order.
      let nd = 0;
      for (const i of present) nd += Math.min(maxDet, (evalImgs[k * A * I + i] as EvalImage).dtScores.length);
      const cat = new Float64Array(nd);
      const srcEntry = new Int32Array(nd);
      const srcDet = new Int32Array(nd);
      let p = 0;
      present.forEach((i, n) => {
        const e = evalImgs[k * A * I + i] as EvalImage;
        const cnt = Math.min(maxDet, e.dtScores.length);
        for (let d = 0; d < cnt; d++, p++) {
          cat[p] = e.dtScores[d];
          srcEntry[p] = n;
          srcDet[p] = d;
        }
      });
      const order = Array.from({ length: nd }, (_, j) => j);
      order.sort((x, y) => cat[y] - cat[x] || x - y);
      if (rcBuf.length < T * nd) {
        rcBuf = new Float64Array(T * nd);
        prBuf = new Float64Array(T * nd);
      }
      for (let a = 0; a < A; a++) {
        const entries = present.map((i) => evalImgs[(k * A + a) * I + i] as EvalImage);
        let npig = 0;
        for (const e of entries) for (let j = 0; j < e.gtIgnore.length; j++) if (e.gtIgnore[j] === 0) npig++;
        if (npig === 0) continue;
        // Flags in concatenation order, [T, nd] (contiguous, so the sorted walk stays in cache).
        if (matchedBuf.length < T * nd) {
          matchedBuf = new Uint8Array(T * nd);
          ignoreBuf = new Uint8Array(T * nd);
        }
        let p0 = 0;
        for (const e of entries) {
          const D = e.dtScores.length;
          const cnt = Math.min(maxDet, D);
          const mt = e.dtMatched;
          const ig = e.dtIgnore;
          for (let t = 0; t < T; t++) {
            const src = t * D;
            const dst = t * nd + p0;
            for (let d = 0; d < cnt; d++) {
              matchedBuf[dst + d] = mt[src + d];
              ignoreBuf[dst + d] = ig[src + d];
            }
          }
          p0 += cnt;
        }
        // Cumulative true / false positives in score order.
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          const off = t * nd;
          for (let q = 0; q < nd; q++) {
            const j = off + order[q];
            if (!ignoreBuf[j]) {
              if (matchedBuf[j]) tp++;
              else fp++;
            }
            rcBuf[off + q] = tp / npig;
            prBuf[off + q] = tp / (fp + tp + EPS);
          }
        }
        for (let t = 0; t < T; t++) {
          const rc = rcBuf.subarray(t * nd, t * nd + nd);
          const pr = prBuf.subarray(t * nd, t * nd + nd);
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          // Interpolated precision: the running maximum from the right.
          for (let q = nd - 1; q > 0; q--) if (pr[q] > pr[q - 1]) pr[q - 1] = pr[q];
          for (let r = 0; r < R; r++) {
            const pi = searchLeft(rc, nd, recThrs[r]);
            // pycocotools stops at the first threshold beyond the reached recall: the rest stay 0.
            if (pi >= nd) {
              for (let r2 = r; r2 < R; r2++) {
                const at2 = (((t * R + r2) * K + k) * A + a) * M + m;
                precision[at2] = 0;
                scores[at2] = 0;
              }
              break;
            }
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            precision[at] = pr[pi];
            scores[at] = cat[order[pi]];
          }
        }
      }
    }
  }
  return { counts: [T, R, K, A, M], precision, recall, scores };
}
