/**
 * Non-maximum suppression with torchvision 0.14's CPU semantics, on typed arrays.
 *
 * Shapes: N boxes, xyxy in absolute pixels, flattened row-major (`boxes[4*i .. 4*i+3]`).
 *
 * We do not use `tf.image.nonMaxSuppression`: it suppresses at `IoU >= threshold` (torchvision:
 * `IoU > threshold`), computes IoU in float64 (torchvision: float32, compared with the threshold
 * as a double), drops boxes whose score is not above a score threshold and treats empty boxes as
 * IoU 0. Each of those changes which proposals survive, so this file is a port of torchvision's
 * `nms_kernel.cpp` loop and of `batched_nms` in `torchvision/ops/boxes.py`.
 */

const f32 = Math.fround;
// std::max / std::min exactly as the C++ kernel calls them (also much faster than Math.max
// under jest's sandboxed globals).
const max = (a: number, b: number): number => (a < b ? b : a);
const min = (a: number, b: number): number => (b < a ? b : a);

/** Boxes accepted by the NMS functions: `[N*4]` xyxy values, converted to float32. */
export type BoxArray = Float32Array | readonly number[];

function toFloat32(boxes: BoxArray): Float32Array {
  return boxes instanceof Float32Array ? boxes : Float32Array.from(boxes);
}

function checkInputs(fn: string, boxes: Float32Array, scores: Float32Array, iouThreshold: number): void {
  if (boxes.length !== scores.length * 4) {
    throw new Error(
      `Error in ${fn}: boxes must hold 4 values per score, got ${boxes.length} values for ${scores.length} scores`,
    );
  }
  if (!Number.isFinite(iouThreshold)) {
    throw new Error(`Error in ${fn}: iouThreshold must be a finite number, got ${iouThreshold}`);
  }
}

/** Indices `0..n-1` ordered by score, descending; equal scores keep index order (stable sort). */
function orderByScoreDescending(scores: Float32Array, indices?: Int32Array): Int32Array {
  const order = indices ? Int32Array.from(indices) : Int32Array.from({ length: scores.length }, (_, i) => i);
  // Array.prototype.sort is stable; TypedArray sort is too (ES2019), comparator on score then index.
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

/**
 * The greedy loop of torchvision's CPU `nms` kernel: boxes are visited by descending score
 * (stable sort, so ties keep the lower index first) and each kept box suppresses every later box
 * whose float32 IoU is strictly greater than `iouThreshold` (compared as a double).
 */
function nmsKernel(boxes: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array {
  const n = scores.length;
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    areas[i] = f32(boxes[4 * i + 2] - boxes[4 * i]) * f32(boxes[4 * i + 3] - boxes[4 * i + 1]);
  }
  const order = orderByScoreDescending(scores);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    const ix1 = boxes[4 * i];
    const iy1 = boxes[4 * i + 1];
    const ix2 = boxes[4 * i + 2];
    const iy2 = boxes[4 * i + 3];
    const iarea = areas[i];
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const xx1 = max(ix1, boxes[4 * j]);
      const yy1 = max(iy1, boxes[4 * j + 1]);
      const xx2 = min(ix2, boxes[4 * j + 2]);
      const yy2 = min(iy2, boxes[4 * j + 3]);
      const w = max(0, f32(xx2 - xx1));
      const h = max(0, f32(yy2 - yy1));
      const inter = f32(w * h);
      // float32 arithmetic in torchvision's order: (iarea + area_j) - inter, then the division.
      const ovr = f32(inter / f32(f32(iarea + areas[j]) - inter));
      if (ovr > iouThreshold) suppressed[j] = 1;
    }
  }
  return Int32Array.from(keep);
}

/**
 * torchvision's `nms`: indices of the boxes kept, sorted by decreasing score.
 *
 * A box is suppressed by a higher-scoring kept box when their IoU is strictly greater than
 * `iouThreshold`. Equal scores are visited in index order. Empty input gives an empty result.
 *
 * @param boxes `[N*4]` xyxy boxes.
 * @param scores `[N]` scores.
 * @param iouThreshold IoU above which a box is discarded.
 * @returns `[K]` indices into the input.
 *
 * @example
 * ```ts
 * nms([0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30], Float32Array.of(0.9, 0.8, 0.7), 0.5);
 * // Int32Array [0, 2]
 * ```
 */
