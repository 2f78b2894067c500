/** resizeBoxes / pasteMasks against torchvision 0.14's transform.postprocess. */
import * as tf from '@tensorflow/tfjs';
import {
  maskCropToImage,
  masksToTensor,
  pasteGeometry,
  pasteMasks,
  pasteMasksInImage,
  resizeBoxes,
  type MaskCrop,
} from '../../src/postprocess';
import { describeEachBackend } from '../support/backends';
import { decodeBits, decodeF32, maxRelError, readHeadsFixture, type PlainDetections } from './support/fixtures';

interface HeadsFixture {
  imageSizes: [number, number][];
  originalSizes: [number, number][];
  detections: PlainDetections[];
  maskProbs: string;
  resizedBoxes: number[][][];
  pastedBinary: string[];
  pastedProbsFirst: number;
  pastedProbs: string[];
}
interface ResizeFixture {
  input: string;
  cases: { size: [number, number]; output: string }[];
}

const fx = readHeadsFixture<HeadsFixture>('heads.json');
const resizeFx = readHeadsFixture<ResizeFixture>('resize_bilinear.json');
const allProbs = decodeF32(fx.maskProbs); // [D, 28, 28], image 0's detections first

function binaryIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union === 0 ? 1 : inter / union;
}

describeEachBackend('mask pasting', (backend) => {
  test('tf.image.resizeBilinear(halfPixelCenters) matches F.interpolate(bilinear, align_corners=False)', async () => {
    const input = tf.tensor4d(decodeF32(resizeFx.input), [1, 30, 30, 1]);
    let worst = 0;
    for (const c of resizeFx.cases) {
      const out = tf.image.resizeBilinear(input, c.size, false, true);
      worst = Math.max(worst, maxRelError(await out.data(), decodeF32(c.output)));
      out.dispose();
    }
    console.log(`[${backend}] resizeBilinear vs torch on ${resizeFx.cases.length} sizes: max abs error ${worst.toExponential(2)}`);
    // Same sample points; torch computes the scale and source positions in float32, tfjs in
    // float64 (cpu) or its own float order (wasm): positions differ by ~1e-7 * size px, values by
    // ~1e-6. A half-pixel convention error would show as ~1e-1.
    expect(worst).toBeLessThanOrEqual(1e-5);
    input.dispose();
  });

  test('resizeBoxes reproduces resize_boxes bit for bit', async () => {
    for (let i = 0; i < 2; i++) {
      const boxes = tf.tensor2d(fx.detections[i].boxes, [fx.detections[i].boxes.length, 4]);
      const resized = resizeBoxes(boxes, fx.imageSizes[i], fx.originalSizes[i]);
      expect(Array.from(await resized.data())).toEqual(fx.resizedBoxes[i].flat());
      tf.dispose([boxes, resized]);
    }
  });

  test('pasted masks of 140 detections on 37x53 and 45x30 images match paste_masks_in_image', async () => {
    let offset = 0;
    const ious: number[] = [];
    let worstProb = 0;
    for (let i = 0; i < 2; i++) {
      const [h, w] = fx.originalSizes[i];
      const d = fx.resizedBoxes[i].length;
      const probs = tf.tensor3d(allProbs.subarray(offset * 784, (offset + d) * 784), [d, 28, 28]);
      offset += d;
      const boxes = tf.tensor2d(fx.resizedBoxes[i], [d, 4]);
      const crops = await pasteMasks(probs, boxes, [h, w]);
      expect(crops).toHaveLength(d);
      const theirs = decodeBits(fx.pastedBinary[i], d * h * w);
      crops.forEach((c, j) => ious.push(binaryIou(maskCropToImage(c, [h, w]), theirs.subarray(j * h * w, (j + 1) * h * w))));
      // full probabilities of the first detections
      const full = masksToTensor(crops.slice(0, fx.pastedProbsFirst), [h, w]);
      worstProb = Math.max(worstProb, maxRelError(await full.data(), decodeF32(fx.pastedProbs[i])));
      tf.dispose([probs, boxes, full]);
    }
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    const min = Math.min(...ious);
    console.log(
      `[${backend}] pasted binary masks (p > 0.5) vs torchvision: ${ious.length} masks, IoU min ${min.toFixed(5)}, mean ${mean.toFixed(6)}, ` +
        `${ious.filter((v) => v === 1).length} identical; pasted probabilities max abs error ${worstProb.toExponential(2)}`,
    );
    expect(ious).toHaveLength(140);
    expect(min).toBeGreaterThanOrEqual(0.98);
    expect(mean).toBeGreaterThanOrEqual(0.995);
    expect(worstProb).toBeLessThanOrEqual(1e-5);
  });

  test('pasteMasksInImage equals the crops materialised; bool masks threshold at > 0.5', async () => {
    const d = 5;
    const probs = tf.tensor3d(allProbs.subarray(0, d * 784), [d, 28, 28]);
    const boxes = tf.tensor2d(fx.resizedBoxes[0].slice(0, d), [d, 4]);
    const full = await pasteMasksInImage(probs, boxes, [37, 53]);
    expect(full.shape).toEqual([d, 37, 53]);
    const crops = await pasteMasks(probs, boxes, [37, 53]);
    const fromCrops = masksToTensor(crops, [37, 53]);
    expect(Array.from(await full.data())).toEqual(Array.from(await fromCrops.data()));
    const binary = masksToTensor(crops, [37, 53], 0.5);
    expect(binary.dtype).toBe('bool');
    const expected = Array.from(await full.data()).map((p) => (p > 0.5 ? 1 : 0));
    expect(Array.from(await binary.data())).toEqual(expected);
    tf.dispose([probs, boxes, full, fromCrops, binary]);
  });

  test('zero detections: no crops and a [0, H, W] tensor', async () => {
    const probs = tf.zeros([0, 28, 28]) as tf.Tensor3D;
    const boxes = tf.zeros([0, 4]) as tf.Tensor2D;
    expect(await pasteMasks(probs, boxes, [37, 53])).toEqual([]);
    const full = await pasteMasksInImage(probs, boxes, [37, 53]);
    expect(full.shape).toEqual([0, 37, 53]);
    tf.dispose([probs, boxes, full]);
  });

  test('does not leak tensors', async () => {
    const probs = tf.tensor3d(allProbs.subarray(0, 3 * 784), [3, 28, 28]);
    const boxes = tf.tensor2d(fx.resizedBoxes[0].slice(0, 3), [3, 4]);
    const before = tf.memory().numTensors;
    await pasteMasks(probs, boxes, [37, 53]);
    const full = await pasteMasksInImage(probs, boxes, [37, 53]);
    const resized = resizeBoxes(boxes, [60, 86], [37, 53]);
    tf.dispose([full, resized]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([probs, boxes]);
  });
});

describe('paste geometry and checks', () => {
  test('expanded integer box and window follow torchvision (scale 30/28, truncation, TO_REMOVE = 1)', () => {
    // w_half = 14 * 30/28 = 15, x_c = 24 -> [9, 39]; h_half = 7.5, y_c = 17 -> [9.5, 24.5] -> [9, 24]
    expect(pasteGeometry([10, 10, 38, 24], 28, [50, 60])).toEqual({ box: [9, 9, 39, 24], resizeTo: [16, 31], window: [9, 9, 40, 25] });
    // negative coordinates truncate toward zero (int64 conversion), and the window is clipped
    const g = pasteGeometry([-3.7, 0, 5.2, 40], 28, [20, 8]);
    expect(g.box[0]).toBe(Math.trunc(Math.fround(Math.fround(0.75) - Math.fround(Math.fround(Math.fround(8.9) * 0.5) * Math.fround(30 / 28)))));
    expect(g.window).toEqual([0, 0, Math.min(g.box[2] + 1, 8), 20]);
  });

  test('a box outside the image gives an empty crop', async () => {
    const probs = tf.ones([1, 28, 28]) as tf.Tensor3D;
    const boxes = tf.tensor2d([[100, 100, 120, 130]]);
    const [crop] = await pasteMasks(probs, boxes, [37, 53]);
    expect([crop.width, crop.height, crop.probs.length]).toEqual([0, 0, 0]);
    expect(Array.from(maskCropToImage(crop, [37, 53])).every((v) => v === 0)).toBe(true);
    tf.dispose([probs, boxes]);
  });

  test('bad inputs are rejected with the argument named', async () => {
    const probs = tf.zeros([2, 28, 28]) as tf.Tensor3D;
    const boxes = tf.zeros([2, 4]) as tf.Tensor2D;
    await expect(pasteMasks(probs, tf.zeros([3, 4]) as tf.Tensor2D, [5, 5])).rejects.toThrow('Error in pasteMasks: boxes must have shape [2, 4], got [3,4]');
    await expect(pasteMasks(tf.zeros([2, 28, 27]) as tf.Tensor3D, boxes, [5, 5])).rejects.toThrow('maskProbs must have shape [D, M, M]');
    await expect(pasteMasks(probs, boxes, [5.5, 5])).rejects.toThrow('imageSize must be [height, width], positive integers');
    await expect(pasteMasks(probs, tf.tensor2d([[0, 0, NaN, 1], [0, 0, 1, 1]]), [5, 5])).rejects.toThrow('boxes[0] is not finite');
    expect(() => resizeBoxes(boxes, [0, 5], [5, 5])).toThrow('Error in resizeBoxes: fromSize must be [height, width] > 0');
    const bad: MaskCrop = { x: 4, y: 0, width: 3, height: 1, probs: new Float32Array(3) };
    expect(() => maskCropToImage(bad, [5, 5])).toThrow('is outside the 5x5 image');
    tf.dispose([probs, boxes]);
  });
});
