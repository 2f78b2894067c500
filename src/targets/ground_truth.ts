/**
 * Ground truth of one image as the target-assignment units take it, and the matching step they
 * share: IoU of the (non-crowd) ground truth with every prediction, then the {@link Matcher}.
 *
 * Shapes: G ground-truth boxes, P predictions (anchors or proposals), xyxy in absolute pixels.
 *
 * Crowd regions are dropped before matching: they never become positives and do not turn
 * overlapping predictions into ignores. That is what torchvision's reference training does (its
 * COCO loader removes `iscrowd` annotations before the model sees them) and what detectron2's
 * DatasetMapper does; Detectron (v1) instead ignored proposals covered by crowd boxes, which we
 * do not reproduce. Match indices always refer to the caller's GT numbering, crowd included.
 */
import * as tf from '@tensorflow/tfjs';
import { BoxCoder } from '../boxes/box_coder';
import { BELOW_LOW_THRESHOLD, Matcher } from './matcher';
import { pairwiseIou } from './pairwise_iou';

/** One image's ground truth. */
export interface GroundTruth {
  /** `[G * 4]` xyxy boxes in the image's (resized) pixels. */
  readonly boxes: Float32Array;
  /** `[G]` class labels `1..K-1` (needed by the box head; the RPN ignores them). */
  readonly labels?: ArrayLike<number>;
  /** `[G]` non-zero for crowd regions, which are dropped (see the file comment). */
  readonly crowd?: ArrayLike<number>;
}

/** Throws unless `boxes` is a float array of `n * 4` finite values; returns n. */
export function checkBoxArray(boxes: ArrayLike<number>, where: string, name: string): number {
  if (!(boxes instanceof Float32Array)) {
    throw new Error(`Error in ${where}: ${name} must be a Float32Array of xyxy boxes [n * 4]`);
  }
  if (boxes.length % 4 !== 0) throw new Error(`Error in ${where}: ${name} length must be a multiple of 4 ([n * 4] xyxy), got ${boxes.length}`);
  for (let i = 0; i < boxes.length; i++) {
    if (!Number.isFinite(boxes[i])) throw new Error(`Error in ${where}: ${name}[${i}] is not finite (${boxes[i]})`);
  }
  return boxes.length / 4;
}

/**
 * Indices of the GT entries that take part in matching (non-crowd), after checking the arrays.
 *
 * @example
 * ```ts
 * nonCrowdIndices({ boxes: Float32Array.of(0, 0, 5, 5, 1, 1, 9, 9), crowd: [0, 1] }, 'f'); // [0]
 * ```
 */
export function nonCrowdIndices(gt: GroundTruth, where: string, needLabels = false): Int32Array {
  const g = checkBoxArray(gt.boxes, where, 'gt.boxes');
  if (needLabels && gt.labels === undefined) throw new Error(`Error in ${where}: gt.labels is required ([G] class per box)`);
  if (gt.labels !== undefined) {
    if (gt.labels.length !== g) throw new Error(`Error in ${where}: gt.labels must have ${g} entries (one per box), got ${gt.labels.length}`);
    for (let i = 0; i < g; i++) {
      const l = gt.labels[i];
      if (!Number.isInteger(l) || l < 0) throw new Error(`Error in ${where}: gt.labels[${i}] must be a non-negative integer, got ${l}`);
    }
  }
  if (gt.crowd !== undefined && gt.crowd.length !== g) {
    throw new Error(`Error in ${where}: gt.crowd must have ${g} entries (one per box), got ${gt.crowd.length}`);
  }
  const keep: number[] = [];
  for (let i = 0; i < g; i++) if (!gt.crowd || !gt.crowd[i]) keep.push(i);
  return Int32Array.from(keep);
}

/** `[rows.length * 4]` boxes picked from `boxes` by row. */
export function pickBoxes(boxes: Float32Array, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * 4);
  for (let i = 0; i < rows.length; i++) out.set(boxes.subarray(4 * rows[i], 4 * rows[i] + 4), 4 * i);
  return out;
}

/**
 * Matches predictions to the kept GT boxes by IoU ({@link pairwiseIou}, equal to torchvision's
 * `box_iou`) with a {@link Matcher}.
 *
 * @param predictions `[P * 4]` anchors or proposals.
 * @param gtBoxes `[G * 4]` all GT boxes.
 * @param keep rows of `gtBoxes` that take part (see {@link nonCrowdIndices}).
 * @returns `[P]` index into `gtBoxes` (caller numbering), or a negative matcher code. With no
 *   kept GT, every prediction is {@link BELOW_LOW_THRESHOLD}.
 *
 * @example
 * ```ts
 * const m = matchToGroundTruth(anchors, gt.boxes, nonCrowdIndices(gt, 'f'), new Matcher(RPN_MATCHER_OPTIONS));
 * ```
 */
export function matchToGroundTruth(predictions: Float32Array, gtBoxes: Float32Array, keep: Int32Array, matcher: Matcher): Int32Array {
  const P = predictions.length / 4;
  if (keep.length === 0) return new Int32Array(P).fill(BELOW_LOW_THRESHOLD);
  const quality = pairwiseIou(pickBoxes(gtBoxes, keep), predictions); // [G', P]
  const matches = matcher.match(quality, keep.length, P);
  for (let p = 0; p < P; p++) if (matches[p] >= 0) matches[p] = keep[matches[p]];
  return matches;
}

/**
 * Regression targets of the given rows: `coder.encode(gt[matched[row]], references[row])`, zero
 * for every other row.
 *
 * torchvision encodes every row, background included (against GT 0, or a zero box in an image
 * without GT, which gives -inf). Only positive rows ever reach a loss, so we encode those and
 * leave the rest at 0: identical where it matters, and never infinite.
 *
 * @param references `[R * 4]` anchors or proposals.
 * @param gtBoxes `[G * 4]` GT boxes.
 * @param matched `[R]` GT index of each row (used for the listed rows only).
 * @param rows the rows to encode (positives).
 * @returns `[R * 4]` deltas.
 *
 * @example
 * ```ts
 * encodeRows(new BoxCoder(RPN_BOX_CODER_WEIGHTS), anchors, gt.boxes, matches, positiveRows);
 * ```
 */
export function encodeRows(coder: BoxCoder, references: Float32Array, gtBoxes: Float32Array, matched: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(references.length);
  const n = rows.length;
  if (n === 0) return out;
  const gtRows = Array.from(rows, (r) => matched[r]);
  const deltas = tf.tidy(() => {
    const refs = tf.tensor2d(pickBoxes(references, rows), [n, 4]);
    const gt = tf.tensor2d(pickBoxes(gtBoxes, gtRows), [n, 4]);
    return coder.encode(gt, refs).dataSync() as Float32Array; // [n, 4]
  });
  for (let i = 0; i < n; i++) out.set(deltas.subarray(4 * i, 4 * i + 4), 4 * rows[i]);
  return out;
}
