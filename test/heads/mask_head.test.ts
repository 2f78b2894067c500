/** MaskHead / MaskPredictor / maskrcnnInference against torchvision 0.14. */
import * as tf from '@tensorflow/tfjs';
import { MaskHead, MaskPredictor, RoIHeads } from '../../src/heads';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { maskrcnnInference } from '../../src/postprocess';
import { describeEachBackend } from '../support/backends';
import {
  decodeF32,
  hashedValues,
  loadHashedWeights,
  maxRelError,
  nchwToNhwc,
  normRelError,
  readHeadsFixture,
  type HashedSpec,
  type PlainDetections,
} from './support/fixtures';

interface HeadsFixture {
  weights: Record<string, HashedSpec>;
  detections: PlainDetections[];
  maskFeatures: HashedSpec;
  maskLogitChannels: number[];
  maskLogitCount: number;
  maskLogits: string;
  maskProbs: string;
}

const fx = readHeadsFixture<HeadsFixture>('heads.json');
const labels = [...fx.detections[0].labels, ...fx.detections[1].labels];
const totalMasks = labels.length;

/** The first `n` hashed mask features as NHWC `[n, 14, 14, 256]` (the hash is per element index). */
function maskFeatures(n: number): tf.Tensor4D {
  const values = hashedValues({ ...fx.maskFeatures, shape: [n, 256, 14, 14] }); // torch order
  return nchwToNhwc(values, [n, 256, 14, 14]);
}

/** Mask head + predictor of the fixture (the box branch is not needed here). */
class MaskBranch {
  readonly head = withoutInitialization(() => new MaskHead());
  readonly predictor = withoutInitialization(() => new MaskPredictor());
  constructor() {
    loadHashedWeights(this.head, fx.weights, 'mask_head.');
    loadHashedWeights(this.predictor, fx.weights, 'mask_predictor.');
  }
  predictMasks(x: tf.Tensor4D): tf.Tensor4D {
    const h = this.head.forward(x);
    const out = this.predictor.forward(h);
    h.dispose();
    return out;
  }
  dispose(): void {
    this.head.dispose();
    this.predictor.dispose();
  }
}

describeEachBackend('mask head and predictor', (backend) => {
  // Four 256x256x3x3 convs on 14x14 are ~0.46 G multiply-adds per mask, slow on the cpu backend:
  // it checks the first 2 masks, wasm the first 24 (every mask is covered by the paste tests).
  const n = Math.min(totalMasks, backend === 'cpu' ? 2 : 24);
  let heads: MaskBranch;
  let features: tf.Tensor4D;
  let logits: tf.Tensor4D;
  beforeAll(() => {
    const t0 = Date.now();
    heads = new MaskBranch();
    features = maskFeatures(n);
    logits = heads.predictMasks(features);
    console.log(`[${backend}] mask branch on ${n} masks, with setup: ${Date.now() - t0} ms`);
  });
  afterAll(() => {
    heads.dispose();
    tf.dispose([features, logits]);
  });

  test('mask logits within 1e-5 of torchvision (first masks, sampled channels)', async () => {
    expect(logits.shape).toEqual([n, 28, 28, 91]);
    const channels = fx.maskLogitChannels;
    const count = Math.min(n, fx.maskLogitCount);
    // ours [n, 28, 28, 91] -> torch order [count, C', 28, 28] of the stored channels
    const picked = tf.tidy(() => tf.transpose(tf.gather(tf.slice(logits, [0, 0, 0, 0], [count, 28, 28, 91]), channels, 3), [0, 3, 1, 2]));
    const theirs = decodeF32(fx.maskLogits).subarray(0, count * channels.length * 784);
    const ours = await picked.data();
    const err = normRelError(ours, theirs);
    console.log(`[${backend}] mask logits: error relative to max |logit| ${err.toExponential(2)}, elementwise (floor 1) ${maxRelError(ours, theirs).toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
    picked.dispose();
  });

  test('maskrcnnInference: probabilities of the detected classes within 1e-5 of torchvision', async () => {
    const labelTensor = tf.tensor1d(labels.slice(0, n), 'int32');
    const probs = maskrcnnInference(logits, labelTensor);
    expect(probs.shape).toEqual([n, 28, 28]);
    const theirs = decodeF32(fx.maskProbs).subarray(0, n * 784);
    const err = maxRelError(await probs.data(), theirs); // probabilities <= 1: absolute error
    console.log(`[${backend}] mask probabilities of ${n} detections: max abs error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
    tf.dispose([labelTensor, probs]);
  });

  test('conv5_mask as matMul + pixel shuffle equals tf.conv2dTranspose + ReLU', async () => {
    const predictor = new MaskPredictor({ inChannels: 8, dimReduced: 6, numClasses: 3 });
    loadHashedWeights(predictor, {
      'conv5_mask.weight': { shape: [8, 6, 2, 2], seed: 31, scale: 1 },
      'conv5_mask.bias': { shape: [6], seed: 32, scale: 1 },
      'mask_fcn_logits.weight': { shape: [3, 6, 1, 1], seed: 33, scale: 1 },
      'mask_fcn_logits.bias': { shape: [3], seed: 34, scale: 1 },
    });
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(hashedValues({ shape: [2, 8, 5, 3], seed: 35, scale: 1 }), [2, 8, 5, 3]), [0, 2, 3, 1]));
    const sd = predictor.stateDict();
    const reference = tf.tidy(() => {
      const filter = sd.get('conv5_mask.weight')!.variable.read() as tf.Tensor4D; // [2, 2, 6, 8]
      const up = tf.relu(tf.add(tf.conv2dTranspose(x as tf.Tensor4D, filter, [2, 10, 6, 6], 2, 'valid'), sd.get('conv5_mask.bias')!.variable.read()));
      const w = sd.get('mask_fcn_logits.weight')!.variable.read() as tf.Tensor4D;
      return tf.add(tf.conv2d(up as tf.Tensor4D, w, 1, 'valid'), sd.get('mask_fcn_logits.bias')!.variable.read());
    });
    const ours = predictor.forward(x as tf.Tensor4D);
    expect(ours.shape).toEqual([2, 10, 6, 3]);
    expect(maxRelError(await ours.data(), await reference.data())).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, reference, ours]);
    predictor.dispose();
  });

  test('zero detections give empty logits and probabilities', () => {
    const empty = tf.zeros([0, 14, 14, 256]) as tf.Tensor4D;
    const logits = heads.predictMasks(empty);
    expect(logits.shape).toEqual([0, 28, 28, 91]);
    const noLabels = tf.tensor1d([], 'int32');
    const probs = maskrcnnInference(logits, noLabels);
    expect(probs.shape).toEqual([0, 28, 28]);
    const small = new RoIHeads({ inChannels: 8, representationSize: 4, maskLayers: [8], maskDimReduced: 8, numClasses: 3 });
    const emptySmall = tf.zeros([0, 14, 14, 8]) as tf.Tensor4D;
    const segmented = small.segment(emptySmall, noLabels);
    expect(segmented.shape).toEqual([0, 28, 28]);
    tf.dispose([empty, logits, noLabels, probs, emptySmall, segmented]);
    small.dispose();
  });

  test('segment() = predictMasks + maskrcnnInference, and does not leak tensors', async () => {
    // small channels: the same code paths at a fraction of the cost
    const small = new RoIHeads({ inChannels: 8, representationSize: 16, maskLayers: [8, 8], maskDimReduced: 8, numClasses: 3 });
    const x = tf.tidy(() => tf.slice(features, [0, 0, 0, 0], [2, 14, 14, 8])) as tf.Tensor4D;
    const l = tf.tensor1d([2, 1], 'int32');
    const before = tf.memory().numTensors;
    const probs = small.segment(x, l);
    const logitsSmall = small.predictMasks(x);
    const reference = maskrcnnInference(logitsSmall, l);
    expect(probs.shape).toEqual([2, 28, 28]);
    expect(Array.from(await probs.data())).toEqual(Array.from(await reference.data()));
    tf.dispose([probs, logitsSmall, reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, l]);
    small.dispose();
  });
});

