/**
 * One resize / normalise / pad for training and inference: the same 8-bit images give the same
 * float32 batch, bit for bit, whether they go through the inference transform
 * (GeneralizedRCNNTransform.forward, on every test backend) or through the training loader's
 * transform and toTrainingBatch; and both equal torchvision 0.14's GeneralizedRCNNTransform
 * (SHA-256 of the batch recorded by tools/parity/dump_transform_cases.py).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'crypto';
import type { CocoTarget } from '../../src/data/coco_sample';
import { toTrainingBatch } from '../../src/data/training_batch';
import { applyTrainTransforms, sampleTransformParams, type TrainingSample } from '../../src/data/transforms';
import { GeneralizedRCNNTransform } from '../../src/transform/generalized_rcnn_transform';
import { IMAGENET_NORMALIZATION } from '../../src/transform/normalize';
import { Rng } from '../../src/util/random';
import { describeEachBackend, useBackend } from '../support/backends';
import fixture from '../fixtures/torchvision/transform_cases.json';

interface Case {
  sizes: number[][];
  minSize: number;
  maxSize: number;
  shape: number[];
  imageSizes: number[][];
  sha256: string;
  first: number[];
}
const cases = fixture.cases as Case[];

/** The bytes the fixture script gives image `i`: `(k * 7919 + 13 * i + 5) % 256`. */
function imageBytes(h: number, w: number, i: number): Uint8Array {
  return Uint8Array.from({ length: h * w * 3 }, (_, k) => (k * 7919 + 13 * i + 5) % 256);
}

const sha256 = (x: Float32Array): string => createHash('sha256').update(Buffer.from(x.buffer, x.byteOffset, x.byteLength)).digest('hex');

/** The training path: the loader's per-sample transform (no flip) and the trainer's batching. */
function trainingBatch(c: Case): { images: Float32Array; shape: number[]; imageSizes: readonly (readonly number[])[] } {
  const transform = { minSizes: [c.minSize], maxSize: c.maxSize, flipProbability: 0, normalize: IMAGENET_NORMALIZATION };
  const samples: TrainingSample[] = c.sizes.map(([h, w], i) => {
    const target: CocoTarget = {
      imageId: i, fileName: `${i}.png`, filePath: `${i}.png`, height: h, width: w,
      annotationIds: new Int32Array(0), gtBoxes: new Float32Array(0), gtLabels: new Int32Array(0), gtCrowd: new Uint8Array(0), gtMasks: [],
    };
    const params = sampleTransformParams(new Rng(i), h, w, transform);
    return applyTrainTransforms({ data: imageBytes(h, w, i), height: h, width: w }, target, params, transform);
  });
  const batch = toTrainingBatch(samples);
  const images = batch.images.dataSync() as Float32Array;
  const shape = batch.images.shape;
  batch.images.dispose();
  return { images, shape, imageSizes: batch.imageSizes };
}

describe('training batches equal torchvision', () => {
  beforeAll(() => useBackend('cpu'));
  test.each(cases.map((c) => [c.sizes.map((s) => s.join('x')).join(' + '), c] as const))('%s', (_name, c) => {
    const t = trainingBatch(c);
    expect(t.shape).toEqual(c.shape);
    expect(t.imageSizes).toEqual(c.imageSizes);
    expect(Array.from(t.images.subarray(0, 6))).toEqual(c.first);
    expect(sha256(t.images)).toBe(c.sha256);
  });
});

describeEachBackend('inference batches equal torchvision and the training batches', () => {
  test.each(cases.map((c) => [c.sizes.map((s) => s.join('x')).join(' + '), c] as const))('%s', (_name, c) => {
    const inputs = c.sizes.map(([h, w], i) => tf.tensor3d(imageBytes(h, w, i), [h, w, 3], 'int32'));
    const before = tf.memory().numTensors;
    const out = new GeneralizedRCNNTransform({ minSize: c.minSize, maxSize: c.maxSize }).forward(inputs);
    const images = out.images.dataSync() as Float32Array;
    expect(out.images.shape).toEqual(c.shape);
    expect(out.imageSizes).toEqual(c.imageSizes);
    expect(sha256(images)).toBe(c.sha256);
    expect(images).toEqual(trainingBatch(c).images);
    out.images.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
  });

  test('float32 [0, 1] input gives the same batch as int32 0-255 input', () => {
    const c = cases[0];
    const bytes = c.sizes.map(([h, w], i) => imageBytes(h, w, i));
    const ints = c.sizes.map(([h, w], i) => tf.tensor3d(bytes[i], [h, w, 3], 'int32'));
    const floats = c.sizes.map(([h, w], i) => tf.tensor3d(Float32Array.from(bytes[i], (v) => Math.fround(v / 255)), [h, w, 3], 'float32'));
    const t = new GeneralizedRCNNTransform({ minSize: c.minSize, maxSize: c.maxSize });
    const a = t.forward(ints);
    const b = t.forward(floats);
    expect(b.images.dataSync()).toEqual(a.images.dataSync());
    tf.dispose([a.images, b.images, ...ints, ...floats]);
  });
});
