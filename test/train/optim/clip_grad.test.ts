import * as tf from '@tensorflow/tfjs';
import { NonFiniteGradientError, clipGradNorm } from '../../../src/train/optim';
import { describeEachBackend } from '../../support/backends';
import { KEYS, f32, fixtures, maxRelError, tensorOf } from './fixture_io';
import type { ClipCase } from './fixture_io';

function gradsOf(c: ClipCase): Map<string, tf.Tensor> {
  return new Map(c.grads.map((g, i) => [KEYS[i], tensorOf(g)]));
}

describeEachBackend('clipGradNorm (torch clip_grad_norm_)', (backend) => {
  it.each(fixtures().clip.map((c, i) => [i, c.max_norm] as const))('case %i (max norm %s) matches torch', (i) => {
    const c = fixtures().clip[i];
    const grads = gradsOf(c);
    const r = clipGradNorm(grads, c.max_norm);
    const normErr = Math.abs(r.totalNorm - c.total_norm) / c.total_norm;
    let gradErr = 0;
    KEYS.forEach((k, j) => {
      gradErr = Math.max(gradErr, maxRelError(r.grads.get(k)?.dataSync() ?? [], f32(c.clipped[j])));
    });
    console.log(`${backend} clip case ${i}: total norm rel error ${normErr.toExponential(2)}, grads ${gradErr.toExponential(2)}`);
    expect(normErr).toBeLessThanOrEqual(1e-6);
    expect(gradErr).toBeLessThanOrEqual(1e-6);
    expect(r.clipped).toBe(c.max_norm < c.total_norm);
    // The inputs are untouched and the outputs are new tensors.
    KEYS.forEach((k, j) => {
      expect(grads.get(k)?.dataSync()).toEqual(f32(c.grads[j]));
      expect(r.grads.get(k)).not.toBe(grads.get(k));
    });
    tf.dispose([...grads.values(), ...r.grads.values()]);
  });

  it('a non-finite norm leaves the gradients unscaled, or throws naming the keys', () => {
    const c = fixtures().clip[0];
    const grads = gradsOf(c);
    const bad = tf.tensor([1, NaN, 2, 3], [4]);
    grads.set('fc.bias', bad);
    const r = clipGradNorm(grads, 1);
    expect(r.totalNorm).toBeNaN();
    expect(r.clipped).toBe(false);
    expect(r.grads.get('conv.weight')?.dataSync()).toEqual(f32(c.grads[0]));
    expect(() => clipGradNorm(grads, 1, { errorIfNonfinite: true })).toThrow(NonFiniteGradientError);
    expect(() => clipGradNorm(grads, 1, { errorIfNonfinite: true })).toThrow(/clipGradNorm: non-finite gradient .* for fc.bias;/);
    tf.dispose([...grads.values(), ...r.grads.values()]);
  });

  it('rejects a bad maxNorm and returns zero for no gradients', () => {
    expect(() => clipGradNorm(new Map(), 0)).toThrow(/clipGradNorm: maxNorm must be a finite number > 0, got 0/);
    expect(() => clipGradNorm(new Map(), NaN)).toThrow(/maxNorm/);
    const empty = clipGradNorm(new Map(), 1);
    expect(empty.totalNorm).toBe(0);
    expect(empty.grads.size).toBe(0);
  });

  it('does not leak', () => {
    const c = fixtures().clip[2];
    const grads = gradsOf(c);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      const r = clipGradNorm(grads, i % 2 === 0 ? 0.3 : 1e3);
      tf.dispose([...r.grads.values()]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...grads.values()]);
  });
});
