/**
 * A small bitmap font for the labels of the pictures, drawn for this project. sharp renders text
 * through SVG and the fonts fontconfig finds, which headless machines often lack, so the labels
 * carry their own glyphs and look the same everywhere, browsers included.
 *
 * Each glyph is 5 columns by 9 rows: rows 0-6 hold capitals, digits and ascenders (the baseline is
 * under row 6), rows 7-8 the descenders of g, j, p, q, y and the underscore. A glyph is written as
 * one hex byte per row, top row first, bit 4 (0x10) the leftmost column; missing trailing rows are
 * empty. 'A' = `0e 11 11 1f 11 11 11` reads
 *
 * ```
 * .###.   0e
 * #...#   11
 * #...#   11
 * #####   1f
 * #...#   11
 * #...#   11
 * #...#   11
 * ```
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */

/**
 * Metrics of the bitmap font at scale 1, in pixels: glyphs are `glyphWidth x glyphHeight` and
 * start every `advance` columns (one blank column between glyphs).
 *
 * @example
 * ```ts
 * const { advance, glyphHeight } = FONT_METRICS; // 6, 9
 * const widthOf = (text: string) => text.length * advance - 1;
 * ```
 */
export const FONT_METRICS = Object.freeze({ glyphWidth: 5, glyphHeight: 9, advance: 6 });

const GLYPH_HEX: Readonly<Record<string, string>> = {
  A: '0e11111f111111', B: '1e11111e11111e', C: '0e11101010110e', D: '1e11111111111e',
  E: '1f10101e10101f', F: '1f10101e101010', G: '0e11101711110f', H: '1111111f111111',
  I: '0e04040404040e', J: '0702020202120c', K: '11121418141211', L: '1010101010101f',
  M: '111b1515111111', N: '11111915131111', O: '0e11111111110e', P: '1e11111e101010',
  Q: '0e11111115120d', R: '1e11111e141211', S: '0f10100e01011e', T: '1f040404040404',
  U: '1111111111110e', V: '11111111110a04', W: '1111111515150a', X: '11110a040a1111',
  Y: '11110a04040404', Z: '1f01020408101f',

  a: '00000e010f110f', b: '10101e1111111e', c: '00000e1010100e', d: '01010f1111110f',
  e: '00000e111f100e', f: '06081e08080808', g: '00000f1111110f010e', h: '10101e11111111',
  i: '04000c0404040e', j: '02000602020202120c', k: '10101214181412', l: '0c04040404040e',
  m: '00001a15151515', n: '00001e11111111', o: '00000e1111110e', p: '00001e1111111e1010',
  q: '00000f1111110f0101', r: '00001619101010', s: '00000f100e011e', t: '08081e08080906',
  u: '0000111111130d', v: '00001111110a04', w: '0000111115150a', x: '0000110a040a11',
  y: '0000111111110f010e', z: '00001f0204081f',

  0: '0e11131519110e', 1: '040c040404040e', 2: '0e11010204081f', 3: '1e01010e01011e',
  4: '02060a121f0202', 5: '1f101e0101110e', 6: '0608101e11110e', 7: '1f010204080808',
  8: '0e11110e11110e', 9: '0e11110f01020c',

  ' ': '', '.': '00000000000c0c', _: '000000000000001f', '-': '0000000e', ':': '000c0c000c0c',
  '%': '18190204081303', '?': '0e110102040004', '/': '000102040810',
};

/** Decoded glyphs: 9 row bitmasks each. */
const GLYPHS: ReadonlyMap<string, readonly number[]> = new Map(
  Object.entries(GLYPH_HEX).map(([ch, hex]) => [
    ch,
    Array.from({ length: FONT_METRICS.glyphHeight }, (_, r) => (2 * r < hex.length ? parseInt(hex.slice(2 * r, 2 * r + 2), 16) : 0)),
  ]),
);

/**
 * The characters the font draws: a-z, A-Z, 0-9, space and `. _ - : % ? /`. Any other character
 * is drawn as '?'.
 *
 * @example
 * ```ts
 * FONT_CHARACTERS.includes('é'); // false: drawn as '?'
 * ```
 */
export const FONT_CHARACTERS: string = [...GLYPHS.keys()].join('');

/**
 * The rows of a character's glyph, top first: 9 numbers whose bit 4 (0x10) is the leftmost of the
 * 5 columns. Characters outside {@link FONT_CHARACTERS} get the glyph of '?'.
 *
 * @example
 * ```ts
 * glyphRows('A'); // [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0, 0]
 * const on = (glyphRows('A')[row] >> (4 - col)) & 1; // 1 where the glyph is inked
 * ```
 */
export function glyphRows(ch: string): readonly number[] {
  return GLYPHS.get(ch) ?? (GLYPHS.get('?') as readonly number[]);
}
