import { FONT_CHARACTERS, FONT_METRICS, glyphRows } from '../../src/viz/bitmap_font';
import { blendMask, drawLine, drawText, drawTextTag, fillRect, measureText, measureTextTag, outlineMask, RgbaImage, strokeRect } from '../../src/viz/draw';
import { contrastTextColor, DEFAULT_PALETTE, paletteColor } from '../../src/viz/palette';
import { Rng } from '../../src/util/random';
import { pixel } from './scenes';

/** A `width x height` RGBA image of one colour. */
function canvas(width: number, height: number, rgba = [0, 0, 0, 255]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set(rgba, 4 * p);
  return { data, width, height };
}

/** The image as rows of '#' (colour `ink`) and '.' (anything else). */
function art(img: RgbaImage, ink: number[]): string[] {
  return Array.from({ length: img.height }, (_, y) =>
    Array.from({ length: img.width }, (_, x) => (pixel(img, x, y).join() === ink.join() ? '#' : '.')).join(''),
  );
}

const WHITE = [255, 255, 255, 255];

describe('bitmap font', () => {
  test('covers a-z, A-Z, 0-9 and the punctuation labels use', () => {
    const wanted = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-:%?/';
    for (const ch of wanted) expect(FONT_CHARACTERS).toContain(ch);
    expect(FONT_CHARACTERS.length).toBe(wanted.length);
    expect(FONT_METRICS).toEqual({ glyphWidth: 5, glyphHeight: 9, advance: 6 });
  });

  test("glyphs are 9 rows of 5 bits; unknown characters get '?'", () => {
    expect(glyphRows('A')).toEqual([0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0, 0]);
    expect(glyphRows('é')).toEqual(glyphRows('?'));
    expect(glyphRows('\n')).toEqual(glyphRows('?'));
    for (const ch of FONT_CHARACTERS) {
      const rows = glyphRows(ch);
      expect(rows.length).toBe(9);
      expect(rows.every((r) => Number.isInteger(r) && r >= 0 && r < 32)).toBe(true);
      // Only a space is blank, and no two characters share a glyph.
      expect(rows.some((r) => r !== 0)).toBe(ch !== ' ');
    }
    const distinct = new Set([...FONT_CHARACTERS].map((ch) => glyphRows(ch).join()));
    expect(distinct.size).toBe(FONT_CHARACTERS.length);
  });

  test('descenders use rows 7-8, capitals stay in rows 0-6', () => {
    for (const ch of 'gjpqy_') expect(glyphRows(ch)[7]).not.toBe(0);
    for (const ch of 'ABCXYZ0189abcxz') expect(glyphRows(ch).slice(7)).toEqual([0, 0]);
  });

  test('drawText paints the glyph pixels at the given place', () => {
    const img = canvas(13, 11);
    drawText(img, 'Lg', 1, 1, [255, 255, 255]);
    expect(art(img, WHITE)).toEqual([
      '.............',
      '.#...........',
      '.#...........',
      '.#......####.',
      '.#.....#...#.',
      '.#.....#...#.',
      '.#.....#...#.',
      '.#####..####.',
      '...........#.',
      '........###..',
      '.............',
    ]);
  });

  test('drawText at scale 2 and clipped at the image edge', () => {
    const img = canvas(4, 4);
    drawText(img, 'L', -6, -10, [255, 255, 255], 2); // only the end of the L's foot (row 6, columns 3-4) is in view
    expect(art(img, WHITE)).toEqual(['....', '....', '####', '####']);
    const img2 = canvas(6, 6);
    drawText(img2, '.', -2, -10, [255, 255, 255], 2); // '.' is rows 5-6, columns 1-2: image rows 0-3, columns 0-3
    expect(art(img2, WHITE)).toEqual(['####..', '####..', '####..', '####..', '......', '......']);
  });

  test('measureText and measureTextTag', () => {
    expect(measureText('')).toEqual({ width: 0, height: 9 });
    expect(measureText('cat 0.9')).toEqual({ width: 41, height: 9 });
    expect(measureText('cat', 2)).toEqual({ width: 34, height: 18 });
    expect(measureTextTag('cat 0.9')).toEqual({ width: 43, height: 11 });
    expect(measureTextTag('cat', 3)).toEqual({ width: 57, height: 33 });
  });
});

