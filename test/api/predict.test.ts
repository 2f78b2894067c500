/**
 * The public API on a small randomly initialised model (the parity suite covers correctness):
 * input kinds, options, empty results, bad input, leaks, save/load.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { load, MaskRCNNModel, maskToFull } from '../../src/api/model';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { COCO_CATEGORY_NAMES } from '../../src/model/coco_names';
import { useBackend } from '../support/backends';

// Scores of a random model hover around 1/91, so everything is kept; five detections per image
// exercise the mask path without running the mask head on a hundred RoIs each time.
const FEW = { scoreThreshold: 0, maxDetections: 5 };

const SMALL = {
  transform: { minSize: 96, maxSize: 160 },
  rpn: { preNmsTopN: { training: 200, testing: 100 }, postNmsTopN: { training: 200, testing: 100 } },
};

describe('MaskRCNNModel.predict', () => {
  let model: MaskRCNNModel;
  let dir: string;
  let rgb: Uint8Array; // 60x80 test picture

  beforeAll(async () => {
    await useBackend('wasm');
    tf.randomNormal([1]).dispose();
    model = new MaskRCNNModel(new MaskRCNN(SMALL), COCO_CATEGORY_NAMES, undefined);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-api-'));
    rgb = new Uint8Array(60 * 80 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 7)) % 251;
    const raw = { raw: { width: 80, height: 60, channels: 3 as const } };
    await sharp(Buffer.from(rgb), raw).png().toFile(path.join(dir, 'pic.png'));
    // The same pixels stored rotated with an EXIF orientation that rotates them back.
    await sharp(Buffer.from(rgb), raw).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toFile(path.join(dir, 'rotated.jpg'));
    await sharp(Buffer.from(rgb), raw).webp({ lossless: true }).toFile(path.join(dir, 'pic.webp'));
    await sharp(Buffer.from(rgb), raw).ensureAlpha().png().toFile(path.join(dir, 'rgba.png'));
    fs.writeFileSync(path.join(dir, 'corrupt.png'), Buffer.concat([fs.readFileSync(path.join(dir, 'pic.png')).subarray(0, 40)]));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(dir, 'empty.png'), '');
  });

  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('returns the same detections for a tensor, a PNG, a lossless WebP, RGBA pixels and encoded bytes', async () => {
    const tensor = tf.tensor3d(rgb, [60, 80, 3], 'int32');
    const rgba = new Uint8ClampedArray(60 * 80 * 4);
    for (let p = 0; p < 60 * 80; p++) {
      rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      rgba[4 * p + 3] = 255;
    }
    const inputs = [
      tensor,
      path.join(dir, 'pic.png'),
      path.join(dir, 'pic.webp'),
      path.join(dir, 'rgba.png'),
      { data: rgba, width: 80, height: 60 },
      new Uint8Array(fs.readFileSync(path.join(dir, 'pic.png'))),
    ];
    const preds = await model.predict(inputs, FEW);
    expect(preds).toHaveLength(inputs.length);
    const first = preds[0];
    expect([first.height, first.width]).toEqual([60, 80]);
    expect(first.detections.length).toBeGreaterThan(0);
    const d0 = first.detections[0];
    expect(d0.mask.format).toBe('cropped');
    expect(d0.mask.data).toHaveLength(d0.mask.width * d0.mask.height);
    expect(maskToFull(d0.mask)).toHaveLength(60 * 80);
    expect(d0.labelName).toBe(COCO_CATEGORY_NAMES[d0.label]);
    for (const p of preds.slice(1)) {
      expect(p.detections.map((d) => [d.label, d.score.toFixed(5), d.box.map((v) => v.toFixed(3))])).toEqual(
        first.detections.map((d) => [d.label, d.score.toFixed(5), d.box.map((v) => v.toFixed(3))]),
      );
    }
    tensor.dispose();
  });

  it('applies EXIF orientation, and batches images of mixed sizes', async () => {
    const [upright, small] = await model.predict([path.join(dir, 'rotated.jpg'), tf.zeros([30, 50, 3]) as tf.Tensor3D], FEW);
    expect([upright.height, upright.width]).toEqual([60, 80]);
    expect([small.height, small.width]).toEqual([30, 50]);
    for (const d of small.detections) {
      expect(d.box[2]).toBeLessThanOrEqual(50);
      expect(d.box[3]).toBeLessThanOrEqual(30);
    }
  });

  it('honours maxDetections, maskThreshold and returnProbabilities', async () => {
    const options = { scoreThreshold: 0, maxDetections: 3, returnProbabilities: true, maskThreshold: 0.2 };
    const [p] = await model.predict(path.join(dir, 'pic.png'), { ...options, masks: 'full' });
    expect(p.detections).toHaveLength(3);
    for (const d of p.detections) {
      const probs = d.maskProbabilities!;
      expect(probs).toHaveLength(60 * 80);
      for (let q = 0; q < probs.length; q++) expect(d.mask.data[q]).toBe(probs[q] > 0.2 ? 1 : 0);
    }
    // cropped (default): the probabilities cover the mask's window
    const [c] = await model.predict(path.join(dir, 'pic.png'), options);
    for (const d of c.detections) {
      const probs = d.maskProbabilities!;
      expect(probs).toHaveLength(d.mask.width * d.mask.height);
      for (let q = 0; q < probs.length; q++) expect(d.mask.data[q]).toBe(probs[q] > 0.2 ? 1 : 0);
    }
  });

  it('an image with nothing above the threshold gives an empty result, not an error', async () => {
    const [p] = await model.predict(path.join(dir, 'pic.png'), { scoreThreshold: 1 });
    expect(p).toEqual({ height: 60, width: 80, detections: [] });
    expect(await model.predict([])).toEqual([]);
  });

  it('rejects bad input with an error naming it', async () => {
    const cases: [unknown, RegExp][] = [
      [path.join(dir, 'missing.jpg'), /input 0: .*image file not found: .*missing\.jpg/],
      [path.join(dir, 'corrupt.png'), /input 0: .*cannot decode .*corrupt\.png/],
      [path.join(dir, 'notes.txt'), /input 0: .*cannot decode .*notes\.txt.*unsupported format/],
      [path.join(dir, 'empty.png'), /input 0: .*empty\.png is empty/],
      [tf.zeros([0, 5, 3]), /image 0 is empty \(0x5\)/],
      [tf.tensor3d([NaN, 1, 1], [1, 1, 3], 'float32'), /image 0 contains NaN or infinite values/],
      [tf.zeros([5, 5]), /image 0 must have rank 3/],
      [{ data: new Uint8Array(7), width: 2, height: 2 }, /input 0: pixel buffer of 7 bytes does not hold 2x2 pixels/],
      [{ data: new Uint8Array(0), width: 0, height: 0 }, /input 0: pixel buffer size must be positive integers, got 0x0/],
      [42, /input 0 is not an image/],
    ];
    for (const [input, message] of cases) {
      await expect(model.predict(input as string)).rejects.toThrow(message);
    }
    await expect(model.predict(path.join(dir, 'pic.png'), { threshold: 0.5 } as object)).rejects.toThrow(
      "unknown option 'threshold'; valid options are scoreThreshold, maskThreshold, maxDetections, masks, returnProbabilities, maxPixels",
    );
    await expect(model.predict(path.join(dir, 'pic.png'), { maskThreshold: 2 })).rejects.toThrow('maskThreshold must be a number in [0, 1], got 2');
    tf.dispose(cases.map((c) => c[0]).filter((x): x is tf.Tensor => x instanceof tf.Tensor));
  });

  it('names the bad input of a batch by its index in the array (0-based), whichever check finds it', async () => {
    const good = path.join(dir, 'pic.png');
    const before = tf.memory().numTensors;
    const callers = tf.zeros([60, 80, 3], 'int32') as tf.Tensor3D; // the caller's: predict must not free it
    const cases: [unknown, string][] = [
      [path.join(dir, 'missing.jpg'), 'Error in predict: input 2: readImage: image file not found'],
      [{ data: new Uint8Array(7), width: 2, height: 2 }, 'Error in predict: input 2: pixel buffer of 7 bytes'],
      [42, 'Error in predict: input 2 is not an image'],
      [tf.zeros([0, 5, 3]), 'Error in GeneralizedRCNNTransform: image 2 is empty (0x5)'],
    ];
    for (const [bad, message] of cases) {
      await expect(model.predict([good, callers, bad] as string[], FEW)).rejects.toThrow(message);
    }
    tf.dispose(cases.map((c) => c[0]).filter((x): x is tf.Tensor => x instanceof tf.Tensor));
    expect(callers.isDisposed).toBe(false);
    callers.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaks no tensors over 20 predict calls', async () => {
    await model.predict(path.join(dir, 'pic.png'), FEW); // warm-up: caches, kernels
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const img = i % 2 === 0 ? path.join(dir, 'pic.png') : tf.zeros([40 + i, 30, 3]);
      await model.predict(img as string, FEW);
      if (img instanceof tf.Tensor) img.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saves to model.json + shards and loads back to the same predictions', async () => {
    const out = path.join(dir, 'saved');
    await model.save(`file://${out}`);
    const again = await load(out, { backend: 'wasm' });
    expect(again.network.config).toMatchObject(SMALL);
    const [a] = await model.predict(path.join(dir, 'pic.png'), FEW);
    const [b] = await again.predict(path.join(dir, 'pic.png'), FEW);
    expect(b.detections.map((d) => d.score)).toEqual(a.detections.map((d) => d.score));
    again.dispose();
    await expect(load(path.join(dir, 'nothing-here'))).rejects.toThrow(/nothing-here does not exist/);
  });
});
