/** postprocessDetections against torchvision 0.14's RoIHeads.postprocess_detections. */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_DETECTION_OPTIONS,
  disposeDetections,
  postprocessDetections,
  resolveDetectionOptions,
  type DetectionCandidates,
  type DetectionRecorder,
  type ImageDetections,
} from '../../src/postprocess';
import { describeEachBackend } from '../support/backends';
import { decodeF32, matchedFraction, readHeadsFixture, type PlainDetections } from './support/fixtures';

interface HeadsFixture {
  numClasses: number;
  imageSizes: [number, number][];
  proposals: number[][][];
  classLogits: string;
  boxRegression: string;
  detections: PlainDetections[];
  detectionsStrict: { options: { scoreThresh: number; nmsThresh: number; detectionsPerImg: number }; images: PlainDetections[] };
}
interface ManyFixture {
  numClasses: number;
  imageSize: [number, number];
  proposals: string;
  classLogits: string;
  boxRegression: string;
  candidates: number;
  detections: PlainDetections;
}

const fx = readHeadsFixture<HeadsFixture>('heads.json');
const many = readHeadsFixture<ManyFixture>('postprocess_many.json');

async function plain(d: ImageDetections): Promise<PlainDetections> {
  return {
    boxes: (await d.predBoxes.array()) as number[][],
    scores: Array.from(await d.predScores.data()),
    labels: Array.from(await d.predLabels.data()),
  };
}

function expectMatched(name: string, theirs: PlainDetections, ours: PlainDetections): void {
  const a = matchedFraction(theirs, ours);
  const b = matchedFraction(ours, theirs);
  console.log(
    `[${tf.getBackend()}] ${name}: ${theirs.scores.length} torchvision / ${ours.scores.length} ours; ` +
      `torchvision matched ${(100 * a).toFixed(1)}%, ours matched back ${(100 * b).toFixed(1)}%`,
  );
  expect(a).toBeGreaterThanOrEqual(0.98);
  expect(b).toBeGreaterThanOrEqual(0.98);
}

describeEachBackend('postprocessDetections', () => {
  const r = 40;
  const k = 91;
  let logits: tf.Tensor2D;
  let deltas: tf.Tensor2D;
  let proposals: tf.Tensor2D[];
  beforeAll(() => {
    logits = tf.tensor2d(decodeF32(fx.classLogits), [r, k]);
    deltas = tf.tensor2d(decodeF32(fx.boxRegression), [r, 4 * k]);
    proposals = fx.proposals.map((p) => tf.tensor2d(p, [p.length, 4]));
  });
  afterAll(() => tf.dispose([logits, deltas, ...proposals]));

  test('default settings: same detections as torchvision on two images', async () => {
    const dets = await postprocessDetections(logits, deltas, proposals, fx.imageSizes);
    expect(dets).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const ours = await plain(dets[i]);
      expect(dets[i].predLabels.dtype).toBe('int32');
      expect(ours.labels.every((l) => l >= 1 && l < k)).toBe(true);
      // sorted by decreasing score, as batched_nms returns them
      expect(ours.scores.every((s, j) => j === 0 || ours.scores[j - 1] >= s)).toBe(true);
      expectMatched(`default, image ${i}`, fx.detections[i], ours);
    }
    disposeDetections(dets);
  });

  test('score 0.2, NMS 0.3, top 10: same detections as torchvision', async () => {
    const dets = await postprocessDetections(logits, deltas, proposals, fx.imageSizes, fx.detectionsStrict.options);
    for (let i = 0; i < 2; i++) {
      const ours = await plain(dets[i]);
      expect(ours.scores).toHaveLength(fx.detectionsStrict.images[i].scores.length);
      expectMatched(`strict, image ${i}`, fx.detectionsStrict.images[i], ours);
    }
    disposeDetections(dets);
  });

  test(`K = 21, 300 RoIs, over 1000 candidates (per-class NMS), tiny and outside proposals`, async () => {
    const kk = many.numClasses;
    const rr = 300;
    const l = tf.tensor2d(decodeF32(many.classLogits), [rr, kk]);
    const d = tf.tensor2d(decodeF32(many.boxRegression), [rr, 4 * kk]);
    const p = tf.tensor2d(decodeF32(many.proposals), [rr, 4]);
    expect(many.candidates).toBeGreaterThan(1000);
    const [det] = await postprocessDetections(l, d, [p], [many.imageSize]);
    const ours = await plain(det);
    expect(ours.scores).toHaveLength(100);
    expectMatched('many candidates', many.detections, ours);
    // every box lies inside the image and has sides >= 1e-2
    for (const b of ours.boxes) {
      expect(b[0]).toBeGreaterThanOrEqual(0);
      expect(b[2]).toBeLessThanOrEqual(many.imageSize[1]);
      expect(b[2] - b[0]).toBeGreaterThanOrEqual(1e-2);
      expect(b[3] - b[1]).toBeGreaterThanOrEqual(1e-2);
    }
    disposeDetections([det]);
    tf.dispose([l, d, p]);
  });

  test('empty is normal: no proposals, one image without proposals, nothing above the threshold', async () => {
    const none = await postprocessDetections(tf.zeros([0, k]) as tf.Tensor2D, tf.zeros([0, 4 * k]) as tf.Tensor2D, [tf.zeros([0, 4]) as tf.Tensor2D], [[50, 60]]);
    expect(none[0].predBoxes.shape).toEqual([0, 4]);
    expect(none[0].predScores.shape).toEqual([0]);
    expect(none[0].predLabels.shape).toEqual([0]);
    disposeDetections(none);

    const empty0 = tf.zeros([0, 4]) as tf.Tensor2D;
    const all = tf.concat(proposals) as tf.Tensor2D;
    const mixed = await postprocessDetections(logits, deltas, [empty0, all], [[20, 20], fx.imageSizes[0]]);
    expect(mixed[0].predBoxes.shape).toEqual([0, 4]);
    expect(mixed[1].predBoxes.shape[0]).toBeGreaterThan(0);
    disposeDetections(mixed);

    const flat = tf.zeros([3, k]) as tf.Tensor2D; // uniform softmax: 1/91 < 0.05 everywhere
    const flatDeltas = tf.zeros([3, 4 * k]) as tf.Tensor2D;
    const boxes = tf.tensor2d([[0, 0, 10, 10], [5, 5, 20, 20], [1, 2, 3, 4]]);
    const [det] = await postprocessDetections(flat, flatDeltas, [boxes], [[30, 30]]);
    expect(det.predScores.shape).toEqual([0]);
    disposeDetections([det]);
    tf.dispose([empty0, all, flat, flatDeltas, boxes]);
  });

  test('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    const dets = await postprocessDetections(logits, deltas, proposals, fx.imageSizes);
    disposeDetections(dets);
    const none = await postprocessDetections(tf.zeros([0, k]) as tf.Tensor2D, tf.zeros([0, 4 * k]) as tf.Tensor2D, [tf.zeros([0, 4]) as tf.Tensor2D], [[5, 6]]);
    disposeDetections(none);
    // the three zero inputs above are the caller's; count them out
    expect(tf.memory().numTensors).toBe(before + 3);
  });
});

