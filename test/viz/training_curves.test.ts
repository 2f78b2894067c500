/**
 * Training curves: pixel checks on a small fixed history (constant losses on known rows of the
 * log axis, the lr and AP where their linear axes put them, legends, tick labels, background
 * elsewhere), the empty and eval-less histories, options, and the atomic PNG writer.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { EvalRecord, HistoryRecord, StepRecord } from '../../src/train/history';
import { drawText, measureText, RgbaImage } from '../../src/viz/draw';
import { writeTrainingCurvesPng } from '../../src/viz/png';
import {
  renderTrainingCurves,
  trainingCurvesLayout,
  TRAINING_CURVE_COLORS,
  TRAINING_CURVES_THEME,
  type CurveName,
  type CurvesPanelLayout,
} from '../../src/viz/training_curves';
import { pixel } from './scenes';

const rgba = (c: readonly number[]): number[] => [...c, 255];
const C = (name: CurveName): number[] => rgba(TRAINING_CURVE_COLORS[name]);
const BACKGROUND = rgba(TRAINING_CURVES_THEME.background);

/**
 * Steps 10, 20, ..., 100 with constant losses on whole decades of a log axis from 0.01 to 10
 * (classifier 1, mask 0.1, the other three 0.01; total 1.13), lr 0.01, and one evaluation.
 */
function fixedHistory(): HistoryRecord[] {
  const steps: StepRecord[] = Array.from({ length: 10 }, (_, i) => ({
    type: 'step',
    step: 10 * (i + 1),
    epoch: 0,
    loss_objectness: 0.01,
    loss_rpn_box_reg: 0.01,
    loss_classifier: 1,
    loss_box_reg: 0.01,
    loss_mask: 0.1,
    total: 1.13,
    lr: 0.01,
  }));
  const evaluation: EvalRecord = { type: 'eval', step: 50, boxAp: 0.5, maskAp: 0.25 };
  return [...steps.slice(0, 5), evaluation, ...steps.slice(5)];
}

/** The row of a value on a log axis from 10^lo to 10^hi over a panel's plot area. */
function logRow(p: CurvesPanelLayout, v: number, lo: number, hi: number): number {
  return p.bottom - Math.round(((Math.log10(v) - lo) / (hi - lo)) * (p.bottom - p.top));
}

/** The row of a value on a linear axis from 0 to the panel's last tick. */
function linearRow(p: CurvesPanelLayout, v: number): number {
  const hi = p.yTicks[p.yTicks.length - 1].value;
  return p.bottom - Math.round((v / hi) * (p.bottom - p.top));
}

/** Pixels of `img` inside the rectangle, as 'r,g,b,a' strings. */
function colorsIn(img: RgbaImage, x0: number, y0: number, x1: number, y1: number): Set<string> {
  const out = new Set<string>();
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.add(pixel(img, x, y).join());
  return out;
}