export function nms(boxes: BoxArray, scores: Float32Array | readonly number[], iouThreshold: number): Int32Array {
  const b = toFloat32(boxes);
  const s = scores instanceof Float32Array ? scores : Float32Array.from(scores);
  checkInputs('nms', b, s, iouThreshold);
  return nmsKernel(b, s, iouThreshold);
}

/**
 * Above this many boxes torchvision's CPU `batched_nms` runs NMS class by class instead of
 * offsetting the boxes (`boxes.numel() > 4000`, benchmarks in pytorch/vision#1311).
 */
export const BATCHED_NMS_PER_CLASS_ABOVE = 1000;

/**
 * torchvision's `batched_nms`: NMS run independently per category `idxs[i]`.
 *
 * Up to {@link BATCHED_NMS_PER_CLASS_ABOVE} boxes, every box is shifted by
 * `idx * (maxCoordinate + 1)` in float32 so that categories cannot overlap, and one NMS runs on
 * the shifted boxes (torchvision's coordinate trick; the shift changes float32 IoUs slightly, so
 * we shift too). Above it, NMS runs per category and the kept indices are sorted by descending
 * score. torchvision's CPU sort in that path is not stable; we keep index order on equal scores.
 *
 * @param boxes `[N*4]` xyxy boxes.
 * @param scores `[N]` scores.
 * @param idxs `[N]` non-negative integer category of each box (the RPN passes the FPN level).
 * @param iouThreshold IoU above which a box is discarded.
 * @returns `[K]` kept indices sorted by decreasing score.
 *
 * @example
 * ```ts
 * // identical boxes in different categories both survive
 * batchedNms([0, 0, 10, 10, 0, 0, 10, 10], Float32Array.of(0.9, 0.8), [0, 1], 0.5); // Int32Array [0, 1]
 * ```
 */
export function batchedNms(
  boxes: BoxArray,
  scores: Float32Array | readonly number[],
  idxs: ArrayLike<number>,
  iouThreshold: number,
): Int32Array {
  const b = toFloat32(boxes);
  const s = scores instanceof Float32Array ? scores : Float32Array.from(scores);
  checkInputs('batchedNms', b, s, iouThreshold);
  const n = s.length;
  if (idxs.length !== n) {
    throw new Error(`Error in batchedNms: idxs must have one entry per score (${n}), got ${idxs.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(idxs[i]) || idxs[i] < 0) {
      throw new Error(`Error in batchedNms: idxs must be non-negative integers, got ${idxs[i]} at ${i}`);
    }
  }
  if (n === 0) return new Int32Array(0);
  return n > BATCHED_NMS_PER_CLASS_ABOVE
    ? batchedNmsPerClass(b, s, idxs, iouThreshold)
    : batchedNmsCoordinateTrick(b, s, idxs, iouThreshold);
}

function batchedNmsCoordinateTrick(
  boxes: Float32Array,
  scores: Float32Array,
  idxs: ArrayLike<number>,
  iouThreshold: number,
): Int32Array {
  let maxCoordinate = -Infinity;
  for (let k = 0; k < boxes.length; k++) if (boxes[k] > maxCoordinate) maxCoordinate = boxes[k];
  const step = f32(maxCoordinate + 1);
  const shifted = new Float32Array(boxes.length); // stores round to float32 as torch's add does
  for (let i = 0; i < scores.length; i++) {
    const offset = f32(f32(idxs[i]) * step);
    for (let c = 0; c < 4; c++) shifted[4 * i + c] = boxes[4 * i + c] + offset;
  }
  return nmsKernel(shifted, scores, iouThreshold);
}

function batchedNmsPerClass(
  boxes: Float32Array,
  scores: Float32Array,
  idxs: ArrayLike<number>,
  iouThreshold: number,
): Int32Array {
  const members = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const list = members.get(idxs[i]);
    if (list) list.push(i);
    else members.set(idxs[i], [i]);
  }
  const kept = new Uint8Array(scores.length);
  for (const list of members.values()) {
    const sub = new Float32Array(list.length * 4);
    const subScores = new Float32Array(list.length);
    list.forEach((i, k) => {
      sub.set(boxes.subarray(4 * i, 4 * i + 4), 4 * k);
      subScores[k] = scores[i];
    });
    for (const k of nmsKernel(sub, subScores, iouThreshold)) kept[list[k]] = 1;
  }
  const keepIndices = Int32Array.from(Array.from(kept.keys()).filter((i) => kept[i] === 1));
  return orderByScoreDescending(scores, keepIndices);
}
