/**
 * RPN losses: torchvision 0.14's `RegionProposalNetwork.compute_loss`, after sampling.
 *
 * Shapes: T anchors of the whole batch (images concatenated, as torchvision's `torch.cat`),
 * S = drawn anchors (label 0 or 1), F = drawn foreground anchors (label 1).
 *
 *   loss_objectness  = mean over S of BCE-with-logits(objectness, label)
 *   loss_rpn_box_reg = sum over F of smooth L1 (beta 1/9) of (deltas - targets), divided by S
 *
 * The selection is a mask built from the label data (outside the tape) and multiplied in, not
 * a gather: the gradient needs no gather kernel (wasm lacks UnsortedSegmentSum) and undrawn
 * anchors get an exact zero gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits } from './bce_with_logits';
import { checkFloatTensor, checkTargetArray } from './checks';
import { Losses } from './names';
import { smoothL1 } from './smooth_l1';

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
 * @param regressionTargets `[T * 4]` targets (only foreground rows are read; others may hold anything finite or not).
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
  const sampled = new Float32Array(T); // 1 where drawn
  const binary = new Float32Array(T); // BCE target
  const foreground = new Uint8Array(4 * T); // [T, 4] box-loss rows
  const targets = new Float32Array(4 * T);
  let numSampled = 0;
  let numForeground = 0;
  for (let i = 0; i < T; i++) {
    const l = labels[i];
    if (l === 1) {
      sampled[i] = binary[i] = 1;
      foreground.fill(1, 4 * i, 4 * i + 4);
      for (let j = 4 * i; j < 4 * i + 4; j++) targets[j] = regressionTargets[j];
      numSampled++;
      numForeground++;
    } else if (l === 0) {
      sampled[i] = 1;
      numSampled++;
    } else if (l !== -1) {
      throw new Error(`Error in ${where}: labels[${i}] must be 1, 0 or -1, got ${l}`);
    }
  }
  checkTargetArray(where, 'regressionTargets (foreground rows)', targets, 4 * T);
  return tf.tidy(() => {
    const x = tf.reshape(objectness, [T]); // [N, A] or [T, 1] -> [T]
    const d = tf.reshape(predDeltas, [T, 4]); // [N, A, 4] -> [T, 4]
    if (numSampled === 0) {
      return { loss_objectness: tf.mul(tf.sum(x), 0) as tf.Scalar, loss_rpn_box_reg: tf.mul(tf.sum(d), 0) as tf.Scalar };
    }
    const bce = bceWithLogits(x, tf.tensor1d(binary));
    const lossObjectness = tf.div(tf.sum(tf.mul(bce, tf.tensor1d(sampled))), numSampled) as tf.Scalar;
    let lossBox: tf.Scalar;
    if (numForeground === 0) {
      lossBox = tf.mul(tf.sum(d), 0) as tf.Scalar;
    } else {
      const perElement = smoothL1(tf.sub(d, tf.tensor2d(targets, [T, 4])), BOX_LOSS_BETA);
      const mask = tf.tensor2d(foreground, [T, 4], 'bool');
      lossBox = tf.div(tf.sum(tf.where(mask, perElement, tf.zerosLike(perElement))), numSampled) as tf.Scalar;
    }
    return { loss_objectness: lossObjectness, loss_rpn_box_reg: lossBox };
  });
}
