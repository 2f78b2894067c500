import { drawLegend, legendImage, measureLegend } from '../../src/viz/legend';
import { blankImage } from '../../src/viz/rgba';
import { pixel } from './scenes';

const GREEN = [60, 180, 75] as const;
const RED = [230, 25, 75] as const;

describe('legend', () => {
  test('measureLegend: 14s + widest label by 4s + 9s per row + 2s between rows', () => {
    expect(measureLegend([{ color: GREEN, label: 'P2' }])).toEqual({ width: 25, height: 13 });
    expect(measureLegend([{ color: GREEN, label: 'P2' }, { color: RED, label: 'neg' }], 2)).toEqual({ width: 28 + 34, height: 8 + 36 + 4 });
    expect(measureLegend([])).toEqual({ width: 0, height: 0 });
  });

  test('swatches are 7s squares at (x + 2s, y + 2s + row * 11s), on the background', () => {
    const img = blankImage(40, 30, [0, 0, 0]);
    const size = drawLegend(img, [{ color: GREEN, label: 'a' }, { color: RED, label: 'b' }], 3, 4);
    expect(size).toEqual({ width: 19, height: 24 });
    // Row 0 swatch: columns 5-11, rows 6-12; row 1: rows 17-23.
    expect(pixel(img, 5, 6)).toEqual([...GREEN, 255]);
    expect(pixel(img, 11, 12)).toEqual([...GREEN, 255]);
    expect(pixel(img, 12, 12)).toEqual([255, 255, 255, 255]); // the gap before the label
    expect(pixel(img, 5, 17)).toEqual([...RED, 255]);
    expect(pixel(img, 11, 23)).toEqual([...RED, 255]);
    expect(pixel(img, 3, 4)).toEqual([255, 255, 255, 255]); // background box corner
    expect(pixel(img, 2, 4)).toEqual([0, 0, 0, 255]); // outside it
    expect(pixel(img, 21, 27)).toEqual([255, 255, 255, 255]);
    expect(pixel(img, 22, 27)).toEqual([0, 0, 0, 255]);
    // Label text is black on white: 'b' starts with a full column at x + 12 = 15 from row 6 + 11 = 17.
    expect(pixel(img, 15, 17)).toEqual([0, 0, 0, 255]);
  });

  test('scale 2 doubles everything; no background leaves the picture', () => {
    const img = blankImage(60, 30, [9, 9, 9]);
    drawLegend(img, [{ color: GREEN, label: 'x' }], 0, 0, { scale: 2, background: null, textColor: [255, 0, 0] });
    expect(pixel(img, 4, 4)).toEqual([...GREEN, 255]);
    expect(pixel(img, 17, 17)).toEqual([...GREEN, 255]);
    expect(pixel(img, 18, 18)).toEqual([9, 9, 9, 255]);
    expect(pixel(img, 0, 0)).toEqual([9, 9, 9, 255]);
  });

  test('legendImage: its own picture; no entries give 0 x 0; bad options listed', () => {
    const key = legendImage([{ color: RED, label: 'P3' }]);
    expect([key.width, key.height]).toEqual([25, 13]);
    expect(pixel(key, 2, 2)).toEqual([...RED, 255]);
    expect(pixel(key, 0, 0)).toEqual([255, 255, 255, 255]);
    const empty = legendImage([]);
    expect([empty.width, empty.height, empty.data.length]).toEqual([0, 0, 0]);
    expect(() => legendImage([], { scale: 0, textColor: [256, 0, 0] })).toThrow(/scale: must be an integer >= 1, got 0\n.*textColor: must be an \[r, g, b\] colour/);
  });
});
