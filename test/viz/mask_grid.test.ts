import { greys, viridis } from '../../src/viz/colormap';
import { drawMaskTargets, maskGrid } from '../../src/viz/mask_grid';
import { blankImage } from '../../src/viz/rgba';
import { blend, GREY, pixel } from './scenes';

const rgba = (c: readonly number[]): number[] => [...c, 255];
const RED = [255, 0, 0] as const;
const BG = [GREY, GREY, GREY, 255];

describe('maskGrid', () => {
  const masks = { data: Float32Array.of(0, 0.5, 1, 0.25, 1, 1, 1, 1), height: 2, width: 2 };

  test('each probability a zoom x zoom block in greys, tiles on a grid', () => {
    const sheet = maskGrid(masks, { margin: 1 });
    expect([sheet.width, sheet.height]).toEqual([11, 6]); // 2 tiles of 4 x 4: 1 + 2 * 5 by 1 + 5
    expect(pixel(sheet, 1, 1)).toEqual(rgba(greys(0)));
    expect(pixel(sheet, 2, 2)).toEqual(rgba(greys(0)));
    expect(pixel(sheet, 3, 1)).toEqual(rgba(greys(0.5)));
    expect(pixel(sheet, 1, 3)).toEqual([255, 255, 255, 255]);
    expect(pixel(sheet, 4, 4)).toEqual(rgba(greys(0.25)));
    expect(pixel(sheet, 6, 1)).toEqual([255, 255, 255, 255]); // the second tile
    expect(pixel(sheet, 0, 0)).toEqual([96, 96, 96, 255]); // the grey margin
    expect(pixel(sheet, 5, 1)).toEqual([96, 96, 96, 255]);
  });

  test('viridis, range and zoom options; 28 x 28 crops', () => {
    const v = maskGrid(masks, { colormap: 'viridis', zoom: 1, margin: 0, columns: 1 });
    expect([v.width, v.height]).toEqual([2, 4]);
    expect(pixel(v, 0, 0)).toEqual(rgba(viridis(0)));
    expect(pixel(v, 0, 1)).toEqual(rgba(viridis(1)));
    const ranged = maskGrid({ data: [-4, 4], height: 1, width: 2 }, { range: [-4, 4], zoom: 1, margin: 0 });
    expect([pixel(ranged, 0, 0), pixel(ranged, 1, 0)]).toEqual([rgba(greys(0)), rgba(greys(1))]);
    const crops = maskGrid({ data: new Float32Array(3 * 28 * 28).fill(1), height: 28, width: 28 }, { margin: 0, columns: 3 });
    expect([crops.width, crops.height]).toEqual([168, 56]);
  });

  test('captions under the tiles', () => {
    const sheet = maskGrid(masks, { margin: 0, zoom: 1, captions: ['L', 'L'], textColor: [255, 0, 0] });
    // Cells are 5 wide (the caption) and 2 + 11 high; 'L' starts at (0, 2 + 1).
    expect([sheet.width, sheet.height]).toEqual([10, 13]);
    expect(pixel(sheet, 0, 3)).toEqual(rgba(RED));
    expect(pixel(sheet, 5, 3)).toEqual(rgba(RED));
  });

  test('no masks: the empty grid; a length that is not whole masks is an error', () => {
    const none = maskGrid({ data: [], height: 28, width: 28 });
    expect([none.width, none.height]).toEqual([4, 4]);
    expect(() => maskGrid({ data: new Float32Array(5), height: 2, width: 2 })).toThrow(/Error in maskGrid: 5 values do not hold whole 2x2 masks/);
    expect(() => maskGrid(masks, { zoom: 0 })).toThrow(/zoom: must be an integer >= 1, got 0/);
  });
});

describe('drawMaskTargets', () => {
  const base = () => blankImage(40, 30, [GREY, GREY, GREY]);
  const plain = { legend: false, outlineWidth: 0, colors: [RED] } as const;

  test('a 2 x 2 target stretched over an 8 x 8 box: each cell a 4 x 4 block, blended, the box stroked', () => {
    const picture = drawMaskTargets(base(), [[10, 5, 18, 13]], { data: [1, 0, 0, 1], height: 2, width: 2 }, plain);
    const fill = [...blend(BG, RED, 0.5), 255];
    expect(fill).toEqual([192, 64, 64, 255]);
    expect(pixel(picture, 11, 6)).toEqual(fill);
    expect(pixel(picture, 13, 8)).toEqual(fill);
    expect(pixel(picture, 14, 8)).toEqual(BG); // the top-right cell is 0
    expect(pixel(picture, 14, 9)).toEqual(fill);
    expect(pixel(picture, 16, 11)).toEqual(fill);
    expect(pixel(picture, 10, 5)).toEqual(rgba(RED)); // box edge
    expect(pixel(picture, 17, 12)).toEqual(rgba(RED));
    expect(pixel(picture, 18, 13)).toEqual(BG);
  });

  test('threshold, outline, boxes partly outside the picture', () => {
    const soft = { data: [0.4, 0.4, 0.4, 0.4], height: 2, width: 2 };
    expect(pixel(drawMaskTargets(base(), [[10, 5, 18, 13]], soft, plain), 12, 8)).toEqual(BG);
    expect(pixel(drawMaskTargets(base(), [[10, 5, 18, 13]], soft, { ...plain, threshold: 0.3 }), 12, 8)).toEqual([192, 64, 64, 255]);
    const outlined = drawMaskTargets(base(), [[10, 5, 18, 13]], soft, { ...plain, threshold: 0.3, outlineWidth: 2, lineWidth: 1 });
    expect(pixel(outlined, 11, 6)).toEqual(rgba(RED));
    expect(pixel(outlined, 12, 7)).toEqual([192, 64, 64, 255]);
    const edge = drawMaskTargets(base(), [[-4, -4, 4, 4]], { data: [0, 0, 0, 1], height: 2, width: 2 }, plain);
    expect(pixel(edge, 0, 0)).toEqual([192, 64, 64, 255]);
    expect(pixel(edge, 2, 2)).toEqual([192, 64, 64, 255]);
    expect(pixel(edge, 3, 3)).toEqual(rgba(RED));
    const far = drawMaskTargets(base(), [[1e9, 1e9, 1e9 + 5, 1e9 + 5]], { data: [1], height: 1, width: 1 }, plain);
    expect(far.data).toEqual(base().data);
  });

  test('no targets: an unchanged copy (with its legend unless off); counts must match', () => {
    expect(drawMaskTargets(base(), [], { data: [], height: 28, width: 28 }, plain).data).toEqual(base().data);
    const withLegend = drawMaskTargets(base(), [], { data: [], height: 28, width: 28 });
    expect(pixel(withLegend, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(() => drawMaskTargets(base(), [[0, 0, 4, 4]], { data: [], height: 28, width: 28 })).toThrow(/0 target masks for 1 boxes; there must be one per box/);
    expect(() => drawMaskTargets(base(), [], { data: [], height: 2, width: 2 }, { alpha: 2 })).toThrow(/alpha: must be a number in \[0, 1\], got 2/);
  });
});
