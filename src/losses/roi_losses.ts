/**
 * Box-head losses: torchvision 0.14's `roi_heads.fastrcnn_loss`.
 *
 * Shapes: S samples of the whole batch (images concatenated), K classes including background,
 * F = samples with label > 0.
 *
 *   loss_classifier = mean over S of cross-entropy(classLogits, label)
 *   loss_box_reg    = sum over F of smooth L1 (beta 1/9) of the label's 4 deltas minus the
 *                     targets, divided by S (not F: torchvision's normalisation)
 *
 * The label's log-probability is picked with a one-hot mask and its 4 deltas with
 * {@link takeRows}, both built from the label data outside the tape: the gradient needs no
 * gather-gradient kernel on any backend.
 */
import * as tf from '@tensorflow/tfjs';
import { checkFloatTensor, checkLabels, checkTargetArray } from './checks';
import { Losses } from './names';
import { BOX_LOSS_BETA } from './rpn_losses';
import { smoothL1 } from './smooth_l1';
import { takeRows } from './take_rows';

/**
 * The two box-head losses, differentiable w.r.t. the class logits and box regression.
 *
 * With S = 0 both are 0 (as `sum * 0`; torchvision would give NaN). With no positive sample
 * the box loss is 0, never NaN.
 *
 * @param classLogits `[S, K]` logits.
 * @param boxRegression `[S, 4 * K]` per-class deltas (class k at columns `4k .. 4k+3`).
 * @param labels `[S]` classes in `[0, K)`, 0 = background.
 * @param regressionTargets `[S * 4]` targets (rows with label 0 are not read).
 * @returns `{ loss_classifier, loss_box_reg }` scalars; the caller owns them.
 *
 * @example
 * ```ts
 * const { loss_classifier, loss_box_reg } = fastRcnnLoss(logits, boxRegression, roi.labels, roi.regressionTargets);
 * ```
 */
export function fastRcnnLoss(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  labels: ArrayLike<number>,
  regressionTargets: ArrayLike<number>,
): Losses<'loss_classifier' | 'loss_box_reg'> {
  const where = 'fastRcnnLoss';
  checkFloatTensor(where, 'classLogits', classLogits);
  checkFloatTensor(where, 'boxRegression', boxRegression);
  if (classLogits.rank !== 2 || classLogits.shape[1] < 1) throw new Error(`Error in ${where}: classLogits must be [S, K] with K >= 1, got [${classLogits.shape}]`);
  const [S, K] = classLogits.shape;
  if (boxRegression.rank !== 2 || boxRegression.shape[0] !== S || boxRegression.shape[1] !== 4 * K) {
    throw new Error(`Error in ${where}: boxRegression must be [S, 4 * K] = [${S}, ${4 * K}], got [${boxRegression.shape}]`);
  }
  if (labels.length !== S) throw new Error(`Error in ${where}: labels must have ${S} entries (one per sample), got ${labels.length}`);
  checkLabels(where, labels, 0, K);
  if (regressionTargets.length !== 4 * S) {
    throw new Error(`Error in ${where}: regressionTargets must have ${4 * S} entries ([S * 4]), got ${regressionTargets.length}`);
  }
  const oneHot = new Float32Array(S * K); // [S, K]
  const positiveRows: number[] = []; // rows i * K + label of [S * K, 4]
  const targets: number[] = []; // [F * 4]
  for (let i = 0; i < S; i++) {
    const l = labels[i];
    oneHot[i * K + l] = 1;
    if (l > 0) {
      positiveRows.push(i * K + l);
      for (let j = 4 * i; j < 4 * i + 4; j++) targets.push(regressionTargets[j]);
    }
  }
  const F = positiveRows.length;
  checkTargetArray(where, 'regressionTargets (positive rows)', targets, 4 * F);
  return tf.tidy(() => {
    if (S === 0) {
      return { loss_classifier: tf.mul(tf.sum(classLogits), 0) as tf.Scalar, loss_box_reg: tf.mul(tf.sum(boxRegression), 0) as tf.Scalar };
    }
    const logProb = tf.logSoftmax(classLogits); // [S, K]
    const lossClassifier = tf.div(tf.neg(tf.sum(tf.mul(logProb, tf.tensor2d(oneHot, [S, K])))), S) as tf.Scalar;
    let lossBox: tf.Scalar;
    if (F === 0) {
      lossBox = tf.mul(tf.sum(boxRegression), 0) as tf.Scalar;
    } else {
      const perClass = tf.reshape(boxRegression, [S * K, 4]); // [S, 4K] -> [S*K, 4]
      const picked = takeRows(perClass, Int32Array.from(positiveRows)); // [F, 4]
      const perElement = smoothL1(tf.sub(picked, tf.tensor2d(targets, [F, 4])), BOX_LOSS_BETA);
      lossBox = tf.div(tf.sum(perElement), S) as tf.Scalar;
    }
    return { loss_classifier: lossClassifier, loss_box_reg: lossBox };
  });
}
