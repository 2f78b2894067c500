/**
 * The training forward on a small randomly initialised model (the parity suite covers the
 * values): one pass through the inference stage objects, the five named finite losses, images
 * without ground truth, gradients, leaks and bad input. Runs on wasm with our training kernels
 * (the cpu backend's conv gradients take minutes).
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { LOSS_NAMES, type Losses } from '../../src/losses/names';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { selectProposals } from '../../src/rpn/proposals';
import { FPN_LEVELS } from '../../src/fpn/feature_pyramid_network';
import { useBackend } from '../support/backends';
import { EMPTY, H, makeBatch, OPTIONS, randomModel, target, W } from './support/small_model';

function values(losses: Losses): Record<string, number> {
  return Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]]));
}

/** The summed loss of one step under `tf.variableGrads`, as the trainer takes it. */
function step(model: MaskRCNN, batch: ReturnType<typeof makeBatch>, seed: number): { value: tf.Scalar; grads: tf.NamedTensorMap; losses: Losses } {
  let kept: Losses | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const l = model.trainingForward(batch, OPTIONS(seed)).losses;
    kept = l;
    for (const k of LOSS_NAMES) tf.keep(l[k]);
    return tf.addN(LOSS_NAMES.map((k) => l[k])) as tf.Scalar;
  });
  return { value, grads, losses: kept as Losses };
}

