import * as tf from '@tensorflow/tfjs';
import { boxIou } from '../../src/boxes/box_iou';
import { clipBoxesToImage } from '../../src/boxes/clip_boxes';
import { removeSmallBoxes } from '../../src/boxes/remove_small_boxes';
import { describeEachBackend } from '../support/backends';
import { maxRelError, readFixture } from '../rpn/fixture_io';

interface OpsFixture {
  iou: { boxes1: number[][]; boxes2: number[][]; iou: number[][] };
  clip: { boxes: number[][]; size: [number, number]; clipped: number[][] };
  removeSmall: { boxes: number[][]; minSize: number; keep: number[] };
}
const fx = readFixture<OpsFixture>('box_ops.json');

/** Naive float64 reference for one pair (torchvision test_ops style expected_fn). */
function naiveIou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

describeEachBackend('box ops', () => {
  it('boxIou matches torchvision and a naive loop', async () => {
    const a = tf.tensor2d(fx.iou.boxes1);
    const b = tf.tensor2d(fx.iou.boxes2);
    const iou = boxIou(a, b);
    expect(iou.shape).toEqual([fx.iou.boxes1.length, fx.iou.boxes2.length]);
    const got = await iou.data();
    expect(maxRelError(got, fx.iou.iou.flat(), 1e-6)).toBeLessThan(1e-6);
    const naive = fx.iou.boxes1.flatMap((x) => fx.iou.boxes2.map((y) => naiveIou(x, y)));
    expect(maxRelError(got, naive, 1e-6)).toBeLessThan(1e-5);
    tf.dispose([a, b, iou]);
  });

  it('boxIou of empty sets is an empty matrix, without leaks', () => {
    const a = tf.zeros([0, 4]) as tf.Tensor2D;
    const b = tf.tensor2d([[0, 0, 1, 1]]);
    const before = tf.memory().numTensors;
    const x = boxIou(a, b);
    const y = boxIou(b, a);
    expect(x.shape).toEqual([0, 1]);
    expect(y.shape).toEqual([1, 0]);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
    expect(() => boxIou(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(
      /Error in boxIou: boxes1 must have shape \[N, 4\]/,
    );
  });

  it('clipBoxesToImage matches torchvision exactly and keeps the shape', async () => {
    const boxes = tf.tensor2d(fx.clip.boxes);
    const before = tf.memory().numTensors;
    const clipped = clipBoxesToImage(boxes, fx.clip.size);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(await clipped.data())).toEqual(fx.clip.clipped.flat().map(Math.fround));
    // [R, K, 4] boxes (one per class) clip the same way
    const perClass = tf.reshape(tf.tile(boxes, [1, 2]), [-1, 2, 4]);
    const clipped3 = clipBoxesToImage(perClass, fx.clip.size);
    expect(clipped3.shape).toEqual([fx.clip.boxes.length, 2, 4]);
    expect(Array.from(await clipped3.data())).toEqual(
      fx.clip.clipped.flatMap((r) => [...r, ...r]).map(Math.fround),
    );
    const empty = tf.zeros([0, 4]);
    const emptyClipped = clipBoxesToImage(empty, [10, 10]);
    expect(emptyClipped.shape).toEqual([0, 4]);
    tf.dispose([boxes, clipped, perClass, clipped3, empty, emptyClipped]);
    expect(() => clipBoxesToImage(tf.zeros([2, 3]), [5, 5])).toThrow(/Error in clipBoxesToImage: boxes must have a last dimension/);
  });
});

describe('removeSmallBoxes', () => {
  it('matches torchvision (float32 widths, float32 threshold, >= keeps)', () => {
    const boxes = Float32Array.from(fx.removeSmall.boxes.flat());
    expect(Array.from(removeSmallBoxes(boxes, fx.removeSmall.minSize))).toEqual(fx.removeSmall.keep);
  });

  it('handles empty input and rejects bad input', () => {
    expect(removeSmallBoxes(new Float32Array(0), 1e-3)).toHaveLength(0);
    expect(() => removeSmallBoxes(new Float32Array(3), 1e-3)).toThrow(/Error in removeSmallBoxes: boxes must hold 4 values/);
    expect(() => removeSmallBoxes(new Float32Array(4), NaN)).toThrow(/minSize/);
  });
});