describe('detection options and inputs', () => {
  test('defaults are torchvision RoIHeads defaults', () => {
    expect(DEFAULT_DETECTION_OPTIONS).toEqual({
      scoreThresh: 0.05,
      nmsThresh: 0.5,
      detectionsPerImg: 100,
      minSize: 1e-2,
      boxCoderWeights: [10, 10, 5, 5],
      bboxXformClip: Math.log(1000 / 16),
    });
    expect(resolveDetectionOptions({ scoreThresh: 0.3 }).nmsThresh).toBe(0.5);
  });

  test('bad options and shapes are rejected clearly', async () => {
    expect(() => resolveDetectionOptions({ detectionsPerImg: -1 })).toThrow(
      'Error in postprocessDetections: detectionsPerImg must be a non-negative integer, got -1',
    );
    expect(() => resolveDetectionOptions({ nmsThresh: NaN })).toThrow('nmsThresh must be a number');
    expect(() => resolveDetectionOptions({ scoreTresh: 0.1 } as never)).toThrow("unknown option 'scoreTresh'; valid options are scoreThresh");
    const l = tf.zeros([2, 3]) as tf.Tensor2D;
    const d = tf.zeros([2, 12]) as tf.Tensor2D;
    const p = tf.zeros([2, 4]) as tf.Tensor2D;
    await expect(postprocessDetections(l, tf.zeros([2, 8]) as tf.Tensor2D, [p], [[5, 5]])).rejects.toThrow(
      'boxRegression must have shape [2, 12], got [2,8]',
    );
    await expect(postprocessDetections(l, d, [p, p], [[5, 5], [5, 5]])).rejects.toThrow('proposals hold 4 boxes in all but classLogits has 2 rows');
    await expect(postprocessDetections(l, d, [p], [])).rejects.toThrow('need one image size per proposal tensor');
    await expect(postprocessDetections(l, d, [p], [[0, 5]])).rejects.toThrow('imageSizes[0] must be [height, width] > 0');
  });
});

describeEachBackend('postprocessDetections recorder', () => {
  it("gives each candidate its fate in torchvision's order, by hand", async () => {
    // Zero deltas: each class's box is its proposal. Softmax rows (background, class 1, class 2):
    // p0 [0.042, 0.844, 0.114], p1 [0.106, 0.787, 0.106], p2 [0.047, 0.006, 0.946].
    const logits = tf.tensor2d([[0, 3, 1], [0, 2, 0], [0, -2, 3]]);
    const deltas = tf.zeros<tf.Rank.R2>([3, 12]);
    // p1 overlaps p0 with IoU 81/119 = 0.68; p2 is 0.005 px wide.
    const proposals = tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 20.005, 30]]);
    const seen: { probs?: tf.Tensor2D; boxes?: tf.Tensor3D; candidates?: DetectionCandidates } = {};
    const recorder: DetectionRecorder = {
      boxes: (i, probs, boxes) => {
        expect(i).toBe(0);
        seen.probs = tf.keep(probs.clone());
        seen.boxes = tf.keep(boxes.clone());
      },
      candidates: (_, c) => {
        seen.candidates = c;
      },
    };
    const [dets] = await postprocessDetections(logits, deltas, [proposals], [[40, 40]], { scoreThresh: 0.1, detectionsPerImg: 1 }, recorder);
    try {
      const c = seen.candidates!;
      expect(c.fates).toEqual(['kept', 'cap', 'nms', 'nms', 'lowScore', 'small']);
      expect([...c.proposalIndices]).toEqual([0, 0, 1, 1, 2, 2]);
      expect([...c.labels]).toEqual([1, 2, 1, 2, 1, 2]);
      expect([...c.detectionIndices]).toEqual([0, -1, -1, -1, -1, -1]);
      expect(c.scores[0]).toBe((await dets.predScores.data())[0]);
      expect([...c.boxes.subarray(0, 4)]).toEqual([...(await dets.predBoxes.data())]);
      expect(seen.probs!.shape).toEqual([3, 3]);
      expect(seen.boxes!.shape).toEqual([3, 3, 4]);
      expect(c.scores[5]).toBe((await seen.probs!.data())[8]);
    } finally {
      tf.dispose([logits, deltas, proposals, seen.probs, seen.boxes]);
      disposeDetections([dets]);
    }
  });
});
