/**
 * Names of Mask R-CNN's training losses: the same strings as torchvision, so logs can be
 * compared side by side.
 */
import * as tf from '@tensorflow/tfjs';

/** One of the five losses of Mask R-CNN (torchvision's dictionary keys). */
export type LossName = 'loss_objectness' | 'loss_rpn_box_reg' | 'loss_classifier' | 'loss_box_reg' | 'loss_mask';

/** Every {@link LossName}, in pipeline order (RPN, box head, mask head). */
export const LOSS_NAMES: readonly LossName[] = ['loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg', 'loss_mask'];

/**
 * Scalar losses keyed by name; a stage returns the subset it owns.
 *
 * @example
 * ```ts
 * const losses: Losses<'loss_mask'> = maskRcnnLoss(logits, labels, targets);
 * ```
 */
export type Losses<K extends LossName = LossName> = { readonly [P in K]: tf.Scalar };

/**
 * Whether a string is a {@link LossName}.
 *
 * @example
 * ```ts
 * isLossName('loss_mask'); // true
 * ```
 */
export function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name);
}
