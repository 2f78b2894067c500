/** BoxHead / BoxPredictor / RoIHeads.detect against torchvision 0.14 (tools/make_heads_cases.py). */
import * as tf from '@tensorflow/tfjs';
import { BoxHead, BoxPredictor, RoIHeads } from '../../src/heads';
import { torchShape, withoutInitialization } from '../../src/nn/torch_layer';
import { disposeDetections, type ImageDetections } from '../../src/postprocess';
import { describeEachBackend, useBackend } from '../support/backends';
import {
  decodeF32,
  hashedNhwc,
  hashedValues,
  loadHashedWeights,
  matchedFraction,
  maxRelError,
  normRelError,
  readHeadsFixture,
  type HashedSpec,
  type PlainDetections,
} from './support/fixtures';

interface HeadsFixture {
  weights: Record<string, HashedSpec>;
  numClasses: number;
  imageSizes: [number, number][];
  proposals: number[][][];
  boxFeatures: HashedSpec;
  classLogits: string;
  boxRegression: string;
  detections: PlainDetections[];
}
interface StandaloneFixture {
  head: Record<string, HashedSpec>;
  predictor: Record<string, HashedSpec>;
  features: HashedSpec;
  classLogits: number[][];
  boxRegression: number[][];
}

const fx = readHeadsFixture<HeadsFixture>('heads.json');
const standalone = readHeadsFixture<StandaloneFixture>('standalone.json');

test('the hashed generator reproduces the values printed by the Python generator', () => {
  const v = hashedValues({ shape: [4], seed: 3, scale: 1 });
  expect(Array.from(v)).toEqual([-0.878536581993103, 0.8966681957244873, 0.239166259765625, -0.06725454330444336]);
});

test('RoIHeads exposes exactly torchvision state_dict keys and shapes', async () => {
  await useBackend('cpu');
  const heads = withoutInitialization(() => new RoIHeads());
  const sd = heads.stateDict();
  expect([...sd.keys()].sort()).toEqual(Object.keys(fx.weights).sort());
  for (const [key, p] of sd) expect(torchShape(p.variable.shape as number[], p.layout)).toEqual(fx.weights[key].shape);
  heads.dispose();
});

