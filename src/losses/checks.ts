/** Argument checks shared by the loss functions; messages name the function and argument. */
import * as tf from '@tensorflow/tfjs';

/** Throws unless `t` is a float32 tensor. */
export function checkFloatTensor(where: string, name: string, t: tf.Tensor): void {
  if (!(t instanceof tf.Tensor)) throw new Error(`Error in ${where}: ${name} must be a tf.Tensor`);
  if (t.dtype !== 'float32') throw new Error(`Error in ${where}: ${name} must be float32, got ${t.dtype}`);
}

/** Throws unless `values` has `length` entries, all finite. */
export function checkTargetArray(where: string, name: string, values: ArrayLike<number>, length: number): void {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new Error(`Error in ${where}: ${name} must be an array of numbers`);
  }
  if (values.length !== length) throw new Error(`Error in ${where}: ${name} must have ${length} entries, got ${values.length}`);
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`Error in ${where}: ${name}[${i}] is not finite (${values[i]})`);
  }
}

/** Throws unless every label is an integer in `[lo, hi)`. */
export function checkLabels(where: string, labels: ArrayLike<number>, lo: number, hi: number, name = 'labels'): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < lo || l >= hi) throw new Error(`Error in ${where}: ${name}[${i}] must be an integer in [${lo}, ${hi}), got ${l}`);
  }
}
