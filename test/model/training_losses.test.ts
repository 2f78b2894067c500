/**
 * Training losses on a small randomly initialised model (the parity suite covers the values):
 * the five named finite losses, images without ground truth, gradients, leaks and bad input.
 * Runs on wasm with our training kernels (the cpu backend's conv gradients take minutes).
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { LOSS_NAMES, type Losses } from '../../src/losses/names';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import {
  computeTrainingLosses,
  prepareTrainingTargets,
  trainingLosses,
} from '../../src/model/training_losses';
import { useBackend } from '../support/backends';
import { EMPTY, makeBatch, OPTIONS, randomModel, target } from './support/small_model';

function values(losses: Losses): Record<string, number> {
  return Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]]));
}

describe('Mask R-CNN training losses [wasm]', () => {
  let model: MaskRCNN;

  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
    model = randomModel();
  });
  afterAll(() => model?.dispose());

  it('returns the five named, finite losses; the same rng seed gives the same values', async () => {
    const batch = makeBatch([
      target([[4, 6, 40, 50], [30, 10, 90, 60]], [1, 3]),
      target([[10, 20, 60, 62]], [4]),
    ]);
    const a = await computeTrainingLosses(model, batch, OPTIONS(1));
    const b = await computeTrainingLosses(model, batch, OPTIONS(1));
    const va = values(a);
    console.log(`training losses (random model): ${JSON.stringify(va)}`);
    expect(Object.keys(a).sort()).toEqual([...LOSS_NAMES].sort());
    for (const k of LOSS_NAMES) {
      expect(a[k].shape).toEqual([]);
      expect(Number.isFinite(va[k])).toBe(true);
    }
    // Every image has GT, so the mask and box losses are really computed (positive, not 0).
    expect(va.loss_mask).toBeGreaterThan(0);
    expect(va.loss_box_reg).toBeGreaterThan(0);
    expect(va.loss_objectness).toBeGreaterThan(0);
    expect(values(b)).toEqual(va);
    tf.dispose([a, b, batch.images]);
  });

  it('gives zero box and mask losses (not NaN) and finite gradients for images without ground truth', async () => {
    const batch = makeBatch([EMPTY(), EMPTY()]);
    const prepared = await prepareTrainingTargets(model, batch, OPTIONS(2));
    expect(prepared.maskLabels.length).toBe(0);
    expect(prepared.roiLabels.every((l) => l === 0)).toBe(true);
    let kept: Losses | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const l = trainingLosses(model, batch, prepared);
      kept = l;
      for (const k of LOSS_NAMES) tf.keep(l[k]);
      return tf.addN(LOSS_NAMES.map((k) => l[k])) as tf.Scalar;
    });
    const v = values(kept as Losses);
    expect(Math.abs(v.loss_box_reg)).toBe(0); // sum * 0 may be -0
    expect(Math.abs(v.loss_mask)).toBe(0); // sum * 0 may be -0
    expect(Math.abs(v.loss_rpn_box_reg)).toBe(0); // sum * 0 may be -0
    expect(Number.isFinite(v.loss_objectness) && v.loss_objectness > 0).toBe(true);
    expect(Number.isFinite(v.loss_classifier) && v.loss_classifier > 0).toBe(true);
    const names = Object.keys(grads);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(Number.isFinite(tf.sum(tf.abs(grads[n])).dataSync()[0])).toBe(true);
    tf.dispose([value, kept as Losses, grads, batch.images]);

    // One empty image next to one with GT: its samples are background only, nothing is NaN.
    const mixed = makeBatch([EMPTY(), target([[8, 8, 50, 40]], [2])]);
    const l = await computeTrainingLosses(model, mixed, OPTIONS(3));
    for (const k of LOSS_NAMES) expect(Number.isFinite(values(l)[k])).toBe(true);
    expect(values(l).loss_mask).toBeGreaterThan(0);
    tf.dispose([l, mixed.images]);
  });

  it('leaks no tensor over three prepare + variableGrads steps', async () => {
    const batch = makeBatch([target([[4, 6, 40, 50]], [1]), EMPTY()]);
    const before = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) {
      const prepared = await prepareTrainingTargets(model, batch, OPTIONS(10 + step));
      const { value, grads } = tf.variableGrads(() => {
        const l = trainingLosses(model, batch, prepared);
        return tf.addN(LOSS_NAMES.map((k) => l[k])) as tf.Scalar;
      });
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([value, grads]);
    }
    expect(tf.memory().numTensors).toBe(before);
    batch.images.dispose();
  });

  it('rejects inconsistent batches with a clear message', async () => {
    const batch = makeBatch([target([[4, 6, 40, 50]], [1])]);
    await expect(prepareTrainingTargets(model, { ...batch, targets: [] }, OPTIONS(0))).rejects.toThrow(
      /prepareTrainingTargets: batch.targets must have one entry per image \(1\), got 0/,
    );
    const wrongMask = { ...batch.targets[0], masks: { data: new Uint8Array(10), height: 2, width: 5 } };
    await expect(prepareTrainingTargets(model, { ...batch, targets: [wrongMask] }, OPTIONS(0))).rejects.toThrow(/masks must hold 1 masks of the image size 64 x 96/);
    const wrongLabels = { ...batch.targets[0], labels: Int32Array.of(1, 2) };
    await expect(prepareTrainingTargets(model, { ...batch, targets: [wrongLabels] }, OPTIONS(0))).rejects.toThrow(/labels must be an Int32Array of 1 classes/);
    // Random draws need a random source.
    await expect(prepareTrainingTargets(model, batch, { rpnBatchSizePerImage: 8 })).rejects.toThrow(/rng|random/i);
    const prepared = await prepareTrainingTargets(model, batch, OPTIONS(0));
    const two = makeBatch([EMPTY(), EMPTY()]);
    expect(() => trainingLosses(model, two, prepared)).toThrow(/trainingLosses: prepared targets are for 1 images, the batch has 2/);
    tf.dispose([batch.images, two.images]);
  });
});
