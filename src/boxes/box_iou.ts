/**
 * Pairwise intersection over union, as torchvision's `box_iou`.
 *
 * Shapes: N boxes against M boxes, xyxy in absolute pixels; result `[N, M]`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * IoU of every box of `boxes1` with every box of `boxes2`, in float32 with torchvision's order of
 * operations (`inter / (area1 + area2 - inter)`). Two empty boxes give NaN, as in torchvision.
 *
 * @param boxes1 `[N, 4]` xyxy boxes.
 * @param boxes2 `[M, 4]` xyxy boxes.
 * @returns `[N, M]` IoU matrix; the caller owns it. N or M may be 0.
 *
 * @example
 * ```ts
 * boxIou(tf.tensor2d([[0, 0, 2, 1]]), tf.tensor2d([[0, 0, 1, 1], [5, 5, 6, 6]])); // [[0.5, 0]]
 * ```
 */
export function boxIou(boxes1: tf.Tensor2D, boxes2: tf.Tensor2D): tf.Tensor2D {
  for (const [name, b] of [
    ['boxes1', boxes1],
    ['boxes2', boxes2],
  ] as const) {
    if (b.rank !== 2 || b.shape[1] !== 4) {
      throw new Error(`Error in boxIou: ${name} must have shape [N, 4], got [${b.shape}]`);
    }
  }
  return tf.tidy(() => {
    const area = (b: tf.Tensor2D): tf.Tensor1D => {
      const [x1, y1, x2, y2] = tf.unstack(b, 1) as tf.Tensor1D[];
      return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1));
    };
    const area1 = area(boxes1); // [N]
    const area2 = area(boxes2); // [M]
    const a = tf.expandDims(boxes1, 1); // [N, 4] -> [N, 1, 4]
    const lt = tf.maximum(tf.slice(a, [0, 0, 0], [-1, -1, 2]), tf.slice(boxes2, [0, 0], [-1, 2])); // [N, M, 2]
    const rb = tf.minimum(tf.slice(a, [0, 0, 2], [-1, -1, 2]), tf.slice(boxes2, [0, 2], [-1, 2])); // [N, M, 2]
    const wh = tf.maximum(tf.sub(rb, lt), 0); // [N, M, 2]
    const [w, h] = tf.unstack(wh, 2);
    const inter = tf.mul(w, h); // [N, M]
    const union = tf.sub(tf.add(tf.expandDims(area1, 1), area2), inter); // [N, 1] + [M] -> [N, M]
    return tf.div(inter, union) as tf.Tensor2D;
  });
}