describeEachBackend('box head and predictor', (backend) => {
  let heads: RoIHeads;
  let features: tf.Tensor4D;
  let out: { classLogits: tf.Tensor2D; boxRegression: tf.Tensor2D };
  let dets: ImageDetections[];
  let proposals: tf.Tensor2D[];
  beforeAll(async () => {
    const t0 = Date.now();
    heads = withoutInitialization(() => new RoIHeads());
    loadHashedWeights(heads, fx.weights);
    features = hashedNhwc(fx.boxFeatures);
    proposals = fx.proposals.map((p) => tf.tensor2d(p, [p.length, 4]));
    out = heads.predictBoxes(features);
    dets = await heads.detect(features, proposals, fx.imageSizes);
    console.log(`[${backend}] box branch on 40 RoIs twice, with setup: ${Date.now() - t0} ms`);
  });
  afterAll(() => {
    heads.dispose();
    tf.dispose([features, out.classLogits, out.boxRegression, ...proposals]);
    disposeDetections(dets);
  });

  test('class logits and box regression within 1e-5 of torchvision', async () => {
    const { classLogits, boxRegression } = out;
    expect(classLogits.shape).toEqual([40, 91]);
    expect(boxRegression.shape).toEqual([40, 364]);
    const [ourLogits, ourDeltas] = [await classLogits.data(), await boxRegression.data()];
    const [theirLogits, theirDeltas] = [decodeF32(fx.classLogits), decodeF32(fx.boxRegression)];
    const errLogits = normRelError(ourLogits, theirLogits);
    const errDeltas = normRelError(ourDeltas, theirDeltas);
    console.log(
      `[${backend}] box head error relative to max |output|: logits ${errLogits.toExponential(2)}, deltas ${errDeltas.toExponential(2)}` +
        ` (elementwise with floor 1: ${maxRelError(ourLogits, theirLogits).toExponential(2)}, ${maxRelError(ourDeltas, theirDeltas).toExponential(2)})`,
    );
    expect(errLogits).toBeLessThanOrEqual(1e-5);
    expect(errDeltas).toBeLessThanOrEqual(1e-5);
  });

  test('detect() on pooled features matches torchvision detections both ways', async () => {
    for (let i = 0; i < 2; i++) {
      const ours: PlainDetections = {
        boxes: (await dets[i].predBoxes.array()) as number[][],
        scores: Array.from(await dets[i].predScores.data()),
        labels: Array.from(await dets[i].predLabels.data()),
      };
      const theirs = fx.detections[i];
      const a = matchedFraction(theirs, ours);
      const b = matchedFraction(ours, theirs);
      console.log(`[${backend}] image ${i}: ${theirs.scores.length} torchvision / ${ours.scores.length} ours; matched ${(100 * a).toFixed(1)}% / ${(100 * b).toFixed(1)}%`);
      expect(theirs.scores.length).toBeGreaterThan(20);
      expect(a).toBeGreaterThanOrEqual(0.98);
      expect(b).toBeGreaterThanOrEqual(0.98);
    }
  });

  test('zero RoIs give empty outputs and no detections', async () => {
    const empty = tf.zeros([0, 7, 7, 256]) as tf.Tensor4D;
    const { classLogits, boxRegression } = heads.predictBoxes(empty);
    expect(classLogits.shape).toEqual([0, 91]);
    expect(boxRegression.shape).toEqual([0, 364]);
    const none = tf.zeros([0, 4]) as tf.Tensor2D;
    const [det] = await heads.detect(empty, [none], [[30, 40]]);
    expect(det.predBoxes.shape).toEqual([0, 4]);
    disposeDetections([det]);
    tf.dispose([empty, none, classLogits, boxRegression]);
  });

  test('does not leak tensors', async () => {
    // small sizes: the same code paths as the full heads at a fraction of the cost
    const small = new RoIHeads({ inChannels: 4, representationSize: 8, numClasses: 5, maskLayers: [4] });
    const x = tf.randomUniform([3, 7, 7, 4]) as tf.Tensor4D;
    const p = tf.tensor2d([[0, 0, 10, 10], [2, 2, 9, 12], [5, 5, 20, 20]]);
    const before = tf.memory().numTensors;
    const o = small.predictBoxes(x);
    tf.dispose([o.classLogits, o.boxRegression]);
    disposeDetections(await small.detect(x, [p], [[30, 30]], { scoreThresh: 0 }));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, p]);
    small.dispose();
  });
});

describeEachBackend('standalone heads with fine-tuning sizes', () => {
  test('64 x 7 x 7 -> 128 -> 5 classes matches torchvision', async () => {
    const head = new BoxHead({ inChannels: 64, representationSize: 128 });
    const predictor = new BoxPredictor({ inChannels: 128, numClasses: 5 });
    loadHashedWeights(head, standalone.head);
    loadHashedWeights(predictor, standalone.predictor);
    const x = hashedNhwc(standalone.features);
    const h = head.forward(x);
    const { classLogits, boxRegression } = predictor.forward(h);
    expect(normRelError(await classLogits.data(), standalone.classLogits.flat())).toBeLessThanOrEqual(1e-5);
    expect(normRelError(await boxRegression.data(), standalone.boxRegression.flat())).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, h, classLogits, boxRegression]);
    head.dispose();
    predictor.dispose();
  });
});

describe('box head input checks', () => {
  test('wrong shapes and settings are rejected with the argument named', () => {
    const head = new BoxHead({ inChannels: 4, resolution: 2, representationSize: 3 });
    const x = tf.zeros([2, 3, 3, 4]) as tf.Tensor4D;
    expect(() => head.forward(x)).toThrow('Error in BoxHead.forward: x must have shape [R, 2, 2, 4], got [2,3,3,4]');
    const predictor = new BoxPredictor({ inChannels: 3, numClasses: 2 });
    expect(() => predictor.forward(tf.zeros([2, 4]) as tf.Tensor2D)).toThrow('Error in BoxPredictor.forward: x must have shape [R, 3]');
    expect(() => new BoxPredictor({ numClasses: 1 })).toThrow('numClasses must be an integer >= 2');
    expect(() => new BoxHead({ resolution: 0 })).toThrow('resolution must be a positive integer');
    tf.dispose(x);
    head.dispose();
    predictor.dispose();
  });
});
