/** Matching of box sets for the parity tests (torchvision's vs ours). */

export interface BoxSet {
  boxes: ArrayLike<number>; // [n * 4] xyxy
  labels?: ArrayLike<number>;
  scores?: ArrayLike<number>;
}

export interface MatchCriteria {
  minIou: number;
  /** When set, labels must be equal and |score difference| at most this. */
  maxScoreDiff?: number;
}

function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ix = Math.max(0, Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]));
  const iy = Math.max(0, Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]));
  const inter = ix * iy;
  const area = (x: ArrayLike<number>, k: number) => (x[4 * k + 2] - x[4 * k]) * (x[4 * k + 3] - x[4 * k + 1]);
  const union = area(a, i) + area(b, j) - inter;
  return union > 0 ? inter / union : a[4 * i] === b[4 * j] && a[4 * i + 1] === b[4 * j + 1] ? 1 : 0;
}

/**
 * For each element of `from`, the index of an unused element of `to` that matches it (best IoU
 * first), or -1. One-to-one, so duplicates on one side cannot hide a miss on the other.
 */
export function matchBoxSets(from: BoxSet, to: BoxSet, c: MatchCriteria): Int32Array {
  const n = from.boxes.length / 4;
  const m = to.boxes.length / 4;
  const used = new Uint8Array(m);
  const out = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestIou = c.minIou;
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      if (c.maxScoreDiff !== undefined) {
        if (from.labels![i] !== to.labels![j]) continue;
        if (Math.abs(from.scores![i] - to.scores![j]) > c.maxScoreDiff) continue;
      }
      const v = iou(from.boxes, i, to.boxes, j);
      if (v >= bestIou) {
        best = j;
        bestIou = v;
      }
    }
    if (best >= 0) {
      used[best] = 1;
      out[i] = best;
    }
  }
  return out;
}

/** Fraction of `from` matched in `to`. */
export function matchedFraction(from: BoxSet, to: BoxSet, c: MatchCriteria): number {
  const m = matchBoxSets(from, to, c);
  return m.length === 0 ? 1 : m.filter((j) => j >= 0).length / m.length;
}
