import { maskTargets, projectMasksOnBoxes } from '../../src/targets/mask_targets';
import { RoiTargets } from '../../src/targets/roi_targets';
import { Arr, f32, i32, maxAbsDiff, readFixture, u8 } from './fixture_io';

interface ProjectCase {
  name: string;
  height: number;
  width: number;
  gtMasks: Arr;
  boxes: Arr;
  matchedIdxs: Arr;
  size: number;
  targets: Arr;
}

const fixture = readFixture<{ targets: ProjectCase[] }>('mask_targets.json');

describe('projectMasksOnBoxes vs torchvision project_masks_on_boxes', () => {
  for (const c of fixture.targets) {
    it(`${c.name}: within 1e-6 of torchvision's RoIAlign of the GT mask`, () => {
      const masks = { data: u8(c.gtMasks), height: c.height, width: c.width };
      const got = projectMasksOnBoxes(masks, f32(c.boxes), i32(c.matchedIdxs), c.size);
      const want = f32(c.targets);
      const err = maxAbsDiff(got, want);
      console.log(`mask targets ${c.name}: ${want.length} values, max abs err ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-6);
      // float masks give the same answer as 0/1 bytes
      const asFloat = projectMasksOnBoxes({ ...masks, data: Float32Array.from(masks.data) }, f32(c.boxes), i32(c.matchedIdxs), c.size);
      expect(Array.from(asFloat)).toEqual(Array.from(got));
    });
  }

  it('keeps soft values (no threshold), hand-computed on a 4x4 mask', () => {
    // Left two columns are 1. Box (0, 0, 4, 4): with one bin, 4 x 4 samples at x = 0.5, 1.5,
    // 2.5, 3.5 read 1, 0.5 (half way between columns 1 and 2), 0, 0 (clamped to column 3).
    const data = new Uint8Array(16);
    for (let y = 0; y < 4; y++) data[y * 4] = data[y * 4 + 1] = 1;
    const masks = { data, height: 4, width: 4 };
    expect(Array.from(projectMasksOnBoxes(masks, Float32Array.of(0, 0, 4, 4), [0], 1))).toEqual([0.375]);
    // 2 x 2 bins of 2 pixels, 2 x 2 samples each: left bins read 1 and 0.5, right bins 0 and 0.
    expect(Array.from(projectMasksOnBoxes(masks, Float32Array.of(0, 0, 4, 4), [0], 2))).toEqual([0.75, 0, 0.75, 0]);
    const full = projectMasksOnBoxes({ data: new Uint8Array(16).fill(1), height: 4, width: 4 }, Float32Array.of(0, 0, 3, 3), [0], 28);
    expect(full.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });

  it('rejects bad masks, boxes and indices', () => {
    const masks = { data: new Uint8Array(12), height: 3, width: 4 };
    expect(() => projectMasksOnBoxes(masks, Float32Array.of(0, 0, 1, 1), [1])).toThrow(
      'Error in projectMasksOnBoxes: matchedGtIndex[0] = 1 is outside [0, 1)',
    );
    expect(() => projectMasksOnBoxes({ ...masks, width: 5 }, Float32Array.of(0, 0, 1, 1), [0])).toThrow(/not a multiple of H \* W = 15/);
    expect(() => projectMasksOnBoxes(masks, Float32Array.of(0, 0, 1), [0])).toThrow(/boxes length must be a multiple of 4/);
    expect(() => projectMasksOnBoxes(masks, Float32Array.of(0, 0, 1, 1), [0, 0])).toThrow(/matchedGtIndex must have 1 entries/);
    expect(() => projectMasksOnBoxes(masks, Float32Array.of(0, 0, 1, 1), [0], 0)).toThrow(/size must be a positive integer/);
  });
});

describe('maskTargets', () => {
  it('keeps the positive samples, their classes and GT masks', () => {
    const c = fixture.targets.find((x) => x.size === 28) as ProjectCase;
    const boxes = f32(c.boxes);
    const matched = i32(c.matchedIdxs);
    const n = matched.length;
    // every other sample is background
    const labels = Int32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? matched[i] + 1 : 0));
    const roi: RoiTargets = {
      sampledIndices: Int32Array.from({ length: n }, (_, i) => i),
      proposals: boxes,
      labels,
      matchedGtIndex: matched,
      regressionTargets: new Float32Array(4 * n),
    };
    const masks = { data: u8(c.gtMasks), height: c.height, width: c.width };
    const m = maskTargets(roi, masks);
    const rows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 0);
    expect(Array.from(m.sampleRows)).toEqual(rows);
    expect(Array.from(m.labels)).toEqual(rows.map((i) => matched[i] + 1));
    const want = f32(c.targets);
    rows.forEach((s, i) => {
      expect(Array.from(m.proposals.subarray(4 * i, 4 * i + 4))).toEqual(Array.from(boxes.subarray(4 * s, 4 * s + 4)));
      expect(maxAbsDiff(m.targets.subarray(784 * i, 784 * (i + 1)), want.subarray(784 * s, 784 * (s + 1)))).toBeLessThanOrEqual(1e-6);
    });
    const none = maskTargets({ ...roi, labels: new Int32Array(n) }, masks);
    expect(none.targets.length).toBe(0);
  });
});
