/**
 * Mask-head loss: torchvision 0.14's `roi_heads.maskrcnn_loss`, given the targets.
 *
 * Shapes: P positive samples of the whole batch (images concatenated), M x M mask size (28),
 * K classes including background. Logits are NHWC: `[P, M, M, K]` (torchvision: `[P, K, M, M]`).
 *
 *   loss_mask = mean over P * M * M of BCE-with-logits(logits[p, :, :, label_p], target_p)
 *
 * Only the label's channel is learnt (Mask R-CNN §3: "L_mask is only defined on the k-th mask").
 * It is selected with {@link takeRows} on the flattened logits, indices built from the label
 * data outside the tape; the gradient is a scatter, which every backend runs (a gather's own
 * gradient needs a kernel that wasm lacks).
 */
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits } from './bce_with_logits';
import { checkFloatTensor, checkLabels, checkTargetArray } from './checks';
import { Losses } from './names';
import { takeRows } from './take_rows';

/**
 * The mask loss, differentiable w.r.t. the mask logits.
 *
 * With no positive sample it is `maskLogits.sum() * 0`, as torchvision: 0 with a defined (zero)
 * gradient, never NaN. An image without GT has no positives and so adds nothing.
 *
 * @param maskLogits `[P, M, M, K]` logits.
 * @param labels `[P]` class of each positive, in `[0, K)` (the channel to read).
 * @param maskTargets `[P * M * M]` soft targets in [0, 1] (see `projectMasksOnBoxes`).
 * @returns `{ loss_mask }` scalar; the caller owns it.
 *
 * @example
 * ```ts
 * const { loss_mask } = maskRcnnLoss(maskLogits, masks.labels, masks.targets);
 * ```
 */
export function maskRcnnLoss(maskLogits: tf.Tensor4D, labels: ArrayLike<number>, maskTargets: ArrayLike<number>): Losses<'loss_mask'> {
  const where = 'maskRcnnLoss';
  checkFloatTensor(where, 'maskLogits', maskLogits);
  if (maskLogits.rank !== 4 || maskLogits.shape[1] !== maskLogits.shape[2] || maskLogits.shape[3] < 1) {
    throw new Error(`Error in ${where}: maskLogits must be [P, M, M, K] (NHWC, square), got [${maskLogits.shape}]`);
  }
  const [P, M, , K] = maskLogits.shape;
  if (labels.length !== P) throw new Error(`Error in ${where}: labels must have ${P} entries (one per positive), got ${labels.length}`);
  checkLabels(where, labels, 0, K);
  const cells = M * M;
  checkTargetArray(where, 'maskTargets', maskTargets, P * cells);
  return tf.tidy(() => {
    if (P === 0) return { loss_mask: tf.mul(tf.sum(maskLogits), 0) as tf.Scalar };
    const picks = new Int32Array(P * cells); // element (p, i, label_p) of [P*M*M*K]
    for (let p = 0; p < P; p++) for (let i = 0; i < cells; i++) picks[p * cells + i] = (p * cells + i) * K + labels[p];
    const flat = tf.reshape(maskLogits, [P * cells * K, 1]); // [P, M, M, K] -> [P*M*M*K, 1]
    const x = tf.reshape(takeRows(flat, picks), [P, cells]); // [P*M*M, 1] -> [P, M*M]
    const y = tf.tensor2d(Float32Array.from(maskTargets), [P, cells]);
    return { loss_mask: tf.mean(bceWithLogits(x, y)) as tf.Scalar };
  });
}
