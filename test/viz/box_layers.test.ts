import {
  ANCHOR_LABEL_COLORS,
  anchorKind,
  drawAnchorLabels,
  drawBoxes,
  drawBoxRefinement,
  drawProposals,
  drawRoiLevels,
  fpnLevelColor,
} from '../../src/viz/box_layers';
import { viridis } from '../../src/viz/colormap';
import { DEFAULT_PALETTE } from '../../src/viz/palette';
import { blankImage } from '../../src/viz/rgba';
import { GREY, pixel } from './scenes';

const [W, H] = [40, 30];
const base = () => blankImage(W, H, [GREY, GREY, GREY]);
const BG = [GREY, GREY, GREY, 255];
const rgba = (c: readonly number[]): number[] => [...c, 255];
const RED = [255, 0, 0] as const;

describe('drawBoxes', () => {
  test('a box covers round(x1)..round(x2) - 1, its line inside, on a copy', () => {
    const image = base();
    const picture = drawBoxes(image, Float32Array.of(5.4, 6, 15, 11.6), { colors: RED });
    expect(pixel(picture, 5, 6)).toEqual(rgba(RED));
    expect(pixel(picture, 14, 6)).toEqual(rgba(RED));
    expect(pixel(picture, 14, 11)).toEqual(rgba(RED));
    expect(pixel(picture, 5, 11)).toEqual(rgba(RED));
    expect(pixel(picture, 15, 11)).toEqual(BG);
    expect(pixel(picture, 14, 12)).toEqual(BG);
    expect(pixel(picture, 10, 9)).toEqual(BG); // inside
    expect(pixel(image, 5, 6)).toEqual(BG); // the input is untouched
  });

  test('nested and flat boxes draw alike; colours cycle; the last box is on top; line width inside', () => {
    const flat = drawBoxes(base(), [2, 2, 12, 12, 2, 2, 12, 12, 20, 5, 30, 15], { lineWidth: 2 });
    const nested = drawBoxes(base(), [[2, 2, 12, 12], [2, 2, 12, 12], [20, 5, 30, 15]], { lineWidth: 2 });
    expect(nested.data).toEqual(flat.data);
    expect(pixel(flat, 2, 2)).toEqual(rgba(DEFAULT_PALETTE[1]));
    expect(pixel(flat, 3, 3)).toEqual(rgba(DEFAULT_PALETTE[1]));
    expect(pixel(flat, 4, 4)).toEqual(BG);
    expect(pixel(flat, 20, 5)).toEqual(rgba(DEFAULT_PALETTE[2]));
    const two = drawBoxes(base(), [[0, 0, 5, 5], [6, 0, 11, 5], [12, 0, 17, 5]], { colors: [RED, [0, 0, 255]] });
    expect([pixel(two, 0, 0), pixel(two, 6, 0), pixel(two, 12, 0)]).toEqual([rgba(RED), [0, 0, 255, 255], rgba(RED)]);
  });

  test('tags above the box, inside it at the top edge', () => {
    const picture = drawBoxes(base(), [[4, 20, 30, 28], [20, 1, 38, 10]], { colors: RED, labels: ['a', 'b'] });
    // 'a' tag is 7 x 11: rows 9-19 above the box at row 20; 'b' has no room above row 1 and goes inside.
    expect(pixel(picture, 4, 9)).toEqual(rgba(RED));
    expect(pixel(picture, 4, 8)).toEqual(BG);
    expect(pixel(picture, 10, 9)).toEqual(rgba(RED));
    expect(pixel(picture, 11, 9)).toEqual(BG);
    expect(pixel(picture, 26, 5)).toEqual(rgba(RED)); // the tag's right padding, inside the box
    expect(pixel(picture, 21, 2)).toEqual([0, 0, 0, 255]); // 'b' in black on red
  });

  test('no boxes: an unchanged copy; malformed boxes named', () => {
    const image = base();
    const picture = drawBoxes(image, []);
    expect(picture.data).toEqual(image.data);
    expect(picture.data).not.toBe(image.data);
    expect(drawBoxes(image, new Float32Array(0)).data).toEqual(image.data);
    expect(() => drawBoxes(image, [0, 0, 1, 1, 2, 2, 3, NaN])).toThrow(/Error in drawBoxes: boxes 1 must be 4 finite numbers, got \[2, 2, 3, NaN\]/);
    expect(() => drawBoxes(image, [0, 0, 1])).toThrow(/4 numbers per box, got 3 numbers/);
    expect(() => drawBoxes(image, [[0, 0, 1]])).toThrow(/boxes 0 must be \[x1, y1, x2, y2\]/);
    expect(() => drawBoxes(image, [], { colors: [300, 0, 0] as unknown as [number, number, number], lineWidth: 0 })).toThrow(/colors: must be.*\n.*lineWidth: must be an integer >= 1/);
    expect(() => drawBoxes({ data: new Uint8ClampedArray(2), width: 1, height: 1 }, [])).toThrow(/Error in drawBoxes: the image data must be a Uint8ClampedArray of 4 bytes/);
  });
});

