import * as tf from '@tensorflow/tfjs';
import { RegionProposalNetwork } from '../../src/rpn/region_proposal_network';
import { selectProposals, type ProposalCandidates } from '../../src/rpn/proposals';
import { FPN_LEVELS, type FpnFeatures } from '../../src/fpn/feature_pyramid_network';
import { describeEachBackend } from '../support/backends';
import { decodeF32, iou1, loadTorchState, maxAbs, maxRelError, readFixture, type TensorB64 } from './fixture_io';

interface RpnRun {
  name: string;
  training: boolean;
  preNmsTopN: number;
  postNmsTopN: number;
  proposals: Array<{ count: number; boxes: string; scores: string }>;
}
interface RpnFixture {
  inChannels: number;
  batchShape: [number, number];
  imageSizes: Array<[number, number]>;
  features: Record<string, TensorB64>;
  stateDict: Record<string, TensorB64>;
  objectness: Record<string, TensorB64>;
  deltas: Record<string, TensorB64>;
  runs: RpnRun[];
}
const fx = readFixture<RpnFixture>('rpn.json');

function features(): FpnFeatures {
  const f = (l: string) =>
    tf.tensor4d(decodeF32(fx.features[l].nhwc!), fx.features[l].shape as [number, number, number, number]);
  return { '0': f('0'), '1': f('1'), '2': f('2'), '3': f('3'), pool: f('pool') };
}

function makeRpn(run: Pick<RpnRun, 'preNmsTopN' | 'postNmsTopN' | 'training'>): RegionProposalNetwork {
  const rpn = new RegionProposalNetwork({
    inChannels: fx.inChannels,
    preNmsTopN: { training: run.preNmsTopN, testing: run.preNmsTopN },
    postNmsTopN: { training: run.postNmsTopN, testing: run.postNmsTopN },
    training: run.training,
  });
  rpn.ensureBuilt();
  loadTorchState(rpn.head, fx.stateDict);
  return rpn;
}

/** Fraction of torchvision's proposals that one of ours matches at IoU >= 0.99, and in place. */
function matchProposals(ours: Float32Array, theirs: Float32Array): { matched: number; inPlace: number } {
  const n = theirs.length / 4;
  const m = ours.length / 4;
  let matched = 0;
  let inPlace = 0;
  for (let i = 0; i < n; i++) {
    if (i < m && iou1(ours, i, theirs, i) >= 0.99) inPlace++;
    for (let j = 0; j < m; j++) {
      if (iou1(ours, j, theirs, i) >= 0.99) {
        matched++;
        break;
      }
    }
  }
  return { matched: n === 0 ? 1 : matched / n, inPlace: n === 0 ? 1 : inPlace / n };
}

