import { BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher, ROI_MATCHER_OPTIONS, RPN_MATCHER_OPTIONS } from '../../src/targets/matcher';
import { Arr, f32, i32, readFixture } from './fixture_io';

interface MatcherCase {
  name: string;
  high: number;
  low: number;
  allowLowQualityMatches: boolean;
  quality: Arr;
  matches: Arr;
}

describe('Matcher vs torchvision det_utils.Matcher', () => {
  const cases = readFixture<MatcherCase[]>('matcher.json');
  it('has the expected cases', () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(['rpn_random', 'roi_random', 'ties_rpn', 'thresholds_rpn', 'low_quality_only', 'zero_row', 'nan_rpn']),
    );
  });
  for (const c of cases) {
    it(`${c.name} (high ${c.high}, low ${c.low}, lowQuality ${c.allowLowQualityMatches})`, () => {
      const [g, p] = c.quality.shape;
      const m = new Matcher({ highThreshold: c.high, lowThreshold: c.low, allowLowQualityMatches: c.allowLowQualityMatches });
      expect(Array.from(m.match(f32(c.quality), g, p))).toEqual(Array.from(i32(c.matches)));
    });
  }
});

describe('Matcher rules', () => {
  const rpn = new Matcher(RPN_MATCHER_OPTIONS);
  const roi = new Matcher(ROI_MATCHER_OPTIONS);

  it('stratifies by the best quality of each prediction', () => {
    // 1 GT x 4 predictions; the 0.9 column also makes the low-quality rule a no-op.
    const q = Float32Array.of(0.9, 0.5, 0.1, 0.7);
    expect(Array.from(rpn.match(q, 1, 4))).toEqual([0, BETWEEN_THRESHOLDS, BELOW_LOW_THRESHOLD, 0]);
    expect(Array.from(roi.match(q, 1, 4))).toEqual([0, 0, BELOW_LOW_THRESHOLD, 0]);
  });

  it('gives each GT all of its tied best predictions, even below the thresholds', () => {
    // GT 0 best is 0.2 (twice), GT 1 best is 0.6 once; prediction 3 has 0.2 for GT 0 but is
    // better matched to GT 1 (0.25), so the low-quality rule restores that match instead.
    const q = Float32Array.of(0.2, 0.1, 0.2, 0.2, 0.0, 0.6, 0.0, 0.25);
    expect(Array.from(rpn.match(q, 2, 4))).toEqual([0, 1, 0, 1]);
    expect(Array.from(new Matcher({ ...RPN_MATCHER_OPTIONS, allowLowQualityMatches: false }).match(q, 2, 4))).toEqual([
      BELOW_LOW_THRESHOLD,
      BETWEEN_THRESHOLDS,
      BELOW_LOW_THRESHOLD,
      BELOW_LOW_THRESHOLD,
    ]);
  });

  it('compares in float32 like torch (0.7 as float32 is a match)', () => {
    const justBelow = new Float32Array(new Int32Array([new Int32Array(Float32Array.of(0.7).buffer)[0] - 1]).buffer)[0];
    const q = Float32Array.of(Math.fround(0.7), justBelow, 1);
    expect(Array.from(new Matcher({ ...RPN_MATCHER_OPTIONS, allowLowQualityMatches: false }).match(q, 1, 3))).toEqual([0, BETWEEN_THRESHOLDS, 0]);
  });

  it('makes every prediction background when there is no GT, and handles no predictions', () => {
    expect(Array.from(rpn.match(new Float32Array(0), 0, 3))).toEqual([-1, -1, -1]);
    expect(Array.from(roi.match(new Float32Array(0), 2, 0))).toEqual([]);
  });

  it('rejects bad thresholds and shapes with clear messages', () => {
    expect(() => new Matcher({ highThreshold: 0.3, lowThreshold: 0.7, allowLowQualityMatches: false })).toThrow(
      'Error in Matcher: lowThreshold (0.7) must be <= highThreshold (0.3)',
    );
    expect(() => new Matcher({ highThreshold: NaN, lowThreshold: 0.7, allowLowQualityMatches: false })).toThrow(/finite/);
    expect(() => rpn.match(new Float32Array(5), 2, 3)).toThrow('Error in Matcher.match: quality must hold numGt * numPred = 6 values');
    expect(() => rpn.match(new Float32Array(0), -1, 0)).toThrow(/numGt must be a non-negative integer/);
  });
});