describe('renderTrainingCurves', () => {
  const history = fixedHistory();
  const img = renderTrainingCurves(history);
  const layout = trainingCurvesLayout(history, 960, 720);
  const { loss, lr, ap } = layout.panels;
  // A column inside the logged steps, clear of the vertical grid lines.
  const column = layout.xOf(55);

  test('is 960 x 720 RGBA by default, opaque; width and height set it', () => {
    expect([img.width, img.height, img.data.length]).toEqual([960, 720, 960 * 720 * 4]);
    expect(img.data.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
    const small = renderTrainingCurves(history, { width: 640, height: 480 });
    expect([small.width, small.height, small.data.length]).toEqual([640, 480, 640 * 480 * 4]);
    // Same history, same picture.
    expect(Buffer.from(renderTrainingCurves(history).data).equals(Buffer.from(img.data))).toBe(true);
  });

  test('the panels stack top to bottom over one step axis from 0 to the last step', () => {
    expect(layout.lastStep).toBe(100);
    expect(loss.bottom < lr.top && lr.bottom < ap.top && ap.bottom < 720).toBe(true);
    for (const p of [loss, lr, ap]) expect([p.left, p.right]).toEqual([layout.xOf(0), layout.xOf(100)]);
    expect(layout.xTicks.map((t) => t.value)).not.toContain(55);
    expect(layout.xTicks.every((t) => layout.xOf(t.value) !== column)).toBe(true);
    expect(loss.yTicks.map((t) => t.label)).toEqual(['0.01', '0.1', '1', '10']);
  });

  test('a constant loss is a horizontal line in its colour on the row of its value (log scale)', () => {
    const maskRow = logRow(loss, 0.1, -2, 1);
    expect(maskRow).toBe(loss.bottom - Math.round((loss.bottom - loss.top) / 3));
    for (let x = layout.xOf(10); x <= layout.xOf(100); x++) expect(pixel(img, x, maskRow)).toEqual(C('loss_mask'));
    expect(pixel(img, column, logRow(loss, 1, -2, 1))).toEqual(C('loss_classifier'));
    // Three losses of 0.01 on the bottom row: the last drawn of them shows.
    expect(pixel(img, column, loss.bottom)).toEqual(C('loss_box_reg'));
    // The total, 2 pixels thick, on top.
    const totalRow = logRow(loss, 1.13, -2, 1);
    expect([pixel(img, column, totalRow), pixel(img, column, totalRow + 1)]).toEqual([C('total'), C('total')]);
    // Background just off the lines, and before the first logged step (grid line only).
    for (const dy of [-2, 2]) expect(pixel(img, column, maskRow + dy)).toEqual(BACKGROUND);
    expect(pixel(img, layout.xOf(10) - 3, maskRow)).toEqual(rgba(TRAINING_CURVES_THEME.grid));
    expect(pixel(img, column, Math.round((maskRow + logRow(loss, 1, -2, 1)) / 2))).toEqual(BACKGROUND);
  });

  test('the lr and the AP lie where their linear axes put them; AP has a marker at each evaluation', () => {
    expect(pixel(img, column, linearRow(lr, 0.01))).toEqual(C('lr'));
    expect(pixel(img, column, linearRow(lr, 0.01) - 2)).toEqual(BACKGROUND);
    expect(lr.yTicks[0]).toEqual({ value: 0, label: '0' });
    const x = layout.xOf(50);
    for (const [name, v] of [['boxAp', 0.5], ['maskAp', 0.25]] as const) {
      const y = linearRow(ap, v);
      for (const [dx, dy] of [[0, 0], [-2, -2], [2, 2]]) expect(pixel(img, x + dx, y + dy)).toEqual(C(name));
      expect([BACKGROUND, rgba(TRAINING_CURVES_THEME.grid)]).toContainEqual(pixel(img, x + 4, y)); // one evaluation: no line
    }
  });

  test('each curve has its colour in the legend to the right of its panel', () => {
    const legend = (p: CurvesPanelLayout): Set<string> => colorsIn(img, p.right + 2, p.top, 959, p.bottom);
    for (const k of ['loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg', 'loss_mask', 'total'] as const) {
      expect(legend(loss).has(C(k).join())).toBe(true);
    }
    expect(legend(lr).has(C('lr').join())).toBe(true);
    expect(legend(ap).has(C('boxAp').join()) && legend(ap).has(C('maskAp').join())).toBe(true);
    // Nothing of a curve in the legend column beyond the swatches' colours and the text.
    expect([...legend(loss)].every((c) => [BACKGROUND, rgba(TRAINING_CURVES_THEME.text), ...Object.keys(TRAINING_CURVE_COLORS).map((k) => C(k as CurveName))].some((o) => o.join() === c))).toBe(true);
  });

  test('tick labels are drawn beside their ticks', () => {
    // The '0.1' label of the loss axis, right-aligned left of the tick, as drawText draws it alone.
    const label = '0.1';
    const w = measureText(label).width;
    const y = logRow(loss, 0.1, -2, 1);
    const x0 = loss.left - 6 - w;
    const alone: RgbaImage = { data: new Uint8ClampedArray(4 * w * 9).fill(255), width: w, height: 9 };
    drawText(alone, label, 0, 0, TRAINING_CURVES_THEME.text);
    for (let r = 0; r < 9; r++) {
      for (let c = 0; c < w; c++) expect([c, r, ...pixel(img, x0 + c, y - 3 + r)]).toEqual([c, r, ...pixel(alone, c, r)]);
    }
    // Step labels under the bottom panel: '0' under its left edge, '100' under its right edge.
    const under = colorsIn(img, layout.xOf(100) - 8, ap.bottom + 2, layout.xOf(100) + 8, ap.bottom + 20);
    expect(under.has(rgba(TRAINING_CURVES_THEME.text).join())).toBe(true);
  });

  test('an empty history and one without evaluations render, with no curve inside the plots', () => {
    const curveColors = new Set(Object.keys(TRAINING_CURVE_COLORS).map((k) => C(k as CurveName).join()));
    const plotColors = (picture: RgbaImage, p: CurvesPanelLayout): string[] => [...colorsIn(picture, p.left, p.top, p.right, p.bottom)].filter((c) => curveColors.has(c));
    const empty = renderTrainingCurves([]);
    const emptyLayout = trainingCurvesLayout([], 960, 720);
    expect([empty.width, empty.height]).toEqual([960, 720]);
    for (const p of Object.values(emptyLayout.panels)) expect(plotColors(empty, p)).toEqual([]);
    expect(emptyLayout.lastStep).toBe(1);

    const noEval = history.filter((r) => r.type === 'step');
    const picture = renderTrainingCurves(noEval);
    const l = trainingCurvesLayout(noEval, 960, 720);
    expect(plotColors(picture, l.panels.ap)).toEqual([]);
    expect(plotColors(picture, l.panels.loss).length).toBeGreaterThan(0);
  });

  test('AP of -1 (nothing to score) and NaN values leave no point; records out of order are sorted', () => {
    const odd: HistoryRecord[] = [
      { type: 'eval', step: 40, boxAp: -1, maskAp: NaN },
      ...history.filter((r) => r.type === 'step').reverse(),
      { ...(history[0] as StepRecord), step: 30, loss_mask: NaN },
    ];
    const picture = renderTrainingCurves(odd);
    const l = trainingCurvesLayout(odd, 960, 720);
    const maskRow = logRow(l.panels.loss, 0.1, -2, 1);
    for (let x = l.xOf(10); x <= l.xOf(100); x++) expect(pixel(picture, x, maskRow)).toEqual(C('loss_mask'));
    const apColors = colorsIn(picture, l.panels.ap.left, l.panels.ap.top, l.panels.ap.right, l.panels.ap.bottom);
    expect(apColors.has(C('boxAp').join()) || apColors.has(C('maskAp').join())).toBe(false);
  });

  test('a long history renders (no argument-count limit on its values)', () => {
    const long: StepRecord[] = Array.from({ length: 30_000 }, (_, i) => ({ ...(history[0] as StepRecord), step: i + 1, loss_mask: 0.1 + (i % 7) / 100 }));
    const picture = renderTrainingCurves(long, { width: 480, height: 360 });
    expect(trainingCurvesLayout(long, 480, 360).lastStep).toBe(30_000);
    expect(picture.width).toBe(480);
  });

  test('invalid options are listed in one error', () => {
    expect(() => renderTrainingCurves(history, { width: 100, height: 1.5, colour: 'red' } as never)).toThrow(
      'Error in renderTrainingCurves: invalid options:\n  colour: unknown option (valid options: width, height)\n  width: must be an integer in [480, 8192], got 100\n  height: must be an integer in [360, 8192], got 1.5',
    );
    expect(() => renderTrainingCurves({} as never)).toThrow('Error in renderTrainingCurves: history must be an array of records');
  });
});

describe('writeTrainingCurvesPng', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'curves-png-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  test('writes the picture as PNG, replacing the old file atomically (no temporary file left)', async () => {
    const out = path.join(tmp, 'curves.png');
    await fs.writeFile(out, 'old');
    const picture = await writeTrainingCurvesPng(fixedHistory(), out, { width: 640, height: 480 });
    const { data, info } = await sharp(out).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([640, 480]);
    expect(Buffer.from(data).equals(Buffer.from(picture.data))).toBe(true);
    expect(await fs.readdir(tmp)).toEqual(['curves.png']);
  });

  test('errors name the function and the file', async () => {
    const noDir = path.join(tmp, 'no', 'such', 'curves.png');
    await expect(writeTrainingCurvesPng([], noDir)).rejects.toThrow(`Error in writeTrainingCurvesPng: cannot write ${noDir}`);
    await expect(writeTrainingCurvesPng([], path.join(tmp, 'x.png'), { width: 1 })).rejects.toThrow(/^Error in writeTrainingCurvesPng: invalid options:\n {2}width/);
    expect(await fs.readdir(tmp)).not.toContain('x.png');
  });
});
