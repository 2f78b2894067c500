import * as tf from '@tensorflow/tfjs';
import { assignRpnTargets, sampleRpnLabels } from '../../src/targets/rpn_targets';
import { RPN_SAMPLER_OPTIONS } from '../../src/targets/balanced_sampler';
import { Rng } from '../../src/util/random';
import { describeEachBackend } from '../support/backends';
import { Arr, f32, indicesWhere, maxRelError, readFixture, rows4 } from './fixture_io';

interface TargetCase {
  name: string;
  anchors: Arr;
  gtBoxes: Arr;
  labels: Arr;
  regressionTargets: Arr;
}

const fixture = readFixture<{ targets: TargetCase[] }>('rpn_targets.json');

describeEachBackend('assignRpnTargets vs torchvision assign_targets_to_anchors', () => {
  for (const c of fixture.targets) {
    it(`${c.name}: labels exact, foreground regression targets within 1e-6`, () => {
      const t = assignRpnTargets(f32(c.anchors), { boxes: f32(c.gtBoxes) });
      const want = f32(c.labels);
      expect(Array.from(t.labels)).toEqual(Array.from(want));
      const fg = indicesWhere(want, (v) => v === 1);
      const err = maxRelError(rows4(t.regressionTargets, fg), rows4(f32(c.regressionTargets), fg), 1e-3);
      console.log(`rpn targets ${c.name} [${tf.getBackend()}]: ${fg.length} fg of ${want.length}, max rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-6);
      const other = indicesWhere(want, (v) => v !== 1);
      expect(rows4(t.regressionTargets, other).every((v) => v === 0)).toBe(true);
      // matched index agrees with labels
      for (let a = 0; a < want.length; a++) expect(t.matchedGtIndex[a] >= 0).toBe(want[a] === 1);
    });
  }

  it('drops crowd boxes: same targets as without them, and a crowd-only image is all background', () => {
    const c = fixture.targets.find((x) => x.name === 'grid_three_gt') as TargetCase;
    const anchors = f32(c.anchors);
    const gt = f32(c.gtBoxes);
    const crowdBox = Float32Array.of(0, 0, 64, 48);
    const withCrowd = new Float32Array([...crowdBox, ...gt]);
    const t = assignRpnTargets(anchors, { boxes: withCrowd, crowd: [1, 0, 0, 0] });
    const ref = assignRpnTargets(anchors, { boxes: gt });
    expect(Array.from(t.labels)).toEqual(Array.from(ref.labels));
    expect(Array.from(t.regressionTargets)).toEqual(Array.from(ref.regressionTargets));
    // indices refer to the caller's numbering (crowd box at 0)
    for (let a = 0; a < ref.labels.length; a++) if (ref.matchedGtIndex[a] >= 0) expect(t.matchedGtIndex[a]).toBe(ref.matchedGtIndex[a] + 1);
    const onlyCrowd = assignRpnTargets(anchors, { boxes: crowdBox, crowd: Uint8Array.of(1) });
    expect(onlyCrowd.labels.every((v) => v === 0)).toBe(true);
    expect(onlyCrowd.regressionTargets.every((v) => v === 0)).toBe(true);
  });

  it('does not leak tensors', () => {
    const c = fixture.targets[0];
    const before = tf.memory().numTensors;
    assignRpnTargets(f32(c.anchors), { boxes: f32(c.gtBoxes) });
    assignRpnTargets(f32(c.anchors), { boxes: new Float32Array(0) });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects malformed input with the function and argument named', () => {
    expect(() => assignRpnTargets(new Float32Array(6), { boxes: new Float32Array(4) })).toThrow(
      'Error in assignRpnTargets: anchors length must be a multiple of 4',
    );
    expect(() => assignRpnTargets(new Float32Array(4), { boxes: Float32Array.of(0, 0, NaN, 1) })).toThrow(
      'Error in assignRpnTargets: gt.boxes[2] is not finite',
    );
    expect(() => assignRpnTargets(new Float32Array(4), { boxes: new Float32Array(4), crowd: [0, 0] })).toThrow(
      'Error in assignRpnTargets: gt.crowd must have 1 entries',
    );
  });
});

describe('sampleRpnLabels', () => {
  const c = fixture.targets.find((x) => x.name === 'grid_three_gt') as TargetCase;
  const labels = f32(c.labels);

  it('keeps 256 anchors (up to half foreground) and marks the rest -1', () => {
    const s = sampleRpnLabels(labels, RPN_SAMPLER_OPTIONS, new Rng(0));
    const fg = indicesWhere(s, (v) => v === 1);
    const bg = indicesWhere(s, (v) => v === 0);
    expect(fg.length).toBe(indicesWhere(labels, (v) => v === 1).length); // 21 < 128: all taken
    expect(fg.length + bg.length).toBe(256);
    for (const i of fg) expect(labels[i]).toBe(1);
    for (const i of bg) expect(labels[i]).toBe(0);
    expect(indicesWhere(s, (v) => v === -1).length).toBe(labels.length - 256);
  });

  it('is the identity in the take-all regime', () => {
    const s = sampleRpnLabels(labels, { batchSizePerImage: 10000, positiveFraction: 0.5 });
    expect(Array.from(s)).toEqual(Array.from(labels));
  });
});