describe('Mask R-CNN training forward [wasm]', () => {
  let model: MaskRCNN;

  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
    model = randomModel();
  });
  afterAll(() => model?.dispose());

  it('returns the five named, finite losses; the same rng seed gives the same values', () => {
    const batch = makeBatch([
      target([[4, 6, 40, 50], [30, 10, 90, 60]], [1, 3]),
      target([[10, 20, 60, 62]], [4]),
    ]);
    const a = model.trainingForward(batch, OPTIONS(1)).losses;
    const b = model.trainingForward(batch, OPTIONS(1)).losses;
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

  it('runs the backbone and the RPN head once per step, and trains the RoI heads on the proposals inference selects', async () => {
    const batch = makeBatch([target([[4, 6, 40, 50]], [1]), target([[10, 20, 60, 62]], [2])]);
    const backbone = jest.spyOn(model.backbone, 'forward');
    const head = jest.spyOn(model.rpn.head, 'forward');
    const box = jest.spyOn(model.roiHeads, 'predictBoxes');
    const mask = jest.spyOn(model.roiHeads, 'predictMasks');
    let targets: ReturnType<MaskRCNN['trainingForward']>['targets'];
    try {
      const s = tf.tidy(() => {
        const r = step(model, batch, 4);
        targets = model.trainingForward(batch, OPTIONS(4)).targets; // a second, separate forward
        tf.dispose(r.losses);
        return { value: r.value, grads: r.grads };
      });
      tf.dispose([s.value, s.grads]);
      // Two forwards (the gradient step and the separate one): one backbone pass each.
      expect(backbone).toHaveBeenCalledTimes(2);
      expect(head).toHaveBeenCalledTimes(2);
      expect(box).toHaveBeenCalledTimes(2);
      expect(mask).toHaveBeenCalledTimes(2);
    } finally {
      for (const s of [backbone, head, box, mask]) s.mockRestore();
    }
    // The proposals of the step are what the RPN's async selection (inference's code) gives
    // with the training settings on the same features.
    const features = model.backbone.forward(batch.images);
    const { objectness, deltas } = model.rpn.head.forward(FPN_LEVELS.map((l) => features[l]));
    tf.dispose(Object.values(features));
    const anchors = model.rpn.anchorGenerator.anchors(targets!.gridSizes.map(([h, w]) => [h, w] as [number, number]), [H, W]);
    const selected = await selectProposals(objectness, deltas, anchors, batch.imageSizes, model.rpn.selection(true), model.rpn.boxCoder);
    for (let i = 0; i < 2; i++) {
      const expected = selected.boxes[i].dataSync();
      expect(expected.length).toBeGreaterThan(0);
      expect(Array.from(targets!.images[i].proposals)).toEqual(Array.from(expected));
    }
    tf.dispose([objectness, deltas, selected, batch.images]);
  });

  it('gives zero box and mask losses (not NaN) and finite gradients for images without ground truth', () => {
    const batch = makeBatch([EMPTY(), EMPTY()]);
    const { targets, losses: first } = model.trainingForward(batch, OPTIONS(2));
    tf.dispose(first);
    expect(targets.images.every((d) => d.masks.labels.length === 0)).toBe(true);
    expect(targets.images.every((d) => d.roi.labels.every((l) => l === 0))).toBe(true);
    const { value, grads, losses } = step(model, batch, 2);
    const v = values(losses);
    expect(Math.abs(v.loss_box_reg)).toBe(0); // sum * 0 may be -0
    expect(Math.abs(v.loss_mask)).toBe(0); // sum * 0 may be -0
    expect(Math.abs(v.loss_rpn_box_reg)).toBe(0); // sum * 0 may be -0
    expect(Number.isFinite(v.loss_objectness) && v.loss_objectness > 0).toBe(true);
    expect(Number.isFinite(v.loss_classifier) && v.loss_classifier > 0).toBe(true);
    const names = Object.keys(grads);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(Number.isFinite(tf.sum(tf.abs(grads[n])).dataSync()[0])).toBe(true);
    tf.dispose([value, losses, grads, batch.images]);

    // One empty image next to one with GT: its samples are background only, nothing is NaN.
    const mixed = makeBatch([EMPTY(), target([[8, 8, 50, 40]], [2])]);
    const l = model.trainingForward(mixed, OPTIONS(3)).losses;
    for (const k of LOSS_NAMES) expect(Number.isFinite(values(l)[k])).toBe(true);
    expect(values(l).loss_mask).toBeGreaterThan(0);
    tf.dispose([l, mixed.images]);
  });

  it('leaks no tensor over three variableGrads steps, nor in a forward without gradients', () => {
    const batch = makeBatch([target([[4, 6, 40, 50]], [1]), EMPTY()]);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 3; s++) {
      const { value, grads, losses } = step(model, batch, 10 + s);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([value, grads, losses]);
    }
    tf.dispose(model.trainingForward(batch, OPTIONS(20)).losses);
    expect(tf.memory().numTensors).toBe(before);
    batch.images.dispose();
  });

  it('rejects inconsistent batches and options with a clear message', () => {
    const batch = makeBatch([target([[4, 6, 40, 50]], [1])]);
    const before = tf.memory().numTensors;
    expect(() => model.trainingForward({ ...batch, targets: [] }, OPTIONS(0))).toThrow(
      /MaskRCNN.trainingForward: batch.targets must have one entry per image \(1\), got 0/,
    );
    const wrongMask = { ...batch.targets[0], masks: { data: new Uint8Array(10), height: 2, width: 5 } };
    expect(() => model.trainingForward({ ...batch, targets: [wrongMask] }, OPTIONS(0))).toThrow(/masks must hold 1 masks of the image size 64 x 96/);
    const wrongLabels = { ...batch.targets[0], labels: Int32Array.of(1, 2) };
    expect(() => model.trainingForward({ ...batch, targets: [wrongLabels] }, OPTIONS(0))).toThrow(/labels must be an Int32Array of 1 classes/);
    expect(() => model.trainingForward(batch, { ...OPTIONS(0), proposals: [] })).toThrow(/options.proposals must have one array per image \(1\), got 0/);
    expect(() => model.trainingForward(batch, { ...OPTIONS(0), roiPositiveFraction: 2 })).toThrow(/RoIHeads.trainingForward.*positiveFraction/);
    // Random draws need a random source.
    expect(() => model.trainingForward(batch, { rpnBatchSizePerImage: 8 })).toThrow(/rng|random/i);
    // A failed forward leaves nothing behind.
    expect(tf.memory().numTensors).toBe(before);
    batch.images.dispose();
  });
});
