/**
 * Intersection over union of masks and boxes, with COCO's crowd rule, as pycocotools' iou().
 *
 * Shorthand: D detections, G ground truths; results are [D][G]. For a crowd ground truth the
 * union is the detection's own area (a detection inside a crowd region scores 1).
 */
import { rleBboxUnchecked, rleAreaUnchecked } from './geometry';
import { BoxXywh, checkRle, Rle } from './rle';

function checkCrowd(iscrowd: boolean[], g: number, where: string): void {
  if (!Array.isArray(iscrowd) || iscrowd.length !== g) {
    throw new Error(`Error in ${where}: iscrowd must have one flag per gt (${g}), got ${iscrowd?.length}`);
  }
}

/** bbIou on boxes known to be valid: [D][G]. */
export function bboxIouUnchecked(dt: ArrayLike<number>[], gt: ArrayLike<number>[], iscrowd: ArrayLike<boolean | number>): Float64Array[] {
  const out: Float64Array[] = [];
  for (let d = 0; d < dt.length; d++) {
    const D = dt[d];
    const da = D[2] * D[3];
    const row = new Float64Array(gt.length);
    for (let g = 0; g < gt.length; g++) {
      const G = gt[g];
      const w = Math.min(D[2] + D[0], G[2] + G[0]) - Math.max(D[0], G[0]);
      if (w <= 0) continue;
      const h = Math.min(D[3] + D[1], G[3] + G[1]) - Math.max(D[1], G[1]);
      if (h <= 0) continue;
      const i = w * h;
      const u = iscrowd[g] ? da : da + G[2] * G[3] - i;
      row[g] = i / u;
    }
    out.push(row);
  }
  return out;
}

/**
 * IoU of every detection box with every ground-truth box (`[x, y, w, h]`), [D][G]. For a crowd
 * gt the union is the detection's area.
 *
 * @example
 * ```ts
 * bboxIou([[0, 0, 2, 2]], [[1, 0, 2, 2]], [false]); // [Float64Array [0.333...]]
 * ```
 */
export function bboxIou(dt: BoxXywh[], gt: BoxXywh[], iscrowd: boolean[]): Float64Array[] {
  checkCrowd(iscrowd, gt.length, 'bboxIou');
  const check = (boxes: BoxXywh[], name: string): void =>
    boxes.forEach((b, i) => {
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`Error in bboxIou: ${name}[${i}] must be 4 finite numbers [x, y, w, h]`);
      }
    });
  check(dt, 'dt');
  check(gt, 'gt');
  return bboxIouUnchecked(dt, gt, iscrowd);
}

/** rleIou on RLEs known to be valid: [D][G]; -1 where the sizes differ (as pycocotools). */
export function rleIouUnchecked(dt: Rle[], gt: Rle[], iscrowd: ArrayLike<boolean | number>): Float64Array[] {
  // pycocotools computes the box IoU first and only walks the runs where boxes overlap.
  const out = bboxIouUnchecked(dt.map(rleBboxUnchecked), gt.map(rleBboxUnchecked), iscrowd);
  for (let g = 0; g < gt.length; g++) {
    const B = gt[g].counts;
    const kb = B.length;
    for (let d = 0; d < dt.length; d++) {
      if (!(out[d][g] > 0)) continue;
      if (dt[d].h !== gt[g].h || dt[d].w !== gt[g].w) {
        out[d][g] = -1;
        continue;
      }
      const A = dt[d].counts;
      const ka = A.length;
      let ca = A[0];
      let cb = B[0];
      let va = false;
      let vb = false;
      let a = 1;
      let b = 1;
      let inter = 0;
      let union = 0;
      let ct = 1;
      while (ct > 0) {
        const c = ca < cb ? ca : cb;
        if (va || vb) {
          union += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = A[a++];
          va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = B[b++];
          vb = !vb;
        }
        ct += cb;
      }
      if (inter === 0) union = 1;
      else if (iscrowd[g]) union = rleAreaUnchecked(A);
      out[d][g] = inter / union;
    }
  }
  return out;
}

/**
 * Mask IoU of every detection RLE with every ground-truth RLE, [D][G], equal to pycocotools'
 * `iou(dt, gt, iscrowd)`: for a crowd gt the union is the detection's area; -1 where the two
 * masks have different sizes.
 *
 * @example
 * ```ts
 * const a = { h: 2, w: 2, counts: [0, 2, 2] };
 * const b = { h: 2, w: 2, counts: [1, 2, 1] };
 * rleIou([a], [b], [false]); // [Float64Array [0.333...]]
 * rleIou([a], [b], [true]);  // [Float64Array [0.5]]
 * ```
 */
export function rleIou(dt: Rle[], gt: Rle[], iscrowd: boolean[]): Float64Array[] {
  checkCrowd(iscrowd, gt.length, 'rleIou');
  dt.forEach((r, i) => checkRle(r, `rleIou (dt[${i}])`));
  gt.forEach((r, i) => checkRle(r, `rleIou (gt[${i}])`));
  return rleIouUnchecked(dt, gt, iscrowd);
}
