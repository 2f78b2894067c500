/**
 * inspectTargets on a small seeded model and 60 x 90 images: its losses against the training
 * losses and a real Trainer step, the matcher's and samplers' rules checked on what it returns,
 * mask targets, an image without annotations, options, bad input and leaks. Wasm with our
 * training kernels, as the other training tests.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { MaskRCNNModel } from '../../src/api/model';
import { applyTrainTransforms, generateShapesDataset, sampleTransformParams, type DecodedImage } from '../../src/data';
import { fromMaskRowMajor } from '../../src/data/mask/encode';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { LOSS_NAMES } from '../../src/losses/names';
import { inspectTargets, type InspectedTargets, type TargetAnnotations } from '../../src/api/inspect_targets';
import type { MaskRCNN, MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { pairwiseIou } from '../../src/targets/pairwise_iou';
import { Trainer } from '../../src/train/trainer';
import { toTrainingBatch } from '../../src/data/training_batch';
import { Rng } from '../../src/util/random';
import { useBackend } from '../support/backends';
import { seededMaskRCNN } from '../support/seeded_model';

const H0 = 60;
const W0 = 90;
const CONFIG: MaskRCNNConfig = {
  numClasses: 4,
  transform: { minSize: 64, maxSize: 128 },
  rpn: { preNmsTopN: { training: 100, testing: 100 }, postNmsTopN: { training: 50, testing: 50 } },
};
const SAMPLERS = { rpnBatchSizePerImage: 64, roiBatchSizePerImage: 32 } as const;

/** A random image with two filled rectangles, and their annotations (masks = the rectangles). */
function scene(): { image: DecodedImage; annotations: TargetAnnotations } {
  const rng = new Rng(4);
  const data = Uint8Array.from({ length: H0 * W0 * 3 }, () => rng.int(0, 256));
  const boxes = [
    [6, 8, 40, 50],
    [44, 12, 86, 40],
  ];
  const masks = new Uint8Array(boxes.length * H0 * W0);
  boxes.forEach(([x0, y0, x1, y1], g) => {
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        masks[g * H0 * W0 + y * W0 + x] = 1;
        data.fill(200 + 40 * g, 3 * (y * W0 + x), 3 * (y * W0 + x) + 3);
      }
    }
  });
  return { image: { data, height: H0, width: W0 }, annotations: { boxes, labels: [1, 3], masks } };
}

const EMPTY: TargetAnnotations = { boxes: [], labels: [], masks: new Uint8Array(0) };

function ints(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Every anchor of the image, level-major, and its matcher label / match / sampled label. */
function allAnchors(r: InspectedTargets): { anchors: Float32Array; labels: number[]; matched: number[]; sampled: number[] } {
  return {
    anchors: Float32Array.from(r.anchors.flatMap((l) => Array.from(l.anchors.dataSync()))),
    labels: r.anchors.flatMap((l) => ints(l.labels)),
    matched: r.anchors.flatMap((l) => ints(l.matchedGtIndex)),
    sampled: r.anchors.flatMap((l) => ints(l.sampled)),
  };
}

let model: MaskRCNN;

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  model = seededMaskRCNN(CONFIG, 11);
});
afterAll(() => model?.dispose());

