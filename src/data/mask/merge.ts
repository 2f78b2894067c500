/**
 * Union or intersection of RLEs without decoding, as pycocotools' rleMerge.
 */
import { checkRle, Rle } from './rle';

/** Merges two well-formed RLEs of the same size (the inner loop of rleMerge). */
function mergeTwo(A: ArrayLike<number>, B: ArrayLike<number>, intersect: boolean): number[] {
  const out: number[] = [];
  let ca = A[0];
  let cb = B[0];
  let va = false;
  let vb = false;
  let v = false;
  let a = 1;
  let b = 1;
  let cc = 0;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    cc += c;
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++];
      vb = !vb;
    }
    ct += cb;
    const vp: boolean = v;
    v = intersect ? va && vb : va || vb;
    if (v !== vp || ct === 0) {
      out.push(cc);
      cc = 0;
    }
  }
  return out;
}

/**
 * Union (default) or intersection of RLEs that share one size; the counts are identical to
 * pycocotools' `merge`. One RLE is returned as a copy.
 *
 * @example
 * ```ts
 * const a = { h: 2, w: 2, counts: [0, 1, 3] };
 * const b = { h: 2, w: 2, counts: [3, 1] };
 * merge([a, b]).counts;       // Uint32Array [0, 1, 2, 1]
 * merge([a, b], true).counts; // Uint32Array [4]
 * ```
 */
export function merge(rles: Rle[], intersect = false): Rle {
  if (!Array.isArray(rles) || rles.length === 0) {
    throw new Error('Error in merge: needs at least one RLE');
  }
  rles.forEach((r, i) => checkRle(r, `merge (rles[${i}])`));
  const { h, w } = rles[0];
  for (let i = 1; i < rles.length; i++) {
    if (rles[i].h !== h || rles[i].w !== w) {
      throw new Error(`Error in merge: rles[${i}] is ${rles[i].h}x${rles[i].w}, rles[0] is ${h}x${w}`);
    }
  }
  let cnts: ArrayLike<number> = rles[0].counts;
  for (let i = 1; i < rles.length; i++) cnts = mergeTwo(cnts, rles[i].counts, intersect);
  return { h, w, counts: Uint32Array.from(cnts) };
}
