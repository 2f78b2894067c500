/**
 * Elementwise binary cross-entropy on logits, as `F.binary_cross_entropy_with_logits(...,
 * reduction='none')`, in the overflow-free form `max(x, 0) - x * y + log(1 + exp(-|x|))`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * BCE of logits `x` against targets `y` in [0, 1] (soft targets allowed), per element.
 * Finite for every finite logit; gradient `sigmoid(x) - y`.
 *
 * @param logits any shape.
 * @param targets same shape as `logits`.
 *
 * @example
 * ```ts
 * bceWithLogits(tf.tensor1d([0, 2]), tf.tensor1d([1, 0])); // [0.6931, 2.1269]
 * ```
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(`Error in bceWithLogits: logits [${logits.shape}] and targets [${targets.shape}] must have the same shape`);
  }
  return tf.tidy(() => tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}