describe('inspectTargets [wasm]', () => {
  it('gives the losses of a training forward on the loader-transformed image with the same seed, bit for bit', async () => {
    const { image, annotations } = scene();
    const r = await inspectTargets(model, image, annotations, { seed: 5, ...SAMPLERS });
    // The trainer's path, rebuilt by hand: dataset target, loader transform, batch, losses.
    const target = {
      imageId: 0, fileName: 'x', filePath: 'x', height: H0, width: W0,
      annotationIds: Int32Array.of(0, 1),
      gtBoxes: Float32Array.from((annotations.boxes as number[][]).flat()),
      gtLabels: Int32Array.of(1, 3),
      gtCrowd: new Uint8Array(2),
      gtMasks: [0, 1].map((g) => fromMaskRowMajor((annotations.masks as Uint8Array).subarray(g * H0 * W0, (g + 1) * H0 * W0), H0, W0)),
    };
    const opts = { minSizes: [64], maxSize: 128, flipProbability: 0, normalize: { mean: model.transform.imageMean, std: model.transform.imageStd } };
    const sample = applyTrainTransforms(image, target, sampleTransformParams(new Rng(0), H0, W0, opts), opts);
    const batch = toTrainingBatch([sample]);
    const { losses } = model.trainingForward(batch, { rng: new Rng(5), ...SAMPLERS });
    for (const k of LOSS_NAMES) expect(r.losses[k]).toBe(losses[k].dataSync()[0]);
    expect(r.losses.loss_mask).toBeGreaterThan(0);
    expect(r.losses.loss_box_reg).toBeGreaterThan(0);
    expect(Array.from(r.image.dataSync())).toEqual(Array.from(batch.images.dataSync()));
    expect(r.image.shape).toEqual([1, 64, 96, 3]);
    expect(r.imageSize).toEqual([sample.height, sample.width]);
    expect(r.imageSize[0]).toBe(64);
    expect(r.originalSize).toEqual([H0, W0]);
    expect(r.scale[0]).toBeCloseTo(64 / 60, 6);
    expect(r.flipped).toBe(false);
    expect(Array.from(r.gtBoxes.dataSync())).toEqual(Array.from(sample.gtBoxes));
    tf.dispose([losses, batch.images]);
    r.dispose();
  });

  it('labels anchors by the 0.7 / 0.3 matcher with low-quality matches and draws at most 64 with at most half positive', async () => {
    const { image, annotations } = scene();
    const r = await inspectTargets(model, image, annotations, { seed: 2, ...SAMPLERS });
    const gt = r.gtBoxes.dataSync() as Float32Array;
    const { anchors, labels, matched, sampled } = allAnchors(r);
    const T = labels.length;
    const G = gt.length / 4;
    const iou = pairwiseIou(gt, anchors); // [G, T]
    const best = Array.from({ length: G }, (_, g) => Math.max(...iou.subarray(g * T, (g + 1) * T)));
    let numPos = 0;
    let numNeg = 0;
    for (let a = 0; a < T; a++) {
      const ious = Array.from({ length: G }, (_, g) => iou[g * T + a]);
      const max = Math.max(...ious);
      const isBestOfAGt = ious.some((v, g) => v === best[g]);
      if (labels[a] === 1) {
        numPos++;
        expect(max >= 0.7 || isBestOfAGt).toBe(true);
        expect(matched[a]).toBeGreaterThanOrEqual(0);
        expect(iou[matched[a] * T + a]).toBe(max); // matched to its best GT
      } else if (labels[a] === 0) {
        numNeg++;
        expect(max < 0.3 && !isBestOfAGt).toBe(true);
        expect(matched[a]).toBe(-1);
      } else {
        expect(labels[a]).toBe(-1);
        expect(max >= 0.3 && max < 0.7 && !isBestOfAGt).toBe(true);
        expect(matched[a]).toBe(-2);
      }
    }
    expect(numPos).toBeGreaterThanOrEqual(G); // every GT has its best anchor
    // Regression targets only on positives.
    const reg = r.anchors.flatMap((l) => Array.from(l.regressionTargets.dataSync()));
    for (let a = 0; a < T; a++) if (labels[a] !== 1) expect(reg.slice(4 * a, 4 * a + 4)).toEqual([0, 0, 0, 0]);
    // The sampler: positives min(numPos, 32), negatives fill up to 64, drawn from the right labels.
    const pos = ints(r.rpnSampledPositives);
    const neg = ints(r.rpnSampledNegatives);
    expect(pos.length).toBe(Math.min(numPos, 32));
    expect(neg.length).toBe(Math.min(numNeg, 64 - pos.length));
    for (const a of pos) expect(labels[a]).toBe(1);
    for (const a of neg) expect(labels[a]).toBe(0);
    expect(sampled.filter((s) => s === 1).length).toBe(pos.length);
    for (const a of pos) expect(sampled[a]).toBe(1);
    for (const a of neg) expect(sampled[a]).toBe(0);
    // Levels: grids, offsets and anchor counts agree (3 anchors per location).
    let offset = 0;
    for (const l of r.anchors) {
      expect(l.offset).toBe(offset);
      expect(l.anchors.shape[0]).toBe(l.gridSize[0] * l.gridSize[1] * 3);
      offset += l.anchors.shape[0];
    }
    expect(r.anchors.map((l) => l.level)).toEqual(['0', '1', '2', '3', 'pool']);
    r.dispose();
  });

  it('samples RoIs among the proposals and appended GT boxes, classes those of their GT, and mask targets of the positives', async () => {
    const { image, annotations } = scene();
    const r = await inspectTargets(model, image, annotations, { seed: 3, ...SAMPLERS });
    const gt = r.gtBoxes.dataSync() as Float32Array;
    const gtLabels = ints(r.gtLabels);
    const R = r.roi.proposals.shape[0];
    expect(R).toBeLessThanOrEqual(50);
    const candidates = r.roi.candidates.dataSync() as Float32Array;
    expect(r.roi.candidates.shape[0]).toBe(R + 2);
    expect(Array.from(candidates.subarray(4 * R))).toEqual(Array.from(gt)); // add_gt_proposals
    const idx = ints(r.roi.sampledIndices);
    const boxes = r.roi.boxes.dataSync() as Float32Array;
    const labels = ints(r.roi.labels);
    const matched = ints(r.roi.matchedGtIndex);
    const S = idx.length;
    expect(S).toBeLessThanOrEqual(32);
    idx.forEach((i, s) => expect(Array.from(boxes.subarray(4 * s, 4 * s + 4))).toEqual(Array.from(candidates.subarray(4 * i, 4 * i + 4))));
    const iou = pairwiseIou(gt, boxes); // [G, S]
    const positives: number[] = [];
    for (let s = 0; s < S; s++) {
      const max = Math.max(iou[s], iou[S + s]);
      if (labels[s] > 0) {
        positives.push(s);
        expect(labels[s]).toBe(gtLabels[matched[s]]);
        expect(iou[matched[s] * S + s]).toBe(max);
        expect(max).toBeGreaterThanOrEqual(0.5);
      } else {
        expect(labels[s]).toBe(0);
        expect(max).toBeLessThan(0.5);
      }
    }
    expect(positives.length).toBeGreaterThan(0);
    expect(positives.length).toBeLessThanOrEqual(8); // 32 * 0.25
    // Mask targets: one [28, 28] per positive, in [0, 1]; on an appended GT box (its own
    // rectangle) the target is ones inside, on other positives mostly 0 or 1 (a soft edge only).
    expect(ints(r.mask.sampleRows)).toEqual(positives);
    expect(ints(r.mask.labels)).toEqual(positives.map((s) => labels[s]));
    expect(r.mask.targets.shape).toEqual([positives.length, 28, 28]);
    const targets = r.mask.targets.dataSync();
    expect(targets.every((v) => v >= 0 && v <= 1)).toBe(true);
    const binary = targets.filter((v) => v < 0.01 || v > 0.99).length;
    expect(binary / targets.length).toBeGreaterThan(0.8);
    const gtRows = positives.map((s, p) => ({ s, p })).filter(({ s }) => idx[s] >= R);
    expect(gtRows.length).toBeGreaterThan(0);
    for (const { p } of gtRows) {
      // The resized mask's edge falls between pixels of the resized box, so only the border is soft.
      const t = targets.subarray(p * 784, (p + 1) * 784);
      for (let y = 2; y < 26; y++) for (let x = 2; x < 26; x++) expect(t[y * 28 + x]).toBeGreaterThan(0.99);
    }
    r.dispose();
  });

  it('equals the losses of a Trainer step on a one-image dataset with the same seed and weights', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'inspect-targets-'));
    try {
      const ds = await generateShapesDataset({ outDir: path.join(root, 'shapes'), numImages: 1, width: 80, height: 64, seed: 5, shapesPerImage: [2, 2], sizeRange: [0.25, 0.4] });
      let built: MaskRCNNConfig | undefined;
      let stepLosses: Record<string, number> | undefined;
      const trainer = await Trainer.create(
        {
          train: { annotationFile: ds.annotationFile, imagesDir: ds.imagesDir },
          outputDir: path.join(root, 'run'),
          minSizes: [64], maxSize: 96, flipProbability: 0, batchSize: 1, maxSteps: 1, seed: 7,
          rpnPreNmsTopN: 100, rpnPostNmsTopN: 50, ...SAMPLERS,
        },
        { history: false, buildModel: (c) => ((built = c), seededMaskRCNN(c, 11)), onStep: (s) => (stepLosses = { ...s.losses }) },
      );
      const target = trainer.dataset.target(0);
      const image = await trainer.dataset.readImage(0);
      await trainer.run();
      trainer.dispose();
      const fresh = seededMaskRCNN(built as MaskRCNNConfig, 11); // the weights before the step
      try {
        const r = await inspectTargets(fresh, image, { boxes: target.gtBoxes, labels: target.gtLabels, masks: target.gtMasks, crowd: target.gtCrowd }, { seed: 7, ...SAMPLERS });
        expect(r.losses).toEqual(stepLosses);
        r.dispose();
      } finally {
        fresh.dispose();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('handles an image without annotations: all anchors negative, background RoIs only, zero box and mask losses', async () => {
    const { image } = scene();
    const r = await inspectTargets(model, image, EMPTY, { seed: 1, ...SAMPLERS });
    const { labels, matched } = allAnchors(r);
    expect(labels.every((l) => l === 0)).toBe(true);
    expect(matched.every((m) => m === -1)).toBe(true);
    expect(r.rpnSampledPositives.shape).toEqual([0]);
    expect(r.rpnSampledNegatives.shape).toEqual([64]);
    expect(r.gtBoxes.shape).toEqual([0, 4]);
    expect(r.roi.candidates.shape[0]).toBe(r.roi.proposals.shape[0]);
    expect(ints(r.roi.labels).every((l) => l === 0)).toBe(true);
    expect(r.mask.targets.shape).toEqual([0, 28, 28]);
    expect(Math.abs(r.losses.loss_mask)).toBe(0);
    expect(Math.abs(r.losses.loss_box_reg)).toBe(0);
    expect(Math.abs(r.losses.loss_rpn_box_reg)).toBe(0);
    expect(r.losses.loss_objectness).toBeGreaterThan(0);
    r.dispose();
  });

  it('is reproducible by seed, takes a MaskRCNNModel, RLE masks and a tensor image, and flips only when augment asks', async () => {
    const { image, annotations } = scene();
    const a = await inspectTargets(model, image, annotations, { seed: 9, ...SAMPLERS });
    const wrapped = new MaskRCNNModel(model, ['bg', 'a', 'b', 'c'], undefined);
    const rles = [0, 1].map((g) => fromMaskRowMajor((annotations.masks as Uint8Array).subarray(g * H0 * W0, (g + 1) * H0 * W0), H0, W0));
    const tensor = tf.tensor3d(Int32Array.from(image.data), [H0, W0, 3], 'int32');
    const b = await inspectTargets(wrapped, tensor, { ...annotations, masks: rles }, { seed: 9, ...SAMPLERS });
    const m = await wrapped.inspectTargets(tensor, { ...annotations, masks: rles }, { seed: 9, ...SAMPLERS }); // the method
    tensor.dispose();
    expect(b.losses).toEqual(a.losses);
    expect(m.losses).toEqual(a.losses);
    m.dispose();
    expect(ints(b.rpnSampledNegatives)).toEqual(ints(a.rpnSampledNegatives));
    const c = await inspectTargets(model, image, annotations, { seed: 10, ...SAMPLERS });
    expect(ints(c.rpnSampledNegatives)).not.toEqual(ints(a.rpnSampledNegatives));
    const f = await inspectTargets(model, image, annotations, { seed: 9, ...SAMPLERS, augment: { seed: 1, flipProbability: 1 } });
    expect(f.flipped).toBe(true);
    const [x0, , x1] = Array.from(f.gtBoxes.dataSync()).slice(0, 4);
    const [ax0, , ax1] = Array.from(a.gtBoxes.dataSync()).slice(0, 4);
    const w = a.imageSize[1];
    expect(x0).toBeCloseTo(w - ax1, 3);
    expect(x1).toBeCloseTo(w - ax0, 3);
    [a, b, c, f].forEach((r) => r.dispose());
  });

  it('rejects bad input with a message naming the problem', async () => {
    const { image, annotations } = scene();
    await expect(inspectTargets(model, image, { ...annotations, labels: [1] })).rejects.toThrow(/labels must be 2 integers in 1..3/);
    await expect(inspectTargets(model, image, { ...annotations, labels: [0, 1] })).rejects.toThrow(/0 is background/);
    await expect(inspectTargets(model, image, { ...annotations, labels: [1, 4] })).rejects.toThrow(/integers in 1..3/); // numClasses 4
    await expect(inspectTargets(model, image, { ...annotations, masks: new Uint8Array(5) })).rejects.toThrow(/masks as bytes must be/);
    await expect(inspectTargets(model, image, { ...annotations, boxes: [[100, 100, 120, 120], [1, 1, 5, 5]] })).rejects.toThrow(/has no area inside/);
    await expect(inspectTargets(model, { data: new Uint8Array(3), height: 2, width: 2 }, EMPTY)).rejects.toThrow(/image must be/);
    await expect(inspectTargets(model, image, annotations, { seed: 0.5 })).rejects.toThrow(/seed must be an integer/);
  });

  it('leaks no tensor over repeated calls, with and without annotations', async () => {
    const { image, annotations } = scene();
    (await inspectTargets(model, image, annotations, { seed: 1, ...SAMPLERS })).dispose(); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      (await inspectTargets(model, image, i === 1 ? EMPTY : annotations, { seed: i, ...SAMPLERS })).dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    await expect(inspectTargets(model, image, { ...annotations, labels: [1] })).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});