describe('drawing primitives', () => {
  test('fillRect and strokeRect clip to the image and draw lines inside', () => {
    const img = canvas(8, 6);
    strokeRect(img, 1, 1, 6, 4, [255, 255, 255], 1);
    expect(art(img, WHITE)).toEqual(['........', '.######.', '.#....#.', '.#....#.', '.######.', '........']);
    const img2 = canvas(8, 6);
    strokeRect(img2, 1, 1, 6, 4, [255, 255, 255], 2);
    expect(art(img2, WHITE)).toEqual(['........', '.######.', '.######.', '.######.', '.######.', '........']);
    const img3 = canvas(4, 3);
    fillRect(img3, -2, 1, 4, 5, [255, 255, 255]);
    expect(art(img3, WHITE)).toEqual(['....', '##..', '##..']);
  });

  test('drawLine: Bresenham pixels from end to end, a square brush for wider lines, clipped at the edges', () => {
    const img = canvas(8, 5);
    drawLine(img, 0, 0, 7, 3, [255, 255, 255]);
    expect(art(img, WHITE)).toEqual(['##......', '..##....', '....##..', '......##', '........']);
    const back = canvas(8, 5);
    drawLine(back, 7, 3, 0, 0, [255, 255, 255]);
    expect(art(back, WHITE)).toEqual(art(img, WHITE)); // here the same pixels from the other end
    const wide = canvas(8, 5);
    drawLine(wide, 1, 1, 5, 1, [255, 255, 255], 2);
    expect(art(wide, WHITE)).toEqual(['........', '.######.', '.######.', '........', '........']);
    const wide3 = canvas(8, 5);
    drawLine(wide3, 2, 2, 2, 2, [255, 255, 255], 3); // one point: a 3x3 square centred on it
    expect(art(wide3, WHITE)).toEqual(['........', '.###....', '.###....', '.###....', '........']);
    const clipped = canvas(4, 3);
    drawLine(clipped, -3, 1, 9, 1, [255, 255, 255]);
    drawLine(clipped, 0, 0, 0, 0, [255, 255, 255], 0); // width 0: nothing
    expect(art(clipped, WHITE)).toEqual(['....', '####', '....']);
    expect(pixel(clipped, 1, 1)).toEqual([255, 255, 255, 255]);
  });

  test('blendMask rounds alpha * colour + (1 - alpha) * old, and lays alpha over', () => {
    const img = canvas(3, 1, [10, 200, 101, 0]);
    blendMask(img, { x: 1, y: 0, width: 1, height: 1, data: Uint8Array.of(1) }, [255, 0, 50], 0.5);
    expect(pixel(img, 0, 0)).toEqual([10, 200, 101, 0]);
    // 0.5 * 255 + 0.5 * 10 = 132.5 -> 133, 100, 75.5 -> 76 (rounded half up), alpha 127.5 -> 128.
    expect(pixel(img, 1, 0)).toEqual([133, 100, 76, 128]);
  });

  test('outlineMask paints the inner boundary; the window edge and the image edge count as outside', () => {
    const img = canvas(7, 6);
    // A 5x4 window at (1, 1) full of ones, except a hole at window (2, 2).
    const data = new Uint8Array(20).fill(1);
    data[2 * 5 + 2] = 0;
    outlineMask(img, { x: 1, y: 1, width: 5, height: 4, data }, [255, 255, 255], 1);
    expect(art(img, WHITE)).toEqual(['.......', '.#####.', '.#####.', '.##.##.', '.#####.', '.......']);
    const edge = canvas(5, 4);
    outlineMask(edge, { x: 0, y: 0, width: 5, height: 4, data: new Uint8Array(20).fill(1) }, [255, 255, 255], 1);
    expect(art(edge, WHITE)).toEqual(['#####', '#...#', '#...#', '#####']);
  });

  test('outlineMask equals a naive neighbour loop on random masks, widths 1-3, windows partly outside', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const [mw, mh] = [rng.int(1, 15), rng.int(1, 12)];
      const data = Uint8Array.from({ length: mw * mh }, () => (rng.float() < 0.7 ? 1 : 0));
      const mask = { x: rng.int(-4, 8), y: rng.int(-4, 8), width: mw, height: mh, data };
      const w = 1 + (trial % 3);
      const got = canvas(12, 10);
      outlineMask(got, mask, [255, 255, 255], w);
      const want = canvas(12, 10);
      const set = (r: number, c: number): boolean => r >= 0 && r < mh && c >= 0 && c < mw && data[r * mw + c] !== 0;
      for (let r = 0; r < mh; r++) {
        for (let c = 0; c < mw; c++) {
          const [px, py] = [mask.x + c, mask.y + r];
          if (!set(r, c) || px < 0 || py < 0 || px >= 12 || py >= 10) continue;
          let edge = false;
          for (let dr = -w; dr <= w; dr++) for (let dc = -w; dc <= w; dc++) edge ||= !set(r + dr, c + dc);
          if (edge) want.data.set(WHITE, 4 * (py * 12 + px));
        }
      }
      expect([trial, ...art(got, WHITE)]).toEqual([trial, ...art(want, WHITE)]);
    }
  });

  test('drawTextTag: background in the tag colour, text by contrast', () => {
    const img = canvas(9, 13);
    drawTextTag(img, 'I', 1, 1, [255, 225, 25]); // yellow: black text
    const yellow = [255, 225, 25, 255];
    expect(art(img, yellow)).toEqual([
      '.........',
      '.#######.',
      '.##...##.',
      '.###.###.',
      '.###.###.',
      '.###.###.',
      '.###.###.',
      '.###.###.',
      '.##...##.',
      '.#######.',
      '.#######.',
      '.#######.',
      '.........',
    ]);
    expect(pixel(img, 3, 2)).toEqual([0, 0, 0, 255]);
  });
});

