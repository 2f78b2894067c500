import * as tf from '@tensorflow/tfjs';
import { GeneralizedRCNNTransform } from '../../src/transform/generalized_rcnn_transform';
import { describeEachBackend } from '../support/backends';

describeEachBackend('GeneralizedRCNNTransform', () => {
  it('normalises, resizes and pads a batch of mixed sizes to a multiple of 32', () => {
    const t = new GeneralizedRCNNTransform({ minSize: 20, maxSize: 40 });
    const a = tf.fill([10, 15, 3], 255, 'int32') as tf.Tensor3D; // -> 20x30
    const b = tf.zeros([12, 8, 3], 'float32') as tf.Tensor3D; // -> 30x20
    const before = tf.memory().numTensors;
    const out = t.forward([a, b]);
    expect(out.images.shape).toEqual([2, 32, 32, 3]);
    expect(out.imageSizes).toEqual([
      [20, 30],
      [30, 20],
    ]);
    expect(out.originalSizes).toEqual([
      [10, 15],
      [12, 8],
    ]);
    const px = out.images.arraySync();
    // White is (1 - mean) / std, black is -mean / std; padding stays exactly zero.
    expect(px[0][0][0][0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(px[1][0][0][2]).toBeCloseTo(-0.406 / 0.225, 5);
    expect(px[0][19][29]).not.toEqual([0, 0, 0]);
    expect(px[0][20][0]).toEqual([0, 0, 0]);
    expect(px[1][0][20]).toEqual([0, 0, 0]);
    out.images.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('rejects bad images with a message naming the image and the problem', () => {
    const t = new GeneralizedRCNNTransform();
    const cases: [tf.Tensor, string][] = [
      [tf.zeros([4, 4]), 'image 0 must have rank 3 [H, W, 3], got shape [4, 4]'],
      [tf.zeros([1, 4, 4, 3]), 'image 0 must have rank 3 [H, W, 3], got shape [1, 4, 4, 3]'],
      [tf.zeros([4, 4, 4]), 'image 0 must have 3 channels (RGB), got 4 in shape [4, 4, 4]'],
      [tf.zeros([4, 4, 1]), 'image 0 must have 3 channels (RGB), got 1'],
      [tf.zeros([4, 4, 3], 'bool'), 'image 0 has dtype bool; expected int32 (0-255) or float32 (0-1)'],
      [tf.zeros([0, 4, 3]), 'image 0 is empty (0x4)'],
      [tf.tensor3d([NaN, 0, 0], [1, 1, 3]), 'image 0 contains NaN or infinite values'],
      [tf.fill([2, 2, 3], 200, 'float32'), 'image 0 has values in [200, 200]; float32 images must lie in [0, 1]'],
      [tf.fill([2, 2, 3], 300, 'int32'), 'image 0 has values in [300, 300]; int32 images must lie in [0, 255]'],
    ];
    for (const [img, message] of cases) {
      expect(() => t.forward([img as tf.Tensor3D])).toThrow(message);
    }
    const ok = tf.zeros([2, 2, 3]) as tf.Tensor3D;
    expect(() => t.forward([ok, cases[2][0] as tf.Tensor3D])).toThrow('image 1 must have 3 channels');
    expect(() => t.forward([])).toThrow('no images given');
    expect(() => new GeneralizedRCNNTransform({ minSize: 0 })).toThrow('minSize must be a positive integer, got 0');
    tf.dispose([ok, ...cases.map((c) => c[0])]);
  });
});
