import { ROI_SAMPLER_OPTIONS, RPN_SAMPLER_OPTIONS, sampleBalanced } from '../../src/targets/balanced_sampler';
import { Rng } from '../../src/util/random';
import { Arr, i32, indicesWhere, readFixture, u8 } from './fixture_io';

interface SamplerCase {
  name: string;
  labels: Arr;
  batchSizePerImage: number;
  positiveFraction: number;
  takeAll: boolean;
  positiveMask: Arr;
  negativeMask: Arr;
}

describe('sampleBalanced vs torchvision BalancedPositiveNegativeSampler', () => {
  const cases = readFixture<SamplerCase[]>('sampler.json');
  for (const c of cases) {
    const opts = { batchSizePerImage: c.batchSizePerImage, positiveFraction: c.positiveFraction };
    const labels = i32(c.labels);
    const wantPos = indicesWhere(u8(c.positiveMask), (v) => v === 1);
    const wantNeg = indicesWhere(u8(c.negativeMask), (v) => v === 1);
    if (c.takeAll) {
      it(`${c.name}: takes every candidate, exactly as torchvision, without an Rng`, () => {
        const s = sampleBalanced(labels, opts);
        expect(Array.from(s.positive)).toEqual(wantPos);
        expect(Array.from(s.negative)).toEqual(wantNeg);
      });
    } else {
      it(`${c.name}: draws torchvision's counts (${wantPos.length} + ${wantNeg.length}) from the right candidates`, () => {
        const s = sampleBalanced(labels, opts, new Rng(3));
        expect(s.positive.length).toBe(wantPos.length);
        expect(s.negative.length).toBe(wantNeg.length);
        expect(Array.from(s.positive).every((i) => labels[i] >= 1)).toBe(true);
        expect(Array.from(s.negative).every((i) => labels[i] === 0)).toBe(true);
        expect(new Set(s.positive).size).toBe(s.positive.length);
        expect(new Set(s.negative).size).toBe(s.negative.length);
        const sorted = (a: Int32Array): boolean => a.every((v, i) => i === 0 || a[i - 1] < v);
        expect(sorted(s.positive) && sorted(s.negative)).toBe(true);
      });
    }
  }
});

describe('sampleBalanced seeding', () => {
  const labels = new Int32Array(3000).map((_, i) => (i % 7 === 0 ? 1 : i % 3 === 0 ? -1 : 0));

  it('is deterministic for a seed and resumes from a saved Rng state', () => {
    const a = sampleBalanced(labels, RPN_SAMPLER_OPTIONS, new Rng(11));
    const b = sampleBalanced(labels, RPN_SAMPLER_OPTIONS, new Rng(11));
    expect(Array.from(a.positive)).toEqual(Array.from(b.positive));
    expect(Array.from(a.negative)).toEqual(Array.from(b.negative));
    expect(a.positive.length).toBe(128);
    expect(a.negative.length).toBe(128);

    const rng = new Rng(5);
    sampleBalanced(labels, RPN_SAMPLER_OPTIONS, rng);
    const saved = rng.getState();
    const next = sampleBalanced(labels, RPN_SAMPLER_OPTIONS, rng);
    const resumed = sampleBalanced(labels, RPN_SAMPLER_OPTIONS, Rng.fromState(saved));
    expect(Array.from(resumed.negative)).toEqual(Array.from(next.negative));
    const other = sampleBalanced(labels, RPN_SAMPLER_OPTIONS, new Rng(12));
    expect(Array.from(other.negative)).not.toEqual(Array.from(a.negative));
  });

  it('consumes no random numbers in the take-all regime', () => {
    const rng = new Rng(9);
    const before = rng.getState();
    const s = sampleBalanced(Int32Array.of(1, 0, -1, 2, 0), ROI_SAMPLER_OPTIONS, rng);
    expect(Array.from(s.positive)).toEqual([0, 3]);
    expect(Array.from(s.negative)).toEqual([1, 4]);
    expect(rng.getState()).toEqual(before);
  });

  it('draws every candidate about equally often', () => {
    // 40 positives, quota 4 per draw: each should be drawn 10% of the time.
    const lab = new Int32Array(40).fill(1);
    const counts = new Array<number>(40).fill(0);
    const rng = new Rng(1);
    const draws = 4000;
    for (let t = 0; t < draws; t++) for (const i of sampleBalanced(lab, { batchSizePerImage: 8, positiveFraction: 0.5 }, rng).positive) counts[i]++;
    const expected = (draws * 4) / 40;
    for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(0.2 * expected);
  });

  it('fills the batch with negatives when positives are few, and floors the positive quota', () => {
    const lab = new Int32Array(600).fill(0);
    lab[5] = 1;
    const s = sampleBalanced(lab, ROI_SAMPLER_OPTIONS, new Rng(0));
    expect(s.positive.length).toBe(1);
    expect(s.negative.length).toBe(511);
    const t = sampleBalanced(new Int32Array(10).fill(1), { batchSizePerImage: 7, positiveFraction: 0.3 }, new Rng(0));
    expect(t.positive.length).toBe(2); // int(7 * 0.3)
  });

  it('needs an Rng when a random subset must be drawn, and checks its options', () => {
    expect(() => sampleBalanced(new Int32Array(300), RPN_SAMPLER_OPTIONS)).toThrow(
      'Error in sampleBalanced: 300 negative candidates exceed the 256 to draw and no Rng was given',
    );
    expect(() => sampleBalanced([0], { batchSizePerImage: 1.5, positiveFraction: 0.5 })).toThrow(/batchSizePerImage must be a non-negative integer/);
    expect(() => sampleBalanced([0], { batchSizePerImage: 4, positiveFraction: 2 })).toThrow(/positiveFraction must be in \[0, 1\]/);
  });
});
