import * as tf from '@tensorflow/tfjs';
import { MultiScaleRoIAlign } from '../../src/roi/multi_scale_roi_align';
import { LevelMapper } from '../../src/roi/level_mapper';
import { roiAlign } from '../../src/roi/roi_align';
import { describeEachBackend } from '../support/backends';
import { maxRelError, seededValues } from './support/naive_roi_align';

// A 2-image batch padded to 128 x 192 with FPN maps at strides 4..32 plus the unused 'pool'.
const C = 4;
const SIZES: Record<string, [number, number]> = { '0': [32, 48], '1': [16, 24], '2': [8, 12], '3': [4, 6], pool: [2, 3] };
const IMAGE_SHAPES: [number, number][] = [
  [120, 180],
  [128, 150],
];
// canonicalScale 28 spreads boxes of this small image over all four levels.
const BOXES: number[][][] = [
  [
    [4, 6, 20, 18],
    [0, 0, 120, 80],
    [10, 10, 60, 60],
    [80, 20, 180, 120],
    [2, 2, 8, 6],
  ],
  [
    [20, 20, 140, 120],
    [6, 8, 34, 50],
    [-10, -10, 200, 140],
    [40, 40, 66, 62],
  ],
];

describeEachBackend('MultiScaleRoIAlign', () => {
  let feats: Record<string, tf.Tensor4D>;
  let boxes: tf.Tensor2D[];
  beforeAll(() => {
    feats = Object.fromEntries(
      Object.entries(SIZES).map(([k, [h, w]], i) => [k, tf.tensor4d(seededValues(2 * h * w * C, 10 + i), [2, h, w, C])]),
    );
    boxes = BOXES.map((b) => tf.tensor2d(b));
  });
  afterAll(() => tf.dispose([...Object.values(feats), ...boxes]));

  const make = () =>
    new MultiScaleRoIAlign({ featmapNames: ['0', '1', '2', '3'], outputSize: 7, samplingRatio: 2, canonicalScale: 28 });

  it('pools each box from its level with its scale, in the concatenated box order', () => {
    const pooler = make();
    expect(pooler.scales).toBeNull();
    const y = pooler.forward(feats, boxes, IMAGE_SHAPES);
    expect(pooler.scales).toEqual([0.25, 0.125, 0.0625, 0.03125]);
    expect(y.shape).toEqual([9, 7, 7, C]);
    const all = BOXES.flat();
    const images = BOXES.flatMap((b, i) => b.map(() => i));
    const levels = new LevelMapper({ kMin: 2, kMax: 5, canonicalScale: 28 }).levels(Float32Array.from(all.flat()));
    expect(new Set(levels)).toEqual(new Set([0, 1, 2, 3]));
    const got = y.dataSync();
    const per = 7 * 7 * C;
    all.forEach((box, r) => {
      const l = levels[r];
      const expected = tf.tidy(() =>
        roiAlign(feats[String(l)], tf.tensor2d([box]), tf.tensor1d([images[r]], 'int32'), [7, 7], 2 ** -(l + 2), 2).dataSync(),
      );
      expect(maxRelError(got.subarray(r * per, (r + 1) * per), expected)).toBe(0);
    });
    y.dispose();
  });

  it('keeps the scales inferred on the first call, as torchvision does', () => {
    const pooler = make();
    pooler.forward(feats, boxes, IMAGE_SHAPES).dispose();
    // Half-size images would infer scales twice as large; torchvision keeps its first ones.
    pooler.forward(feats, boxes, [[64, 96], [60, 90]]).dispose();
    expect(pooler.scales).toEqual([0.25, 0.125, 0.0625, 0.03125]);
    const fresh = make();
    fresh.forward(feats, boxes, [[64, 96], [60, 90]]).dispose();
    expect(fresh.scales).toEqual([0.5, 0.25, 0.125, 0.0625]);
  });

  it('gives [0, 7, 7, C] and zero gradients on every level for empty box lists', () => {
    const empty = [tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0, 4]) as tf.Tensor2D];
    const pooler = make();
    const y = pooler.forward(feats, empty, IMAGE_SHAPES);
    expect(y.shape).toEqual([0, 7, 7, C]);
    const names = ['0', '1', '2', '3'];
    const grads = tf.grads((...ts: tf.Tensor[]) =>
      tf.sum(pooler.forward(Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor4D])), empty, IMAGE_SHAPES)),
    )(names.map((n) => feats[n]));
    grads.forEach((g, i) => {
      expect(g.shape).toEqual(feats[names[i]].shape);
      expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    });
    tf.dispose([...empty, y, ...grads]);
  });

  it('gradient reaches each level through the boxes pooled from it', () => {
    const pooler = make();
    const names = ['0', '1', '2', '3'];
    const grads = tf.grads((...ts: tf.Tensor[]) =>
      tf.sum(pooler.forward(Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor4D])), boxes, IMAGE_SHAPES)),
    )(names.map((n) => feats[n]));
    // d sum / d level = C x the sampling weights of the level's boxes, which are non-negative and
    // positive for any box overlapping the map; each level has such a box.
    grads.forEach((g) => expect(tf.sum(g).dataSync()[0]).toBeGreaterThan(0));
    tf.dispose(grads);
  });

  it('does not leak tensors, forward or backward', () => {
    const pooler = make();
    const names = ['0', '1', '2', '3'];
    const before = tf.memory().numTensors;
    pooler.forward(feats, boxes, IMAGE_SHAPES).dispose();
    expect(tf.memory().numTensors).toBe(before);
    const grads = tf.grads((...ts: tf.Tensor[]) =>
      tf.sum(pooler.forward(Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor4D])), boxes, IMAGE_SHAPES)),
    )(names.map((n) => feats[n]));
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad input with the argument named', () => {
    const pooler = make();
    expect(() => pooler.forward({ '0': feats['0'], '1': feats['1'] }, boxes, IMAGE_SHAPES)).toThrow(
      `Error in MultiScaleRoIAlign.forward: feature maps ["2","3"] missing; got keys ["0","1"]`,
    );
    expect(() => pooler.forward(feats, [boxes[0]], IMAGE_SHAPES)).toThrow(/boxes must hold one \[Ri, 4\] tensor per image \(2\), got 1/);
    expect(() => pooler.forward(feats, boxes, [])).toThrow(/imageShapes must not be empty/);
    expect(() => pooler.forward(feats, boxes, [[0, 10]])).toThrow(/imageShapes\[0\] must be \[height, width\]/);
    expect(() => new MultiScaleRoIAlign({ featmapNames: [], outputSize: 7, samplingRatio: 2 })).toThrow(
      /featmapNames must be a non-empty list/,
    );
    expect(() => new MultiScaleRoIAlign({ featmapNames: ['0'], outputSize: 0, samplingRatio: 2 })).toThrow(/outputSize must be/);
  });
});
