import { histogramCounts, histogramLayout, scoreHistogram } from '../../src/viz/histogram';
import { DEFAULT_PALETTE } from '../../src/viz/palette';
import { pixel } from './scenes';

const BAR = [...DEFAULT_PALETTE[2], 255];
const WHITE = [255, 255, 255, 255];

/** Rows of column x that have colour `c`. */
function columnCount(img: { data: Uint8ClampedArray; width: number; height: number }, x: number, c: number[]): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) if (pixel(img, x, y).join() === c.join()) n++;
  return n;
}

describe('histogramCounts', () => {
  test("equals numpy's np.histogram (references from numpy 1.24)", () => {
    // np.histogram([0, .1, .2, .3, .5, .7, 1, 1.2, -.1, .25, .75], bins=4, range=(0, 1))[0]
    expect(Array.from(histogramCounts([0, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.2, -0.1, 0.25, 0.75], 4, [0, 1]))).toEqual([3, 2, 2, 2]);
    // np.histogram([.1, .2, .3, .6, .7], bins=3, range=(.1, .7))[0]: 0.3 is on an edge
    expect(Array.from(histogramCounts([0.1, 0.2, 0.3, 0.6, 0.7], 3, [0.1, 0.7]))).toEqual([2, 1, 2]);
    // np.histogram([.3, .6], bins=10, range=(0, .9))[0]
    expect(Array.from(histogramCounts([0.3, 0.6], 10, [0, 0.9]))).toEqual([0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    // rng = np.random.default_rng(3); v = np.round(rng.random(40) * 1.2 - 0.1, 2); np.histogram(v, bins=7, range=(0, 1))[0]
    const v = [0.0, 0.18, 0.86, 0.6, 0.01, 0.42, 0.47, 0.09, 0.78, 0.04, 0.37, 0.52, 0.42, 0.6, 0.79, 1.05, 0.24, 0.68, 0.74, 0.25, -0.1, 1.07, 0.26, 0.28,
      0.97, 0.6, 0.47, 0.83, -0.06, 0.75, 0.35, 0.01, 0.69, 1.02, 0.15, 0.66, 0.26, 0.79, 0.77, 0.16];
    expect(Array.from(histogramCounts(v, 7, [0, 1]))).toEqual([5, 8, 4, 3, 6, 7, 2]);
    // w = np.round(rng.random(30) * 0.9, 1); np.histogram(w, bins=9, range=(0, 0.9))[0]: the edge 3 * 0.1 is
    // 0.30000000000000004, so 0.3 falls in bin 2 (and 0.7 in bin 6), as numpy's edges say.
    const w = [0.7, 0.6, 0.6, 0.7, 0.4, 0.7, 0.8, 0.1, 0.8, 0.4, 0.4, 0.1, 0.6, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6, 0.2, 0.2, 0.7, 0.7, 0.5, 0.8, 0.2, 0.8, 0.2, 0.9, 0.6];
    expect(Array.from(histogramCounts(w, 9, [0, 0.9]))).toEqual([0, 2, 6, 0, 4, 7, 5, 0, 6]);
  });

  test('NaN and values outside the range are not counted; bad arguments are errors', () => {
    expect(Array.from(histogramCounts(Float32Array.of(NaN, -Infinity, Infinity, 0.5), 2, [0, 1]))).toEqual([0, 1]);
    expect(Array.from(histogramCounts([], 3, [0, 1]))).toEqual([0, 0, 0]);
    expect(() => histogramCounts([], 0, [0, 1])).toThrow(/bins must be an integer >= 1, got 0/);
    expect(() => histogramCounts([], 2, [1, 1])).toThrow(/lo < hi, got \[1, 1\]/);
  });
});

describe('scoreHistogram', () => {
  // Counts 4, 2, 1, 0 in four bins over [0, 1].
  const values = Float32Array.of(0.1, 0.1, 0.2, 0.24, 0.3, 0.4, 0.6);

  test('bar heights: round(count / yMax * plot height) rows, standing on the bottom', () => {
    const L = histogramLayout(values, { bins: 4 });
    expect(Array.from(L.counts)).toEqual([4, 2, 1, 0]);
    expect(L.yMax).toBe(4); // integer count ticks 0..4
    expect([L.top, L.bottom]).toEqual([9, 180]); // 320 x 200 at scale 1: plot 172 rows high
    const img = scoreHistogram(values, { bins: 4 });
    expect([img.width, img.height]).toEqual([320, 200]);
    const heights = [0, 1, 2, 3].map((b) => columnCount(img, L.binColumns(b)[0] + 10, BAR));
    expect(heights).toEqual([172, 86, 43, 0]);
    const [x0] = L.binColumns(0);
    expect(pixel(img, x0, L.top)).toEqual(BAR); // the tallest bar reaches the top row
    expect(pixel(img, x0, L.bottom)).toEqual(BAR);
    expect(pixel(img, L.binColumns(1)[0], L.bottom - 86)).not.toEqual(BAR);
    expect(pixel(img, L.binColumns(1)[0], L.bottom - 85)).toEqual(BAR);
  });

  test('bins split the plot width evenly, one blank column between bars', () => {
    const L = histogramLayout(values, { bins: 4 });
    expect(L.left).toBe(15); // padding 4, the label '4' (5 wide), 5 for the tick marks, the frame
    expect(L.right).toBe(314);
    expect([0, 1, 2, 3].map(L.binColumns)).toEqual([[15, 88], [90, 163], [165, 238], [240, 313]]);
    const img = scoreHistogram(values, { bins: 4 });
    expect(pixel(img, 88, L.bottom)).toEqual(BAR);
    expect(pixel(img, 89, L.bottom)).not.toEqual(BAR);
    expect(pixel(img, 90, L.bottom)).toEqual(BAR);
  });

  test('frame, ticks and title: the frame is 1 pixel outside the plot; a title moves the plot down', () => {
    const img = scoreHistogram(values, { bins: 4, barColor: [255, 0, 0] });
    const L = histogramLayout(values, { bins: 4 });
    expect(pixel(img, L.left - 1, L.top - 1)).toEqual([110, 110, 110, 255]);
    expect(pixel(img, L.right + 1, L.bottom + 1)).toEqual([110, 110, 110, 255]);
    expect(L.xTicks.map((t) => t.label)).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    expect(L.yTicks.map((t) => t.label)).toEqual(['0', '1', '2', '3', '4']);
    expect(pixel(img, L.xOf(0.2), L.bottom + 2)).toEqual([110, 110, 110, 255]); // tick mark under 0.2
    expect(histogramLayout(values, { bins: 4, title: 'scores' }).top).toBe(9 + 12);
  });

  test("range 'auto' spans the values (numpy's +-0.5 for equal values)", () => {
    expect(histogramLayout([2, 4, 3], { range: 'auto', bins: 2 }).range).toEqual([2, 4]);
    expect(Array.from(histogramLayout([2, 4, 3], { range: 'auto', bins: 2 }).counts)).toEqual([1, 2]);
    expect(histogramLayout([3, 3], { range: 'auto' }).range).toEqual([2.5, 3.5]);
    expect(histogramLayout([], { range: 'auto' }).range).toEqual([0, 1]);
  });

  test('no values: empty axes, no bars, the note; yMax 1', () => {
    const img = scoreHistogram([]);
    const L = histogramLayout([]);
    expect(L.yMax).toBe(1);
    let bars = 0;
    for (let p = 0; p < img.width * img.height; p++) if (pixel(img, p % img.width, Math.floor(p / img.width)).join() === BAR.join()) bars++;
    expect(bars).toBe(0);
    let text = 0;
    for (let y = L.top; y <= L.bottom; y++) for (let x = L.left; x <= L.right; x++) if (pixel(img, x, y).join() === [40, 40, 40, 255].join()) text++;
    expect(text).toBeGreaterThan(0); // 'no values'
    expect(pixel(img, L.left, L.top)).toEqual([228, 228, 228, 255]); // the grid line of the tick 1
    expect(pixel(img, L.left, L.top + 1)).toEqual(WHITE);
  });

  test('options are checked together', () => {
    expect(() => scoreHistogram([], { bins: 0, width: 10, range: [1, 0] })).toThrow(/bins: must be an integer in \[1, 1000\], got 0\n.*range: must be 'auto' or \[lo, hi\].*\n.*width: must be an integer in \[64, 8192\], got 10/);
    expect(() => scoreHistogram(null as unknown as number[])).toThrow(/values must be an array of numbers/);
  });
});