describeEachBackend('maskrcnnInference', () => {
  test('selects each row\'s label channel, then sigmoid', async () => {
    const logits = tf.tidy(() => tf.reshape(tf.range(0, 2 * 2 * 2 * 3), [2, 2, 2, 3]).div(10)) as tf.Tensor4D; // [D=2, 2, 2, K=3]
    const l = tf.tensor1d([2, 0], 'int32');
    const before = tf.memory().numTensors;
    const probs = maskrcnnInference(logits, l);
    expect(tf.memory().numTensors).toBe(before + 1);
    const v = (x: number) => 1 / (1 + Math.exp(-x / 10));
    // row 0 channel 2: values 2, 5, 8, 11; row 1 channel 0: 12, 15, 18, 21
    const expected = [2, 5, 8, 11, 12, 15, 18, 21].map(v);
    expect(maxRelError(await probs.data(), expected)).toBeLessThanOrEqual(1e-6);
    tf.dispose([logits, l, probs]);
  });

  test('bad labels are rejected with the argument named', () => {
    const logits = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    expect(() => maskrcnnInference(logits, tf.tensor1d([1], 'int32'))).toThrow('Error in maskrcnnInference: labels must have shape [2], got [1]');
    expect(() => maskrcnnInference(logits, tf.tensor1d([1, 3], 'int32'))).toThrow('labels[1] = 3 is outside 0 .. 2');
    expect(() => maskrcnnInference(logits, tf.tensor1d([1, 2]))).toThrow('labels must be int32, got float32');
    tf.dispose(logits);
  });
});

describe('mask layers input checks', () => {
  test('wrong channel counts are rejected', () => {
    const head = new MaskHead({ inChannels: 4, layers: [4] });
    expect(() => head.forward(tf.zeros([1, 5, 5, 3]) as tf.Tensor4D)).toThrow('Error in MaskHead.forward: x must have shape [D, S, S, 4], got [1,5,5,3]');
    const predictor = new MaskPredictor({ inChannels: 4, dimReduced: 4, numClasses: 2 });
    expect(() => predictor.forward(tf.zeros([1, 5, 5, 3]) as tf.Tensor4D)).toThrow('Error in MaskPredictor.forward');
    expect(() => new MaskPredictor({ numClasses: 1 })).toThrow('numClasses must be an integer >= 2');
    expect(() => new MaskHead({ layers: [] })).toThrow('layers must list at least one conv');
    head.dispose();
    predictor.dispose();
  });
});