describeEachBackend('RegionProposalNetwork', (backend) => {
  it("keeps the head's weights under torchvision's keys", () => {
    const rpn = new RegionProposalNetwork();
    rpn.ensureBuilt();
    expect([...rpn.stateDict().keys()].sort()).toEqual(
      ['bbox_pred.bias', 'bbox_pred.weight', 'cls_logits.bias', 'cls_logits.weight', 'conv.0.0.bias', 'conv.0.0.weight']
        .map((k) => `head.${k}`)
        .sort(),
    );
    expect(rpn.selection()).toEqual({ preNmsTopN: 1000, postNmsTopN: 1000, nmsThresh: 0.7, scoreThresh: 0, minSize: 1e-3 });
    expect(rpn.selection(true)).toMatchObject({ preNmsTopN: 2000, postNmsTopN: 2000 });
    rpn.dispose();
  });

  it.each(fx.runs.map((r) => [r.name, r] as const))('matches torchvision: %s', async (_name, run) => {
    const rpn = makeRpn(run);
    const feats = features();
    const out = await rpn.forward(feats, fx.imageSizes, fx.batchShape);

    if (run.name === 'eval defaults') {
      FPN_LEVELS.forEach((l, i) => {
        const eo = decodeF32(fx.objectness[l].nhwc!);
        const ed = decodeF32(fx.deltas[l].nhwc!);
        expect(out.objectness[i].shape).toEqual(fx.objectness[l].shape);
        expect(maxRelError(out.objectness[i].dataSync(), eo, maxAbs(eo))).toBeLessThan(1e-5);
        expect(maxRelError(out.deltas[i].dataSync(), ed, maxAbs(ed))).toBeLessThan(1e-5);
      });
    }
    expect(out.proposals).toHaveLength(fx.imageSizes.length);
    for (const [i, expected] of run.proposals.entries()) {
      const theirs = decodeF32(expected.boxes);
      const theirScores = decodeF32(expected.scores);
      const ours = (await out.proposals[i].data()) as Float32Array;
      const ourScores = await out.scores[i].data();
      const { matched, inPlace } = matchProposals(ours, theirs);
      console.log(
        `[${backend}] ${run.name}, image ${i}: ${out.proposals[i].shape[0]} proposals (torchvision ${expected.count}), ` +
          `${(100 * matched).toFixed(2)}% matched at IoU >= 0.99, ${(100 * inPlace).toFixed(2)}% at the same rank`,
      );
      expect(matched).toBeGreaterThanOrEqual(0.99);
      expect(Math.abs(out.proposals[i].shape[0] - expected.count)).toBeLessThanOrEqual(Math.ceil(0.01 * expected.count));
      // every proposal lies inside its (unpadded) image
      const [h, w] = fx.imageSizes[i];
      for (let k = 0; k < ours.length; k += 4) {
        expect(ours[k]).toBeGreaterThanOrEqual(0);
        expect(ours[k + 2]).toBeLessThanOrEqual(w);
        expect(ours[k + 3]).toBeLessThanOrEqual(h);
      }
      if (inPlace === 1 && ours.length === theirs.length) {
        expect(maxRelError(ours, theirs, maxAbs(theirs))).toBeLessThan(1e-5);
        expect(maxRelError(ourScores, theirScores, 1)).toBeLessThan(1e-5);
      }
    }
    tf.dispose([out, feats]);
    rpn.dispose();
  });

  it('does not leak tensors', async () => {
    const rpn = makeRpn({ preNmsTopN: 1000, postNmsTopN: 1000, training: false });
    const feats = features();
    await tf.dispose(await rpn.forward(feats, fx.imageSizes, fx.batchShape)); // warm up kernels
    const before = tf.memory().numTensors;
    const out = await rpn.forward(feats, fx.imageSizes, fx.batchShape);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(feats);
    rpn.dispose();
  });

  it('gives empty proposals when nothing survives', async () => {
    const feats = features();
    for (const options of [{ minSize: 1e6 }, { preNmsTopN: { training: 0, testing: 0 } }, { scoreThresh: 2 }]) {
      const rpn = new RegionProposalNetwork({ inChannels: fx.inChannels, ...options });
      rpn.ensureBuilt();
      const before = tf.memory().numTensors;
      const out = await rpn.forward(feats, fx.imageSizes, fx.batchShape);
      expect(out.proposals.map((p) => p.shape)).toEqual([
        [0, 4],
        [0, 4],
      ]);
      expect(out.scores.map((p) => p.shape)).toEqual([[0], [0]]);
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(before);
      rpn.dispose();
    }
    tf.dispose(feats);
  });

  it('switches between training and testing top-n with the training flag', async () => {
    const rpn = makeRpn({ preNmsTopN: 1000, postNmsTopN: 1000, training: false });
    const rpnSmall = new RegionProposalNetwork({
      inChannels: fx.inChannels,
      preNmsTopN: { training: 2000, testing: 50 },
      postNmsTopN: { training: 2000, testing: 30 },
    });
    rpnSmall.ensureBuilt();
    loadTorchState(rpnSmall.head, fx.stateDict);
    const feats = features();
    const small = await rpnSmall.forward(feats, fx.imageSizes, fx.batchShape);
    expect(small.proposals.map((p) => p.shape[0])).toEqual(fx.runs.find((r) => r.name === 'small top-n')!.proposals.map((p) => p.count));
    rpnSmall.training = true;
    const trainCounts = fx.runs.find((r) => r.name === 'train defaults')!.proposals.map((p) => p.count);
    const big = await rpnSmall.forward(feats, fx.imageSizes, fx.batchShape);
    expect(big.proposals.map((p) => p.shape[0])).toEqual(trainCounts);
    tf.dispose([small, big, feats]);
    rpn.dispose();
    rpnSmall.dispose();
  });

  it('rejects bad input and options with clear messages', async () => {
    expect(() => new RegionProposalNetwork({ postNmsTopN: { training: -1, testing: 5 } })).toThrow(
      /Error in RegionProposalNetwork: postNmsTopN must be a non-negative integer/,
    );
    expect(() => new RegionProposalNetwork({ anchorSizes: [[32]], aspectRatios: [[1]] })).toThrow(/must list 5 levels/);
    const rpn = new RegionProposalNetwork({ inChannels: fx.inChannels });
    const feats = features();
    const { pool, ...noPool } = feats;
    await expect(rpn.forward(noPool as unknown as FpnFeatures, fx.imageSizes, fx.batchShape)).rejects.toThrow(
      /features must have exactly the levels 0, 1, 2, 3, pool; missing \[pool\]/,
    );
    await expect(rpn.forward(feats, [[64, 96]], fx.batchShape)).rejects.toThrow(/imageSizes must have one/);
    await expect(rpn.forward(feats, [[64, 96], [65, 10]], fx.batchShape)).rejects.toThrow(/imageSizes\[1\] = \[65, 10\]/);
    await expect(rpn.forward(feats, fx.imageSizes, [64, 0])).rejects.toThrow(/batchShape must be two positive integers/);
    expect(pool).toBeDefined();
    tf.dispose(feats);
    rpn.dispose();
  });
});

