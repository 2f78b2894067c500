import * as tf from '@tensorflow/tfjs';
import { selectRoiTrainingSamples } from '../../src/targets/roi_targets';
import { Rng } from '../../src/util/random';
import { describeEachBackend } from '../support/backends';
import { Arr, f32, i32, indicesWhere, maxRelError, readFixture, rows4 } from './fixture_io';

interface RoiCase {
  name: string;
  proposals: Arr[];
  gtBoxes: Arr[];
  gtLabels: Arr[];
  sampledProposals: Arr[];
  matchedIdxs: Arr[];
  labels: Arr[];
  regressionTargets: Arr[];
}

const fixture = readFixture<{ targets: RoiCase[] }>('roi_targets.json');

describeEachBackend('selectRoiTrainingSamples vs torchvision select_training_samples', () => {
  for (const c of fixture.targets) {
    c.proposals.forEach((_, img) => {
      it(`${c.name} image ${img}: proposals, labels, matched indices exact; targets within 1e-6`, () => {
        const gt = { boxes: f32(c.gtBoxes[img]), labels: i32(c.gtLabels[img]) };
        // take-all: the fixture has fewer candidates than the 512 / 128 quotas
        const t = selectRoiTrainingSamples(f32(c.proposals[img]), gt);
        expect(Array.from(t.proposals)).toEqual(Array.from(f32(c.sampledProposals[img])));
        const labels = i32(c.labels[img]);
        expect(Array.from(t.labels)).toEqual(Array.from(labels));
        expect(Array.from(t.matchedGtIndex)).toEqual(Array.from(i32(c.matchedIdxs[img])));
        const pos = indicesWhere(labels, (v) => v > 0);
        const err = maxRelError(rows4(t.regressionTargets, pos), rows4(f32(c.regressionTargets[img]), pos), 1e-3);
        console.log(`roi targets ${c.name}/${img} [${tf.getBackend()}]: ${pos.length} positives of ${labels.length}, max rel err ${err.toExponential(2)}`);
        expect(err).toBeLessThanOrEqual(1e-6);
        expect(rows4(t.regressionTargets, indicesWhere(labels, (v) => v === 0)).every((v) => v === 0)).toBe(true);
        expect(Array.from(t.sampledIndices)).toEqual(Array.from({ length: labels.length }, (_, i) => i));
      });
    });
  }

  it('appends the GT boxes as proposals and gives them their own class', () => {
    const gt = { boxes: Float32Array.of(10, 10, 50, 50, 60, 5, 90, 40), labels: Int32Array.of(4, 7) };
    const t = selectRoiTrainingSamples(Float32Array.of(0, 0, 5, 5), gt);
    expect(Array.from(t.labels)).toEqual([0, 4, 7]);
    expect(Array.from(t.matchedGtIndex)).toEqual([0, 0, 1]);
    expect(Array.from(t.proposals.subarray(4))).toEqual(Array.from(gt.boxes));
    expect(Array.from(t.regressionTargets.subarray(4))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // a box against itself
  });

  it('draws 512 samples, at most 128 positive, reproducibly from the seed', () => {
    const c = fixture.targets[0];
    const gtBoxes = f32(c.gtBoxes[0]);
    const base = f32(c.proposals[0]);
    // 10 copies of the proposals: many more positives and negatives than the quotas
    const many = new Float32Array(base.length * 10);
    for (let k = 0; k < 10; k++) many.set(base, k * base.length);
    const gt = { boxes: gtBoxes, labels: i32(c.gtLabels[0]) };
    const a = selectRoiTrainingSamples(many, gt, { rng: new Rng(4) });
    const b = selectRoiTrainingSamples(many, gt, { rng: new Rng(4) });
    expect(a.labels.length).toBe(512);
    expect(indicesWhere(a.labels, (v) => v > 0).length).toBe(128);
    expect(Array.from(a.sampledIndices)).toEqual(Array.from(b.sampledIndices));
    expect(() => selectRoiTrainingSamples(many, gt)).toThrow(/no Rng was given/);
  });

  it('drops crowd GT: never positives, never appended', () => {
    const gt = { boxes: Float32Array.of(10, 10, 50, 50, 60, 5, 90, 40), labels: Int32Array.of(4, 7), crowd: Uint8Array.of(0, 1) };
    const t = selectRoiTrainingSamples(Float32Array.of(60, 5, 90, 40, 12, 10, 50, 50), gt);
    expect(Array.from(t.labels)).toEqual([0, 4, 4]); // the crowd-identical proposal is background
    expect(t.proposals.length).toBe(12);
    expect(Array.from(t.matchedGtIndex)).toEqual([0, 0, 0]);
  });

  it('treats an image without GT as all background', () => {
    const t = selectRoiTrainingSamples(Float32Array.of(0, 0, 5, 5, 3, 3, 9, 9), { boxes: new Float32Array(0), labels: new Int32Array(0) });
    expect(Array.from(t.labels)).toEqual([0, 0]);
    expect(Array.from(t.matchedGtIndex)).toEqual([0, 0]);
    expect(t.regressionTargets.every((v) => v === 0)).toBe(true);
  });

  it('does not leak tensors, and rejects missing labels', () => {
    const c = fixture.targets[0];
    const before = tf.memory().numTensors;
    selectRoiTrainingSamples(f32(c.proposals[0]), { boxes: f32(c.gtBoxes[0]), labels: i32(c.gtLabels[0]) });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => selectRoiTrainingSamples(new Float32Array(4), { boxes: new Float32Array(4) })).toThrow(
      'Error in selectRoiTrainingSamples: gt.labels is required',
    );
    expect(() => selectRoiTrainingSamples(new Float32Array(4), { boxes: new Float32Array(4), labels: [1.5] })).toThrow(
      /gt.labels\[0\] must be a non-negative integer/,
    );
  });
});
