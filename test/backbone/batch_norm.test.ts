/**
 * BatchNorm2d (backboneNorm 'batch'): batch statistics while training, torch's running-statistics
 * update, and outside training exactly the frozen map. Its parity with torch.nn.BatchNorm2d
 * inside the whole model (losses, gradients, running statistics) is in
 * test/parity/training.parity.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm2d, makeNorm } from '../../src/backbone/batch_norm';
import { FrozenBatchNorm2d } from '../../src/backbone/frozen_batch_norm';
import { ResNetBody } from '../../src/backbone/resnet';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { trainableParams } from '../../src/train/optim';
import { useBackend } from '../support/backends';

function setBuffers(bn: FrozenBatchNorm2d, v: { weight: number[]; bias: number[]; mean: number[]; variance: number[] }): void {
  const sd = bn.stateDict();
  sd.get('weight')!.variable.write(tf.tensor1d(v.weight));
  sd.get('bias')!.variable.write(tf.tensor1d(v.bias));
  sd.get('running_mean')!.variable.write(tf.tensor1d(v.mean));
  sd.get('running_var')!.variable.write(tf.tensor1d(v.variance));
}

const BUFFERS = { weight: [2, 0.5], bias: [1, -1], mean: [3, -2], variance: [4, 0.25] };
// x [N=2, H=1, W=2, C=2]: channel 0 holds 1, 3, 5, 7; channel 1 holds 0, 0, 4, 8.
const X = [1, 0, 3, 0, 5, 4, 7, 8];

describe('BatchNorm2d', () => {
  beforeAll(() => useBackend('wasm'));

  it('outside training mode is the frozen map of its running statistics', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 });
    const frozen = new FrozenBatchNorm2d({ numFeatures: 2 });
    setBuffers(bn, BUFFERS);
    setBuffers(frozen, BUFFERS);
    const x = tf.tensor4d(X, [2, 1, 2, 2]);
    expect(Array.from(bn.forward(x).dataSync())).toEqual(Array.from(frozen.forward(x).dataSync()));
    expect(bn.hasPendingStatistics).toBe(false);
    tf.dispose(x);
    bn.dispose();
    frozen.dispose();
  });

  it('in training mode normalises with the batch statistics (biased variance) and moves the running ones as torch does', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 });
    setBuffers(bn, BUFFERS);
    bn.training = true;
    const x = tf.tensor4d(X, [2, 1, 2, 2]);
    const before = tf.memory().numTensors;
    const y = bn.forward(x);
    // channel 0: mean 4, biased var 5; channel 1: mean 3, biased var 11.
    const expected = [1, 3, 5, 7].map((v) => (2 * (v - 4)) / Math.sqrt(5 + 1e-5) + 1);
    const expected1 = [0, 0, 4, 8].map((v) => (0.5 * (v - 3)) / Math.sqrt(11 + 1e-5) - 1);
    const got = Array.from(y.dataSync());
    [0, 1, 2, 3].forEach((i) => {
      expect(got[2 * i]).toBeCloseTo(expected[i], 5);
      expect(got[2 * i + 1]).toBeCloseTo(expected1[i], 5);
    });
    expect(bn.hasPendingStatistics).toBe(true);
    bn.commitRunningStatistics();
    expect(bn.hasPendingStatistics).toBe(false);
    const sd = bn.stateDict();
    // running = 0.9 running + 0.1 batch, the variance unbiased (n = 4: x 4/3).
    const mean = Array.from(sd.get('running_mean')!.variable.read().dataSync());
    const variance = Array.from(sd.get('running_var')!.variable.read().dataSync());
    expect(mean[0]).toBeCloseTo(0.9 * 3 + 0.1 * 4, 6);
    expect(mean[1]).toBeCloseTo(0.9 * -2 + 0.1 * 3, 6);
    expect(variance[0]).toBeCloseTo(0.9 * 4 + (0.1 * 5 * 4) / 3, 5);
    expect(variance[1]).toBeCloseTo(0.9 * 0.25 + (0.1 * 11 * 4) / 3, 5);
    tf.dispose(y);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    bn.dispose();
  });

  it('trains weight and bias, never the statistics; a forward without commit changes nothing', () => {
    const bn = makeNorm('batch', 3);
    expect(bn).toBeInstanceOf(BatchNorm2d);
    expect(makeNorm('frozen', 3)).not.toBeInstanceOf(BatchNorm2d);
    expect(trainableParams(bn).map((p) => p.key)).toEqual(['weight', 'bias']);
    (bn as BatchNorm2d).training = true;
    tf.dispose(bn.forward(tf.ones([1, 2, 2, 3]) as tf.Tensor4D));
    (bn as BatchNorm2d).discardRunningStatistics();
    (bn as BatchNorm2d).commitRunningStatistics();
    expect(Array.from(bn.stateDict().get('running_var')!.variable.read().dataSync())).toEqual([1, 1, 1]);
    bn.dispose();
  });

  it("a ResNet body with norm 'batch' has the frozen body's keys, and runs the same outside training", () => {
    const make = (norm: 'frozen' | 'batch') => withoutInitialization(() => new ResNetBody({ depth: 18, norm, trainableLayers: 5 }));
    const frozen = make('frozen');
    const batch = make('batch');
    expect([...batch.stateDict().keys()]).toEqual([...frozen.stateDict().keys()]);
    expect(batch.batchNorms()).toHaveLength(20);
    expect(frozen.batchNorms()).toHaveLength(0);
    // The same random weights and statistics in both.
    const batchSd = batch.stateDict();
    let k = 0;
    for (const [key, p] of frozen.stateDict()) {
      const shape = p.variable.shape as number[];
      const v = p.layout === 'conv' ? tf.randomNormal(shape, 0, 0.05, 'float32', ++k) : tf.randomUniform(shape, 0.5, 1.5, 'float32', ++k);
      p.variable.write(v);
      batchSd.get(key)!.variable.write(v);
      v.dispose();
    }
    const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = frozen.forward(x);
    const b = batch.forward(x);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a['3'], b['3']))).dataSync()[0] / tf.max(tf.abs(a['3'])).dataSync()[0]);
    expect(diff).toBeLessThan(1e-5);
    // In training mode it does not: batch statistics.
    batch.setBatchNormTraining(true);
    const c = batch.forward(x);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(a['3'], c['3']))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-3);
    expect(batch.batchNorms().every((bn) => bn.hasPendingStatistics)).toBe(true);
    batch.setBatchNormTraining(false);
    expect(batch.batchNorms().some((bn) => bn.hasPendingStatistics || bn.training)).toBe(false);
    tf.dispose([x, a, b, c]);
    frozen.dispose();
    batch.dispose();
  });

  it("ResNetBody refuses an unknown norm, naming it", () => {
    expect(() => new ResNetBody({ depth: 18, norm: 'group' as 'batch' })).toThrow("norm must be 'frozen' or 'batch', got \"group\"");
  });
});
