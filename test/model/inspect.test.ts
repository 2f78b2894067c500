/**
 * MaskRCNNModel.inspect on small seeded models: its prediction is predict's, and every recorded
 * stage agrees with the next one (kept candidates are the proposals and the detections, fates
 * follow torchvision's order of drops), on images with and without detections, without leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { MaskRCNNModel, type InspectOptions } from '../../src/api/model';
import type { Inspection } from '../../src/api/inspection';
import type { MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { LevelMapper } from '../../src/roi/level_mapper';
import { resizedSize } from '../../src/transform/resize_rule';
import { useBackend } from '../support/backends';
import { seededMaskRCNN } from '../support/seeded_model';

const NUM_CLASSES = 5;

function config(rpn: MaskRCNNConfig['rpn'] = {}): MaskRCNNConfig {
  return {
    numClasses: NUM_CLASSES,
    depth: 18,
    fpnChannels: 32,
    representationSize: 64,
    maskLayers: [16],
    maskDimReduced: 16,
    transform: { minSize: 96, maxSize: 160 },
    rpn: { preNmsTopN: { training: 100, testing: 100 }, postNmsTopN: { training: 60, testing: 60 }, ...rpn },
  };
}

function makeModel(rpn: MaskRCNNConfig['rpn'] = {}, seed = 3): MaskRCNNModel {
  const names = Array.from({ length: NUM_CLASSES }, (_, i) => (i === 0 ? '__background__' : `class_${i}`));
  return new MaskRCNNModel(seededMaskRCNN(config(rpn), seed), names, undefined);
}

/** A 60x80 picture with some structure (stripes and a square). */
function picture(): tf.Tensor3D {
  const data = new Int32Array(60 * 80 * 3);
  for (let y = 0; y < 60; y++) {
    for (let x = 0; x < 80; x++) {
      const inSquare = x > 20 && x < 50 && y > 15 && y < 45;
      for (let c = 0; c < 3; c++) data[(y * 80 + x) * 3 + c] = inSquare ? 200 - 40 * c : ((x * 7 + y * 3 + c * 50) % 256);
    }
  }
  return tf.tensor3d(data, [60, 80, 3], 'int32');
}

function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const area = (x: ArrayLike<number>, k: number) => Math.max(0, x[4 * k + 2] - x[4 * k]) * Math.max(0, x[4 * k + 3] - x[4 * k + 1]);
  const w = Math.max(0, Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]));
  const h = Math.max(0, Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]));
  return (w * h) / (area(a, i) + area(b, j) - w * h);
}

function count<T>(xs: readonly T[], x: T): number {
  return xs.filter((v) => v === x).length;
}

/** Rows of the candidates that were kept, in the order of the output they went to. */
function keptInOrder(fates: readonly string[], index: Int32Array): number[] {
  const rows = fates.flatMap((f, j) => (f === 'kept' ? [j] : []));
  return rows.sort((a, b) => index[a] - index[b]);
}