describe('palette', () => {
  test('instance i gets palette[i % n], deterministically', () => {
    expect(DEFAULT_PALETTE.length).toBe(16);
    expect(DEFAULT_PALETTE[0]).toEqual([230, 25, 75]);
    expect(paletteColor(0)).toEqual(DEFAULT_PALETTE[0]);
    expect(paletteColor(17)).toEqual(DEFAULT_PALETTE[1]);
    expect(paletteColor(-1)).toEqual(DEFAULT_PALETTE[15]);
    expect(paletteColor(2, [[1, 1, 1], [2, 2, 2]])).toEqual([1, 1, 1]);
    expect(() => paletteColor(0, [])).toThrow(/palette is empty/);
  });

  test('colours are distinct: at least 60 apart in RGB', () => {
    for (let i = 0; i < DEFAULT_PALETTE.length; i++) {
      for (let j = i + 1; j < DEFAULT_PALETTE.length; j++) {
        const d = Math.hypot(...DEFAULT_PALETTE[i].map((v, k) => v - DEFAULT_PALETTE[j][k]));
        expect([i, j, d > 60]).toEqual([i, j, true]);
      }
    }
  });

  test('text is black on light colours and white on dark ones', () => {
    expect(contrastTextColor([255, 255, 255])).toEqual([0, 0, 0]);
    expect(contrastTextColor([0, 0, 0])).toEqual([255, 255, 255]);
    expect(contrastTextColor([255, 225, 25])).toEqual([0, 0, 0]);
    expect(contrastTextColor([0, 0, 128])).toEqual([255, 255, 255]);
    expect(contrastTextColor([145, 30, 180])).toEqual([255, 255, 255]);
  });
});
