/**
 * Mask R-CNN's five training losses, as torchvision 0.14 computes them, as pure functions of
 * tensors (differentiable w.r.t. the predictions) and target data.
 *
 * @example
 * ```ts
 * import { rpnLosses, fastRcnnLoss, maskRcnnLoss } from './losses';
 * const { value, grads } = tf.variableGrads(() => {
 *   const r = rpnLosses(objectness(), deltas(), rpnLabels, rpnTargets);
 *   return tf.addN([r.loss_objectness, r.loss_rpn_box_reg]) as tf.Scalar;
 * });
 * ```
 */
export { LOSS_NAMES, isLossName } from './names';
export type { LossName, Losses } from './names';
export { rpnLosses, BOX_LOSS_BETA } from './rpn_losses';
export { fastRcnnLoss } from './roi_losses';
export { maskRcnnLoss } from './mask_loss';
export { smoothL1 } from './smooth_l1';
export { bceWithLogits } from './bce_with_logits';
export { takeRows } from './take_rows';