describe('MaskRCNNModel.inspect', () => {
  let model: MaskRCNNModel;
  let image: tf.Tensor3D;

  beforeAll(async () => {
    await useBackend('wasm');
    model = makeModel();
    image = picture();
  });

  afterAll(() => {
    model.dispose();
    image.dispose();
  });

  const cases: Array<[string, InspectOptions]> = [
    ['default options', {}],
    ['a zero score threshold, five detections, full masks with probabilities', { scoreThreshold: 0, maxDetections: 5, masks: 'full', returnProbabilities: true }],
    ['RLE masks', { scoreThreshold: 0.2, masks: 'rle' }],
  ];
  it.each(cases)("its prediction is exactly predict's (%s)", async (_, options) => {
    const [predicted] = await model.predict(image, options);
    const ins = await model.inspect(image, options);
    try {
      expect(ins.prediction).toEqual(predicted);
      expect(ins.prediction.detections.length).toBe(ins.masks.pasted.length);
    } finally {
      ins.dispose();
    }
    expect(image.isDisposed).toBe(false);
  });

  it('records the transform and the backbone in the resized and padded frames', async () => {
    const ins = await model.inspect(image, { bodyLevels: ['C3', 'C5'] });
    try {
      const t = ins.transform;
      const r = resizedSize(60, 80, 96, 160);
      expect(t.originalSize).toEqual([60, 80]);
      expect(t.resizedSize).toEqual([r.height, r.width]);
      expect(t.image.shape).toEqual([r.height, r.width, 3]);
      expect(t.paddedSize).toEqual([Math.ceil(r.height / 32) * 32, Math.ceil(r.width / 32) * 32]);
      expect(t.scale).toEqual([r.height / 60, r.width / 80]);
      // Normalised: the square's red 200/255 becomes (200/255 - 0.485) / 0.229 inside it.
      const centre = (await t.image.slice([Math.round(30 * t.scale[0]), Math.round(35 * t.scale[1]), 0], [1, 1, 1]).data())[0];
      expect(centre).toBeCloseTo((200 / 255 - 0.485) / 0.229, 4);

      const [hp, wp] = t.paddedSize;
      expect(Object.keys(ins.backbone.body).sort()).toEqual(['C3', 'C5']);
      expect(ins.backbone.body.C3?.shape).toEqual([hp / 8, wp / 8, 128]); // ResNet-18 widths
      expect(ins.backbone.body.C5?.shape).toEqual([hp / 32, wp / 32, 512]);
      expect(Object.keys(ins.backbone.fpn)).toEqual(['0', '1', '2', '3', 'pool']);
      expect(ins.backbone.fpn['0'].shape).toEqual([hp / 4, wp / 4, 32]);
      expect(ins.backbone.fpn.pool.shape).toEqual([Math.ceil(hp / 64), Math.ceil(wp / 64), 32]);
    } finally {
      ins.dispose();
    }
  });

  it("records the RPN's levels and candidates, and the kept candidates are the proposals", async () => {
    const ins = await model.inspect(image);
    try {
      const { levels, candidates: c, proposals } = ins.rpn;
      expect(levels.map((l) => l.level)).toEqual(['0', '1', '2', '3', 'pool']);
      let t = 0;
      levels.forEach((l, i) => {
        const a = l.featureSize[0] * l.featureSize[1] * l.anchorsPerLocation;
        expect(l.featureSize).toEqual(ins.backbone.fpn[l.level].shape.slice(0, 2));
        expect(l.anchorsPerLocation).toBe(3);
        expect(l.anchors.shape).toEqual([a, 4]);
        expect(l.objectness.shape).toEqual([a]);
        expect(l.deltas.shape).toEqual([a, 4]);
        expect(count([...c.levels], i)).toBe(Math.min(100, a));
        t += Math.min(100, a);
      });
      expect(c.fates).toHaveLength(t);
      expect(c.boxes).toHaveLength(4 * t);
      // Each candidate's score is the sigmoid of its anchor's logit.
      const logits = await Promise.all(levels.map((l) => l.objectness.data()));
      for (let j = 0; j < t; j++) {
        expect(c.scores[j]).toBeCloseTo(1 / (1 + Math.exp(-logits[c.levels[j]][c.anchorIndices[j]])), 6);
      }
      const p = proposals.shape[0];
      expect(p).toBeGreaterThan(0);
      expect(count(c.fates, 'kept')).toBe(p);
      const rows = keptInOrder(c.fates, c.proposalIndices);
      expect(rows.map((j) => c.proposalIndices[j])).toEqual(Array.from({ length: p }, (_, i) => i));
      expect(Float32Array.from(rows.flatMap((j) => [...c.boxes.subarray(4 * j, 4 * j + 4)]))).toEqual(await proposals.data());
      // Boxes are clipped to the resized image.
      const [h, w] = ins.transform.resizedSize;
      for (let j = 0; j < t; j++) {
        expect(c.boxes[4 * j]).toBeGreaterThanOrEqual(0);
        expect(c.boxes[4 * j + 2]).toBeLessThanOrEqual(w);
        expect(c.boxes[4 * j + 3]).toBeLessThanOrEqual(h);
      }
    } finally {
      ins.dispose();
    }
  });

  it("gives each RPN candidate the fate of torchvision's filter_proposals", async () => {
    const strict = makeModel({ scoreThresh: 0.5, nmsThresh: 0.5, postNmsTopN: { training: 4, testing: 4 } });
    try {
      const ins = await strict.inspect(image);
      try {
        const c = ins.rpn.candidates;
        for (const fate of ['lowScore', 'nms', 'postNmsTopN', 'kept']) expect(count(c.fates, fate)).toBeGreaterThan(0);
        expect(count(c.fates, 'kept')).toBe(4);
        const side = (j: number) => Math.min(c.boxes[4 * j + 2] - c.boxes[4 * j], c.boxes[4 * j + 3] - c.boxes[4 * j + 1]);
        const survivors = c.fates.flatMap((f, j) => (f === 'kept' || f === 'postNmsTopN' ? [j] : []));
        const lowestKept = Math.min(...c.fates.flatMap((f, j) => (f === 'kept' ? [c.scores[j]] : [])));
        c.fates.forEach((f, j) => {
          if (f === 'small') expect(side(j)).toBeLessThan(1e-3);
          else expect(side(j)).toBeGreaterThanOrEqual(1e-3);
          if (f === 'lowScore') expect(c.scores[j]).toBeLessThan(0.5);
          if (f === 'nms' || f === 'postNmsTopN' || f === 'kept') expect(c.scores[j]).toBeGreaterThanOrEqual(0.5);
          // Suppressed by a better survivor of its own level.
          if (f === 'nms') {
            const by = survivors.filter((s) => c.levels[s] === c.levels[j] && c.scores[s] >= c.scores[j] && iou(c.boxes, s, c.boxes, j) > 0.5);
            expect(by.length).toBeGreaterThan(0);
          }
          if (f === 'postNmsTopN') expect(c.scores[j]).toBeLessThanOrEqual(lowestKept);
        });
      } finally {
        ins.dispose();
      }
    } finally {
      strict.dispose();
    }
  });

  it('records the box head: levels as LevelMapper picks them, probabilities, clipped class boxes', async () => {
    const ins = await model.inspect(image);
    try {
      const p = ins.rpn.proposals.shape[0];
      const { roiLevels, classProbs, refinedBoxes } = ins.boxHead;
      expect(classProbs.shape).toEqual([p, NUM_CLASSES]);
      expect(refinedBoxes.shape).toEqual([p, NUM_CLASSES, 4]);
      const mapper = new LevelMapper({ kMin: 2, kMax: 5 });
      expect(roiLevels).toEqual(mapper.levels(await ins.rpn.proposals.data()));
      const sums = await tf.tidy(() => tf.sum(classProbs, 1)).data();
      for (const s of sums) expect(s).toBeCloseTo(1, 5);
      const [h, w] = ins.transform.resizedSize;
      const b = await refinedBoxes.data();
      for (let i = 0; i < b.length; i += 4) {
        expect(Math.min(b[i], b[i + 1])).toBeGreaterThanOrEqual(0);
        expect(b[i + 2]).toBeLessThanOrEqual(w);
        expect(b[i + 3]).toBeLessThanOrEqual(h);
      }
    } finally {
      ins.dispose();
    }
  });

  it('gives each detection candidate its fate, and the kept ones are the detections', async () => {
    const options = { scoreThreshold: 0.2, maxDetections: 3 };
    const ins = await model.inspect(image, options);
    try {
      const c = ins.detections.candidates;
      const p = ins.rpn.proposals.shape[0];
      expect(c.fates).toHaveLength(p * (NUM_CLASSES - 1));
      const probs = await ins.boxHead.classProbs.data();
      const boxes = await ins.boxHead.refinedBoxes.data();
      c.fates.forEach((f, j) => {
        const [r, k] = [c.proposalIndices[j], c.labels[j]];
        expect(j).toBe(r * (NUM_CLASSES - 1) + k - 1);
        expect(c.scores[j]).toBe(probs[r * NUM_CLASSES + k]);
        expect([...c.boxes.subarray(4 * j, 4 * j + 4)]).toEqual([...boxes.subarray(4 * (r * NUM_CLASSES + k), 4 * (r * NUM_CLASSES + k) + 4)]);
        if (f === 'lowScore') expect(c.scores[j]).toBeLessThanOrEqual(Math.fround(0.2));
        else expect(c.scores[j]).toBeGreaterThan(Math.fround(0.2));
        if (f === 'nms') {
          const by = c.fates.some((g, s) => (g === 'kept' || g === 'cap') && c.labels[s] === k && c.scores[s] >= c.scores[j] && iou(c.boxes, s, c.boxes, j) > 0.5);
          expect(by).toBe(true);
        }
      });
      for (const fate of ['lowScore', 'nms', 'cap', 'kept']) expect(count(c.fates, fate)).toBeGreaterThan(0);
      const dets = ins.prediction.detections;
      expect(dets).toHaveLength(3);
      const rows = keptInOrder(c.fates, c.detectionIndices);
      expect(rows.map((j) => c.detectionIndices[j])).toEqual([0, 1, 2]);
      expect(rows.map((j) => c.labels[j])).toEqual(dets.map((d) => d.label));
      expect(rows.map((j) => c.scores[j])).toEqual(dets.map((d) => d.score));
      const [sy, sx] = ins.transform.scale;
      rows.forEach((j, d) => {
        const back = [c.boxes[4 * j] / sx, c.boxes[4 * j + 1] / sy, c.boxes[4 * j + 2] / sx, c.boxes[4 * j + 3] / sy];
        back.forEach((v, q) => expect(dets[d].box[q]).toBeCloseTo(v, 3));
      });
      const capped = c.fates.flatMap((f, j) => (f === 'cap' ? [c.scores[j]] : []));
      expect(Math.max(...capped)).toBeLessThanOrEqual(Math.min(...dets.map((d) => d.score)));
      expect(ins.masks.probs.shape).toEqual([3, 28, 28]);
      ins.masks.pasted.forEach((m, d) => {
        const mask = dets[d].mask; // cropped: the window the pasted mask covers
        expect([m.x, m.y, m.width, m.height]).toEqual([mask.x, mask.y, mask.width, mask.height]);
      });
    } finally {
      ins.dispose();
    }
  });

  it('with a score threshold of 1 every detection candidate is lowScore and nothing is detected', async () => {
    const ins = await model.inspect(image, { scoreThreshold: 1 });
    try {
      const c = ins.detections.candidates;
      expect(c.fates.length).toBeGreaterThan(0);
      expect(count(c.fates, 'lowScore')).toBe(c.fates.length);
      expect([...c.detectionIndices].every((d) => d === -1)).toBe(true);
      expect(ins.prediction.detections).toEqual([]);
      expect(ins.masks.probs.shape).toEqual([0, 28, 28]);
      expect(ins.masks.pasted).toEqual([]);
    } finally {
      ins.dispose();
    }
  });

  it('works on an image without proposals: empty box head, candidates and prediction', async () => {
    // No sigmoid objectness of this model reaches 1, so the RPN keeps nothing.
    const none = makeModel({ scoreThresh: 1 });
    try {
      const [predicted] = await none.predict(image);
      const ins = await none.inspect(image);
      try {
        expect(ins.prediction).toEqual(predicted);
        expect(ins.prediction.detections).toEqual([]);
        // Small boxes go first (torchvision's order), the rest for their score.
        const fates = ins.rpn.candidates.fates;
        expect(count(fates, 'lowScore')).toBeGreaterThan(0);
        expect(count(fates, 'lowScore') + count(fates, 'small')).toBe(fates.length);
        expect(ins.rpn.proposals.shape).toEqual([0, 4]);
        expect(ins.boxHead.roiLevels).toHaveLength(0);
        expect(ins.boxHead.classProbs.shape).toEqual([0, NUM_CLASSES]);
        expect(ins.boxHead.refinedBoxes.shape).toEqual([0, NUM_CLASSES, 4]);
        expect(ins.detections.candidates.fates).toEqual([]);
        expect(ins.masks.probs.shape).toEqual([0, 28, 28]);
      } finally {
        ins.dispose();
      }
    } finally {
      none.dispose();
    }
  });

  it('does not leak over repeated inspect() and dispose(), and leaves predict as it was', async () => {
    const [before] = await model.predict(image, { scoreThreshold: 0.1 });
    const start = tf.memory().numTensors;
    let last: Inspection | undefined;
    for (let i = 0; i < 3; i++) {
      last = await model.inspect(image, { scoreThreshold: 0.1 });
      expect(tf.memory().numTensors).toBeGreaterThan(start);
      last.dispose();
      last.dispose(); // a second call does nothing
      expect(tf.memory().numTensors).toBe(start);
    }
    const [after] = await model.predict(image, { scoreThreshold: 0.1 });
    expect(after).toEqual(before);
    expect(last?.prediction).toEqual(before);
  });

  it('rejects a list, bad options and a disposed model, leaking nothing', async () => {
    const start = tf.memory().numTensors;
    await expect(model.inspect([image] as unknown as tf.Tensor3D)).rejects.toThrow('Error in inspect: give one image');
    await expect(model.inspect(image, { bodyLevels: ['C6' as 'C5'] })).rejects.toThrow("bodyLevels must be a list of 'C2', 'C3', 'C4', 'C5'");
    await expect(model.inspect(image, { scoreThreshold: 2 })).rejects.toThrow('Error in inspect: scoreThreshold must be a number in [0, 1]');
    await expect(model.inspect(image, { colour: 1 } as InspectOptions)).rejects.toThrow(/unknown option 'colour'; valid options are .*bodyLevels/);
    expect(tf.memory().numTensors).toBe(start);
    const gone = makeModel();
    gone.dispose();
    await expect(gone.inspect(image)).rejects.toThrow('Error in inspect: this MaskRCNNModel was disposed');
  });
});
