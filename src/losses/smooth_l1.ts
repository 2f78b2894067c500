/**
 * Elementwise smooth L1 (Huber) loss with torchvision's `beta`, as `F.smooth_l1_loss(...,
 * reduction='none')`: `0.5 * d^2 / beta` where `|d| < beta`, else `|d| - 0.5 * beta`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Smooth L1 of a difference tensor, differentiable on every backend.
 *
 * Written without a data-dependent `where` (Less/Greater have no gradient in tfjs): with
 * `q = min(|d|, beta)`, `0.5 * q^2 / beta + (|d| - q)` equals both branches; its gradient is
 * `d / beta` inside and `sign(d)` outside, as torch's. `beta = 0` is plain L1, as in torch.
 *
 * @param diff prediction minus target, any shape.
 * @param beta the quadratic zone's half-width (Faster R-CNN in torchvision: 1/9).
 * @returns the loss per element, same shape.
 *
 * @example
 * ```ts
 * smoothL1(tf.tensor1d([0.05, -1]), 1 / 9); // [0.01125, 0.9444]
 * ```
 */
export function smoothL1(diff: tf.Tensor, beta: number): tf.Tensor {
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new Error(`Error in smoothL1: beta must be a finite number >= 0, got ${beta}`);
  return tf.tidy(() => {
    const a = tf.abs(diff);
    if (beta === 0) return a;
    const q = tf.minimum(a, beta);
    return tf.add(tf.div(tf.mul(0.5, tf.square(q)), beta), tf.sub(a, q));
  });
}