describe('drawAnchorLabels', () => {
  const anchors = Float32Array.of(2, 2, 10, 10, 20, 2, 30, 10, 2, 15, 10, 25, 20, 15, 30, 25);
  const labels = Float32Array.of(1, 0, -1, 0);

  test('positive, negative and ignored anchors in their three colours', () => {
    const picture = drawAnchorLabels(base(), anchors, labels, { legend: false });
    expect(pixel(picture, 2, 2)).toEqual(rgba(ANCHOR_LABEL_COLORS.positive));
    expect(pixel(picture, 9, 9)).toEqual(rgba(ANCHOR_LABEL_COLORS.positive));
    expect(pixel(picture, 20, 2)).toEqual(rgba(ANCHOR_LABEL_COLORS.negative));
    expect(pixel(picture, 2, 15)).toEqual(rgba(ANCHOR_LABEL_COLORS.ignored));
    expect(pixel(picture, 5, 5)).toEqual(BG);
    expect(ANCHOR_LABEL_COLORS.positive).toEqual([60, 180, 75]);
  });

  test('positives are drawn on top of the other kinds, whatever the order', () => {
    const same = [[5, 5, 15, 15], [5, 5, 15, 15], [5, 5, 15, 15]];
    const picture = drawAnchorLabels(base(), same, [1, -1, 0], { legend: false });
    expect(pixel(picture, 5, 5)).toEqual(rgba(ANCHOR_LABEL_COLORS.positive));
    const noPositives = drawAnchorLabels(base(), same, [0, -1, 0], { legend: false });
    expect(pixel(noPositives, 5, 5)).toEqual(rgba(ANCHOR_LABEL_COLORS.ignored));
  });

  test('kinds, indices and colours options', () => {
    const onlyPositive = drawAnchorLabels(base(), anchors, labels, { legend: false, kinds: ['positive'] });
    expect(pixel(onlyPositive, 20, 2)).toEqual(BG);
    expect(pixel(onlyPositive, 2, 2)).toEqual(rgba(ANCHOR_LABEL_COLORS.positive));
    const sampled = drawAnchorLabels(base(), anchors, labels, { legend: false, indices: [3] });
    expect(pixel(sampled, 20, 2)).toEqual(BG);
    expect(pixel(sampled, 20, 15)).toEqual(rgba(ANCHOR_LABEL_COLORS.negative));
    const recoloured = drawAnchorLabels(base(), anchors, labels, { legend: false, colors: { positive: RED } });
    expect(pixel(recoloured, 2, 2)).toEqual(rgba(RED));
  });

  test('the legend lists positive, ignored, negative with counts, swatches at rows 2, 13, 24', () => {
    const picture = drawAnchorLabels(blankImage(80, 40, [GREY, GREY, GREY]), [], []);
    expect(pixel(picture, 2, 2)).toEqual(rgba(ANCHOR_LABEL_COLORS.positive));
    expect(pixel(picture, 2, 13)).toEqual(rgba(ANCHOR_LABEL_COLORS.ignored));
    expect(pixel(picture, 2, 24)).toEqual(rgba(ANCHOR_LABEL_COLORS.negative));
    expect(pixel(picture, 0, 0)).toEqual([255, 255, 255, 255]);
  });

  test('kinds: >= 1 positive, 0 negative, the rest ignored; mismatches are errors', () => {
    expect([1, 2, 0, -1, -2, NaN].map(anchorKind)).toEqual(['positive', 'positive', 'negative', 'ignored', 'ignored', 'ignored']);
    expect(() => drawAnchorLabels(base(), anchors, [1, 0])).toThrow(/labels must hold one number per box \(4 boxes\), got 2/);
    expect(() => drawAnchorLabels(base(), anchors, labels, { indices: [4] })).toThrow(/indices\[0\] must be an anchor index in \[0, 4\), got 4/);
    expect(() => drawAnchorLabels(base(), anchors, labels, { kinds: ['sampled' as 'positive'] })).toThrow(/kinds: must be an array of 'negative', 'ignored', 'positive'/);
  });
});

