import { imageGrid, imageGridLayout } from '../../src/viz/image_grid';
import { blankImage } from '../../src/viz/rgba';
import { pixel } from './scenes';

const tile = (w: number, h: number, v: number) => blankImage(w, h, [v, v, v]);

describe('imageGrid', () => {
  test('tiles row by row at margin + k * (cell + margin)', () => {
    const tiles = [tile(3, 2, 10), tile(3, 2, 20), tile(3, 2, 30), tile(3, 2, 40), tile(3, 2, 50)];
    const grid = imageGrid(tiles, { margin: 1, background: [255, 0, 0] });
    // 5 tiles: ceil(sqrt 5) = 3 columns, 2 rows; 1 + 3 * 4 = 13 wide, 1 + 2 * 3 = 7 high.
    expect([grid.width, grid.height]).toEqual([13, 7]);
    expect(pixel(grid, 1, 1)).toEqual([10, 10, 10, 255]);
    expect(pixel(grid, 3, 2)).toEqual([10, 10, 10, 255]);
    expect(pixel(grid, 4, 1)).toEqual([255, 0, 0, 255]); // margin between tiles
    expect(pixel(grid, 5, 1)).toEqual([20, 20, 20, 255]);
    expect(pixel(grid, 9, 1)).toEqual([30, 30, 30, 255]);
    expect(pixel(grid, 1, 4)).toEqual([40, 40, 40, 255]);
    expect(pixel(grid, 5, 5)).toEqual([50, 50, 50, 255]);
    expect(pixel(grid, 9, 4)).toEqual([255, 0, 0, 255]); // no sixth tile
    expect(pixel(grid, 0, 0)).toEqual([255, 0, 0, 255]);
  });

  test('cells fit the largest picture; smaller ones sit top-left; columns option', () => {
    const layout = imageGridLayout([tile(4, 2, 0), tile(2, 5, 0)], { columns: 1, margin: 2 });
    expect(layout).toMatchObject({ columns: 1, rows: 2, cellWidth: 4, cellHeight: 5, width: 8, height: 16 }); // 2 + 2 * (5 + 2)
    expect(layout.cellOrigin(1)).toEqual({ x: 2, y: 9 });
    const grid = imageGrid([tile(4, 2, 0), tile(2, 5, 90)], { columns: 1, margin: 2 });
    expect(pixel(grid, 2, 9)).toEqual([90, 90, 90, 255]);
    expect(pixel(grid, 4, 9)).toEqual([255, 255, 255, 255]);
    expect(pixel(grid, 2, 4)).toEqual([255, 255, 255, 255]); // below the 2-high first tile
  });

  test('captions: a band of 11s under the pictures, text at (cell x, y + picture height + s), cells as wide as a caption', () => {
    const layout = imageGridLayout([tile(3, 3, 0)], { margin: 0, captions: ['L'] });
    expect([layout.cellWidth, layout.cellHeight]).toEqual([5, 14]);
    const grid = imageGrid([tile(3, 3, 0), tile(3, 3, 0)], { margin: 0, captions: ['L', 'L'], textColor: [255, 0, 0] });
    // 'L' is a column at x 0 from row 0 to 6 and a foot at row 6: in the picture rows 4-10.
    expect(pixel(grid, 0, 4)).toEqual([255, 0, 0, 255]);
    expect(pixel(grid, 4, 10)).toEqual([255, 0, 0, 255]);
    expect(pixel(grid, 5 + 4, 10)).toEqual([255, 0, 0, 255]); // the second cell's caption
    expect(pixel(grid, 1, 4)).toEqual([255, 255, 255, 255]);
  });

  test('the default caption colour contrasts with the background', () => {
    const grid = imageGrid([tile(1, 1, 0)], { margin: 0, captions: ['L'], background: [0, 0, 0] });
    expect(pixel(grid, 0, 2)).toEqual([255, 255, 255, 255]);
  });

  test('no pictures: a margin x margin background; zero-size pictures are fine', () => {
    const empty = imageGrid([]);
    expect([empty.width, empty.height]).toEqual([4, 4]);
    expect(pixel(empty, 3, 3)).toEqual([255, 255, 255, 255]);
    expect(imageGrid([], { margin: 0 }).data.length).toBe(0);
    const zero = imageGrid([blankImage(0, 0), blankImage(0, 0)], { margin: 1 });
    expect([zero.width, zero.height]).toEqual([3, 2]);
  });

  test('errors: a malformed picture (its index), bad options listed', () => {
    expect(() => imageGrid([tile(1, 1, 0), { data: new Uint8ClampedArray(3), width: 1, height: 1 }])).toThrow(/imageGrid: picture 1: the image data must be a Uint8ClampedArray of 4 bytes/);
    expect(() => imageGrid([], { columns: 0, margin: -1 })).toThrow(/columns: must be an integer >= 1, got 0\n.*margin: must be an integer >= 0, got -1/);
  });
});