describeEachBackend('selectProposals recorder', () => {
  it("gives each pre-NMS candidate its fate in torchvision's order, by hand", async () => {
    // One level of 1 x 5 locations, one anchor each, zero deltas (boxes are the anchors).
    // Sigmoid objectness 0.953, 0.881, 0.731, 0.622, 0.924; anchor 1 overlaps anchor 0 with
    // IoU 81/119 = 0.68, anchor 2 is 1e-4 px wide.
    const objectness = tf.tensor4d([3, 2, 1, 0.5, 2.5], [1, 1, 5, 1]);
    const deltas = tf.zeros<tf.Rank.R4>([1, 1, 5, 4]);
    const anchors = Float32Array.of(0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 20.0001, 30, 30, 0, 40, 10, 0, 20, 10, 30);
    const seen: ProposalCandidates[] = [];
    const selection = { preNmsTopN: 5, postNmsTopN: 1, nmsThresh: 0.5, scoreThresh: 0.75, minSize: 1e-3 };
    const { boxes, scores } = await selectProposals([objectness], [deltas], [anchors], [[40, 50]], selection, undefined, (i, c) => {
      seen[i] = c;
    });
    try {
      const c = seen[0];
      // Top-k order: anchors 0, 4, 1, 2, 3.
      expect([...c.anchorIndices]).toEqual([0, 4, 1, 2, 3]);
      expect(c.fates).toEqual(['kept', 'postNmsTopN', 'nms', 'small', 'lowScore']);
      expect([...c.proposalIndices]).toEqual([0, -1, -1, -1, -1]);
      expect([...c.levels]).toEqual([0, 0, 0, 0, 0]);
      expect([...c.boxes.subarray(0, 4)]).toEqual([...(await boxes[0].data())]);
      expect(c.scores[0]).toBe((await scores[0].data())[0]);
    } finally {
      tf.dispose([objectness, deltas, boxes, scores]);
    }
  });
});