describe('drawProposals', () => {
  const boxes = [[0, 0, 8, 8], [10, 0, 18, 8], [20, 0, 28, 8]];

  test('coloured by score with viridis over [0, 1]: score 0 is viridis(0), 1 is viridis(1)', () => {
    const picture = drawProposals(base(), boxes, [0, 1, 0.5], { legend: false });
    expect(pixel(picture, 0, 0)).toEqual(rgba(viridis(0)));
    expect(pixel(picture, 10, 0)).toEqual(rgba(viridis(1)));
    expect(pixel(picture, 27, 7)).toEqual(rgba(viridis(0.5)));
  });

  test('topK keeps the best; the best is drawn on top; auto range; equal scores', () => {
    const top1 = drawProposals(base(), boxes, [0.2, 0.9, 0.5], { legend: false, topK: 1 });
    expect(pixel(top1, 0, 0)).toEqual(BG);
    expect(pixel(top1, 10, 0)).toEqual(rgba(viridis(0.9)));
    expect(pixel(top1, 20, 0)).toEqual(BG);
    const stacked = drawProposals(base(), [boxes[0], boxes[0], boxes[0]], [0.2, 0.9, 0.5], { legend: false });
    expect(pixel(stacked, 0, 0)).toEqual(rgba(viridis(0.9)));
    const auto = drawProposals(base(), boxes, [-2, 4, 1], { legend: false, scoreRange: 'auto' });
    expect([pixel(auto, 0, 0), pixel(auto, 10, 0), pixel(auto, 20, 0)]).toEqual([rgba(viridis(0)), rgba(viridis(1)), rgba(viridis(0.5))]);
    const flat = drawProposals(base(), boxes.slice(0, 2), [3, 3], { legend: false, scoreRange: 'auto', colormap: 'greys' });
    expect(pixel(flat, 0, 0)).toEqual([0, 0, 0, 255]);
  });

  test('legend: the top of the range first, swatch at (2, 2); none without proposals', () => {
    const picture = drawProposals(blankImage(80, 60, [GREY, GREY, GREY]), [[70, 50, 78, 58]], [0.3]);
    expect(pixel(picture, 2, 2)).toEqual(rgba(viridis(1)));
    expect(pixel(picture, 2, 13)).toEqual(rgba(viridis(0.5)));
    expect(pixel(picture, 2, 24)).toEqual(rgba(viridis(0)));
    const none = drawProposals(base(), [], []);
    expect(none.data).toEqual(base().data);
  });

  test("'auto' over more proposals than a call takes arguments", () => {
    const n = 200_000;
    const boxes = new Float32Array(4 * n).map((_, i) => (i % 4 < 2 ? 0 : 4));
    const scores = Float32Array.from({ length: n }, (_, i) => i / n);
    const picture = drawProposals(blankImage(8, 8), boxes, scores, { scoreRange: 'auto', legend: false });
    expect(pixel(picture, 0, 0)).toEqual(rgba(viridis(1)));
  });

  test('errors: score count, range', () => {
    expect(() => drawProposals(base(), boxes, [1])).toThrow(/scores must hold one number per box \(3 boxes\), got 1/);
    expect(() => drawProposals(base(), boxes, [1, 1, 1], { scoreRange: [1, 1], topK: -1 })).toThrow(/topK: must be an integer >= 0, got -1\n.*scoreRange: must be 'auto' or \[lo, hi\]/);
  });
});

