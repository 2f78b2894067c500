import * as tf from '@tensorflow/tfjs';
import { takeRows } from '../../src/losses/take_rows';
import { describeEachBackend } from '../support/backends';

describeEachBackend('takeRows', () => {
  it('selects rows and scatters the gradient back (no gather-gradient kernel needed)', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const y = takeRows(x, Int32Array.of(2, 0));
    expect(y.arraySync()).toEqual([[5, 6], [1, 2]]);
    // d/dx sum(takeRows(x) * w): w's rows land on rows 2 and 0; row 1 gets 0
    const w = tf.tensor2d([[10, 20], [30, 40]]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(takeRows(a, Int32Array.of(2, 0)), w)))(x);
    expect(g.arraySync()).toEqual([[30, 40], [0, 0], [10, 20]]);
    tf.dispose([x, y, w, g]);
  });

  it('works when called inside a tidy that ends before backprop, without leaking', () => {
    const v = tf.variable(tf.tensor2d([[1], [2], [3]]));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.square(takeRows(v, Int32Array.of(1))))), [v]);
    expect(value.dataSync()[0]).toBe(4);
    expect(Array.from(grads[v.name].dataSync())).toEqual([0, 4, 0]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });

  it('handles no rows and rejects bad rows', () => {
    const x = tf.ones([3, 2]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(takeRows(a, new Int32Array(0))))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => takeRows(x, Int32Array.of(3))).toThrow('Error in takeRows: rows[0] = 3 is outside [0, 3)');
    expect(() => takeRows(x, Int32Array.of(1, 1))).toThrow('Error in takeRows: rows[1] = 1 is repeated');
    expect(() => takeRows(tf.ones([3]), Int32Array.of(0))).toThrow('Error in takeRows: x must be [R, C], got [3]');
    tf.dispose([x, g]);
  });
});
