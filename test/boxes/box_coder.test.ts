import * as tf from '@tensorflow/tfjs';
import { BoxCoder, DEFAULT_BBOX_XFORM_CLIP, ROI_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS } from '../../src/boxes/box_coder';
import { describeEachBackend } from '../support/backends';
import { maxAbs, maxRelError, readFixture } from '../rpn/fixture_io';

interface CoderCase {
  weights: [number, number, number, number];
  reference: number[][];
  gt: number[][];
  targets: number[][];
  numClasses: number;
  deltas: number[][];
  decoded: number[][][];
}

const cases = readFixture<CoderCase[]>('box_coder.json');

describeEachBackend('BoxCoder', () => {
  it('has torchvision constants', () => {
    expect(RPN_BOX_CODER_WEIGHTS).toEqual([1, 1, 1, 1]);
    expect(ROI_BOX_CODER_WEIGHTS).toEqual([10, 10, 5, 5]);
    expect(DEFAULT_BBOX_XFORM_CLIP).toBeCloseTo(4.135166556742356, 14);
  });

  it.each(cases.map((c, i) => [i, c.weights.join(','), c.numClasses, c] as const))(
    'case %i (weights %s, K=%i) encodes and decodes as torchvision within 1e-6',
    async (_i, _w, _k, c) => {
      const coder = new BoxCoder(c.weights);
      const ref = tf.tensor2d(c.reference);
      const gt = tf.tensor2d(c.gt);
      const deltas = tf.tensor2d(c.deltas);
      const targets = coder.encode(gt, ref);
      const decoded = coder.decode(deltas, ref);
      expect(decoded.shape).toEqual([c.reference.length, c.numClasses, 4]);
      // Deltas: relative error with an absolute floor of 1 (a delta is a dimensionless offset).
      expect(maxRelError(await targets.data(), c.targets.flat(), 1)).toBeLessThan(1e-6);
      // Corners: relative to the image scale, as a corner near 0 is a difference of large numbers
      // (centre - half size) and carries their absolute float32 error.
      const expected = c.decoded.flat(2);
      expect(maxRelError(await decoded.data(), expected, maxAbs(expected))).toBeLessThan(1e-6);
      tf.dispose([ref, gt, deltas, targets, decoded]);
    },
  );

  it('clamps dw/dh at log(1000/16) before exp (only from above)', async () => {
    const coder = new BoxCoder(RPN_BOX_CODER_WEIGHTS);
    const ref = tf.tensor2d([[0, 0, 16, 16]]);
    const deltas = tf.tensor2d([[0, 0, 100, -3]]);
    const decoded = coder.decode(deltas, ref);
    const [x1, y1, x2, y2] = Array.from(await decoded.data());
    expect(x2 - x1).toBeCloseTo(1000, 3); // 16 * exp(log(1000 / 16))
    expect(y2 - y1).toBeCloseTo(16 * Math.exp(-3), 5);
    tf.dispose([ref, deltas, decoded]);
  });

  it('round-trips decode(encode(boxes, refs), refs) == boxes', async () => {
    for (const weights of [RPN_BOX_CODER_WEIGHTS, ROI_BOX_CODER_WEIGHTS]) {
      const coder = new BoxCoder(weights);
      const ref = tf.tensor2d([
        [10, 20, 110, 70],
        [0, 0, 4, 4],
        [300.5, 7.25, 301.5, 400],
      ]);
      const boxes = tf.tensor2d([
        [12, 18, 130, 90],
        [1, -2, 3, 10],
        [290, 10, 320, 350],
      ]);
      const back = tf.tidy(() => coder.decode(coder.encode(boxes, ref), ref));
      expect(maxRelError(await back.data(), await boxes.data(), 1)).toBeLessThan(1e-5);
      tf.dispose([ref, boxes, back]);
    }
  });

  it('handles zero boxes and does not leak', async () => {
    const coder = new BoxCoder(ROI_BOX_CODER_WEIGHTS);
    const ref = tf.zeros([0, 4]) as tf.Tensor2D;
    const deltas = tf.zeros([0, 12]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const decoded = coder.decode(deltas, ref);
    const encoded = coder.encode(ref, ref);
    expect(decoded.shape).toEqual([0, 3, 4]);
    expect(encoded.shape).toEqual([0, 4]);
    tf.dispose([decoded, encoded]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ref, deltas]);
  });

  it('rejects bad input with the argument named', () => {
    expect(() => new BoxCoder([1, 1, 0, 1])).toThrow(/Error in BoxCoder: weights/);
    const coder = new BoxCoder(RPN_BOX_CODER_WEIGHTS);
    const ref = tf.zeros([2, 4]) as tf.Tensor2D;
    const bad = tf.zeros([2, 6]) as tf.Tensor2D;
    const three = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => coder.decode(bad, ref)).toThrow(/Error in BoxCoder.decode: deltas must have shape \[R, 4\*K\]/);
    expect(() => coder.decode(three, ref)).toThrow(/same number of rows/);
    expect(() => coder.encode(bad, ref)).toThrow(/Error in BoxCoder.encode: boxes must have shape \[R, 4\]/);
    tf.dispose([ref, bad, three]);
  });
});