describe('drawRoiLevels', () => {
  test('fpnLevelColor: the palette from P2 on', () => {
    expect([0, 1, 2, 3].map(fpnLevelColor)).toEqual([[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48]]);
    expect(() => fpnLevelColor(-1)).toThrow(/level must be an integer >= 0, got -1/);
    expect(() => fpnLevelColor(0.5)).toThrow(/got 0.5/);
  });

  test('each RoI in its level colour, fine levels on top; the legend names the levels present', () => {
    const picture = drawRoiLevels(blankImage(80, 60, [GREY, GREY, GREY]), [[40, 30, 60, 50], [40, 30, 60, 50], [65, 5, 75, 15]], Int32Array.of(0, 3, 2));
    expect(pixel(picture, 40, 30)).toEqual(rgba(fpnLevelColor(0)));
    expect(pixel(picture, 65, 5)).toEqual(rgba(fpnLevelColor(2)));
    // Legend rows: P2 1, P4 1, P5 1.
    expect(pixel(picture, 2, 2)).toEqual(rgba(fpnLevelColor(0)));
    expect(pixel(picture, 2, 13)).toEqual(rgba(fpnLevelColor(2)));
    expect(pixel(picture, 2, 24)).toEqual(rgba(fpnLevelColor(3)));
    expect(pixel(picture, 2, 35)).toEqual(BG);
  });

  test('no RoIs: an unchanged copy; bad levels named', () => {
    expect(drawRoiLevels(base(), [], []).data).toEqual(base().data);
    expect(() => drawRoiLevels(base(), [[0, 0, 1, 1]], [1.5])).toThrow(/levels\[0\] must be an integer >= 0, got 1.5/);
  });
});

describe('drawBoxRefinement', () => {
  test('raw boxes, refined boxes, and a line between their centres on top', () => {
    const picture = drawBoxRefinement(base(), [[0, 0, 11, 11]], [[20, 10, 31, 21]], { legend: false });
    expect(pixel(picture, 0, 0)).toEqual(rgba(DEFAULT_PALETTE[2]));
    expect(pixel(picture, 30, 20)).toEqual(rgba(DEFAULT_PALETTE[3]));
    // Centres (5.5, 5.5) and (25.5, 15.5) round to (6, 6) and (26, 16): slope 1/2, through (16, 11).
    expect(pixel(picture, 6, 6)).toEqual(rgba(DEFAULT_PALETTE[7]));
    expect(pixel(picture, 16, 11)).toEqual(rgba(DEFAULT_PALETTE[7]));
    expect(pixel(picture, 26, 16)).toEqual(rgba(DEFAULT_PALETTE[7]));
    expect(pixel(picture, 16, 12)).toEqual(BG);
  });

  test('a box regressed far away: the line is clipped to the picture, not walked to the end', () => {
    const far = 1e9;
    const picture = drawBoxRefinement(base(), [[0, 0, 10, 10]], [[far, far, far + 10, far + 10]], { legend: false, lineColor: RED });
    expect(pixel(picture, 5, 5)).toEqual(rgba(RED));
    expect(pixel(picture, 20, 20)).toEqual(rgba(RED));
    expect(pixel(picture, 29, 29)).toEqual(rgba(RED));
    const outside = drawBoxRefinement(base(), [[-far, 0, -far + 2, 2]], [[-far, 8, -far + 2, 10]], { legend: false, lineColor: RED });
    expect(outside.data).toEqual(base().data);
  });

  test('legend and errors', () => {
    const picture = drawBoxRefinement(blankImage(90, 40, [GREY, GREY, GREY]), [], []);
    expect(pixel(picture, 2, 2)).toEqual(rgba(DEFAULT_PALETTE[2]));
    expect(pixel(picture, 2, 13)).toEqual(rgba(DEFAULT_PALETTE[3]));
    expect(pixel(picture, 2, 24)).toEqual(rgba(DEFAULT_PALETTE[7]));
    expect(() => drawBoxRefinement(base(), [[0, 0, 1, 1]], [])).toThrow(/1 raw boxes but 0 refined boxes/);
  });
});
