import * as tf from '@tensorflow/tfjs';
import { bceWithLogits } from '../../src/losses/bce_with_logits';
import { smoothL1 } from '../../src/losses/smooth_l1';
import { describeEachBackend } from '../support/backends';

describeEachBackend('smoothL1 and bceWithLogits', () => {
  it('smoothL1 has both branches of torch F.smooth_l1_loss and their gradients', () => {
    const beta = 1 / 9;
    const d = tf.tensor1d([0.05, -0.05, 1, -2, 0]);
    const v = Array.from(smoothL1(d, beta).dataSync());
    const want = [(0.5 * 0.05 * 0.05) / beta, (0.5 * 0.05 * 0.05) / beta, 1 - 0.5 * beta, 2 - 0.5 * beta, 0];
    v.forEach((x, i) => expect(x).toBeCloseTo(want[i], 6));
    const g = Array.from(tf.grad((x: tf.Tensor) => tf.sum(smoothL1(x, beta)))(d).dataSync());
    [0.05 / beta, -0.05 / beta, 1, -1, 0].forEach((w, i) => expect(g[i]).toBeCloseTo(w, 5));
    expect(Array.from(smoothL1(d, 0).dataSync())).toEqual([0.05, 0.05, 1, 2, 0].map(Math.fround));
    expect(() => smoothL1(d, -1)).toThrow('Error in smoothL1: beta must be a finite number >= 0, got -1');
  });

  it('bceWithLogits is finite for large logits and has gradient sigmoid(x) - y', () => {
    const x = tf.tensor1d([0, 2, -3, 100, -100]);
    const y = tf.tensor1d([1, 0, 0.25, 0, 1]);
    const v = Array.from(bceWithLogits(x, y).dataSync());
    const sig = (t: number): number => 1 / (1 + Math.exp(-t));
    const ref = (t: number, l: number): number => Math.max(t, 0) - t * l + Math.log1p(Math.exp(-Math.abs(t)));
    [0, 2, -3, 100, -100].forEach((t, i) => expect(v[i]).toBeCloseTo(ref(t, [1, 0, 0.25, 0, 1][i]), 4));
    expect(v.every(Number.isFinite)).toBe(true);
    const g = Array.from(tf.grad((a: tf.Tensor) => tf.sum(bceWithLogits(a, y)))(x).dataSync());
    [0, 2, -3, 100, -100].forEach((t, i) => expect(g[i]).toBeCloseTo(sig(t) - [1, 0, 0.25, 0, 1][i], 6));
    expect(() => bceWithLogits(x, tf.ones([4]))).toThrow(/must have the same shape/);
  });
});
