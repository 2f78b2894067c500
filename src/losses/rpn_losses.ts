/**
 * RPN losses: torchvision 0.14's `RegionProposalNetwork.compute_loss`, after sampling.
 *
 * Shapes: T anchors of the whole batch (images concatenated, as torchvision's `torch.cat`),
 * S = drawn anchors (label 0 or 1), F = drawn foreground anchors (label 1).
 *
 *   loss_objectness  = mean over S of BCE-with-logits(objectness, label)
 *   loss_rpn_box_reg = sum over F of smooth L1 (beta 1/9) of (deltas - targets), divided by S
 *
 * The drawn rows are selected with {@link takeRows} (indices from the label data, gradient a
 * scatter), so the work is O(S) rather than O(T) and needs no gather-gradient kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits } from './bce_with_logits';
import { checkFloatTensor, checkTargetArray } from './checks';
import { Losses } from './names';
import { smoothL1 } from './smooth_l1';
import { takeRows } from './take_rows';

/** torchvision's smooth L1 beta for both Faster R-CNN box losses. */
export const BOX_LOSS_BETA = 1 / 9;

/**
 * The two RPN losses of a batch, differentiable w.r.t. the head outputs.
 *
 * torchvision returns NaN when no anchor is drawn (a mean over nothing); we return 0 there (as
 * `objectness.sum() * 0`, so the gradient is defined). An image without GT contributes only
 * background anchors: the box loss is then 0, never NaN.
 *
 * @param objectness `[T]`, `[T, 1]` or `[N, A]` logits (T = all anchors, image-major).
 * @param predDeltas `[T, 4]` or `[N, A, 4]` predicted deltas.
 * @param labels `[T]` sampled labels: 1 drawn foreground, 0 drawn background, -1 not drawn
 *   (see `sampleRpnLabels`).
 * @param regressionTargets `[T * 4]` targets; only foreground rows are read (the others may hold
 *   anything, even non-finite values).
 * @returns `{ loss_objectness, loss_rpn_box_reg }` scalars; the caller owns them.
 *
 * @example
 * ```ts
 * const { loss_objectness, loss_rpn_box_reg } = rpnLosses(objectness, deltas, labels, targets);
 * ```
 */
export function rpnLosses(
  objectness: tf.Tensor,
  predDeltas: tf.Tensor,
  labels: ArrayLike<number>,
  regressionTargets: ArrayLike<number>,
): Losses<'loss_objectness' | 'loss_rpn_box_reg'> {
  const where = 'rpnLosses';
  checkFloatTensor(where, 'objectness', objectness);
  checkFloatTensor(where, 'predDeltas', predDeltas);
  const T = objectness.size;
  if (predDeltas.size !== 4 * T || predDeltas.shape[predDeltas.rank - 1] !== 4) {
    throw new Error(`Error in ${where}: predDeltas must be [T, 4] with T = ${T} (objectness size), got [${predDeltas.shape}]`);
  }
  if (labels.length !== T) throw new Error(`Error in ${where}: labels must have ${T} entries (one per anchor), got ${labels.length}`);
  if (regressionTargets.length !== 4 * T) {
    throw new Error(`Error in ${where}: regressionTargets must have ${4 * T} entries ([T * 4]), got ${regressionTargets.length}`);
  }
  const sampled: number[] = [];
  const foreground: number[] = [];
  for (let i = 0; i < T; i++) {
    const l = labels[i];
    if (l === 1) {
      sampled.push(i);
      foreground.push(i);
    } else if (l === 0) {
      sampled.push(i);
    } else if (l !== -1) {
      throw new Error(`Error in ${where}: labels[${i}] must be 1, 0 or -1, got ${l}`);
    }
  }
  const S = sampled.length;
  const F = foreground.length;
  const binary = Float32Array.from(sampled, (i) => labels[i]); // [S] BCE targets
  const targets = new Float32Array(4 * F); // [F, 4]
  foreground.forEach((a, k) => {
    for (let j = 0; j < 4; j++) targets[4 * k + j] = regressionTargets[4 * a + j];
  });
  checkTargetArray(where, 'regressionTargets (foreground rows)', targets, 4 * F);
  return tf.tidy(() => {
    const x = tf.reshape(objectness, [T, 1]); // [N, A] or [T] -> [T, 1]
    const d = tf.reshape(predDeltas, [T, 4]); // [N, A, 4] -> [T, 4]
    const zero = (t: tf.Tensor): tf.Scalar => tf.mul(tf.sum(t), 0) as tf.Scalar;
    if (S === 0) return { loss_objectness: zero(x), loss_rpn_box_reg: zero(d) };
    const logits = tf.reshape(takeRows(x, Int32Array.from(sampled)), [S]); // [S, 1] -> [S]
    const lossObjectness = tf.mean(bceWithLogits(logits, tf.tensor1d(binary))) as tf.Scalar;
    if (F === 0) return { loss_objectness: lossObjectness, loss_rpn_box_reg: zero(d) };
    const fgDeltas = takeRows(d, Int32Array.from(foreground)); // [F, 4]
    const lossBox = tf.div(tf.sum(smoothL1(tf.sub(fgDeltas, tf.tensor2d(targets, [F, 4])), BOX_LOSS_BETA)), S) as tf.Scalar;
    return { loss_objectness: lossObjectness, loss_rpn_box_reg: lossBox };
  });
}
