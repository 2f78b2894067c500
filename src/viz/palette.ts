/**
 * Colours of the pictures: a fixed palette (instance i, or label i, gets `palette[i % n]`) and the
 * choice of black or white text on a coloured tag.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */

/**
 * An sRGB colour, 0-255 per channel.
 *
 * @example
 * ```ts
 * const orange: RgbColor = [245, 130, 48];
 * drawDetections(pixels, prediction, { palette: [orange, [0, 130, 200]] });
 * ```
 */
export type RgbColor = readonly [number, number, number];

/**
 * The default palette: 16 saturated colours that differ in hue and lightness, ordered so that
 * neighbours (instances 0, 1, 2, ... of one picture) contrast. It stays fixed between versions,
 * so a picture of the same prediction has the same colours.
 *
 * | index | name | RGB |
 * |---|---|---|
 * | 0 | red | 230, 25, 75 |
 * | 1 | green | 60, 180, 75 |
 * | 2 | blue | 0, 130, 200 |
 * | 3 | orange | 245, 130, 48 |
 * | 4 | purple | 145, 30, 180 |
 * | 5 | cyan | 70, 240, 240 |
 * | 6 | magenta | 240, 50, 230 |
 * | 7 | yellow | 255, 225, 25 |
 * | 8 | teal | 0, 128, 128 |
 * | 9 | pink | 250, 160, 190 |
 * | 10 | brown | 170, 110, 40 |
 * | 11 | lime | 190, 240, 60 |
 * | 12 | navy | 0, 0, 128 |
 * | 13 | maroon | 128, 0, 0 |
 * | 14 | olive | 128, 128, 0 |
 * | 15 | lavender | 190, 160, 255 |
 *
 * @example
 * ```ts
 * DEFAULT_PALETTE[0]; // [230, 25, 75], the first instance's red
 * DEFAULT_PALETTE.length; // 16
 * ```
 */
export const DEFAULT_PALETTE: readonly RgbColor[] = Object.freeze([
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [255, 225, 25],
  [0, 128, 128],
  [250, 160, 190],
  [170, 110, 40],
  [190, 240, 60],
  [0, 0, 128],
  [128, 0, 0],
  [128, 128, 0],
  [190, 160, 255],
] as const satisfies readonly RgbColor[]);

/**
 * The palette's colour for index `i` (an instance's position or a label): `palette[i % n]`;
 * negative indices wrap the same way.
 *
 * @example
 * ```ts
 * paletteColor(17); // DEFAULT_PALETTE[1], green
 * paletteColor(2, [[0, 0, 0], [255, 255, 255]]); // [0, 0, 0]
 * ```
 */
export function paletteColor(i: number, palette: readonly RgbColor[] = DEFAULT_PALETTE): RgbColor {
  const n = palette.length;
  if (n === 0) throw new Error('Error in paletteColor: the palette is empty');
  return palette[((Math.trunc(i) % n) + n) % n];
}

/** WCAG 2 relative luminance of an sRGB colour. */
function relativeLuminance([r, g, b]: RgbColor): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Black or white, whichever has the larger WCAG contrast ratio against `background` (black on a
 * tie): the colour of a tag's text.
 *
 * @example
 * ```ts
 * contrastTextColor([255, 225, 25]); // [0, 0, 0] on yellow
 * contrastTextColor([0, 0, 128]);    // [255, 255, 255] on navy
 * ```
 */
export function contrastTextColor(background: RgbColor): RgbColor {
  const l = relativeLuminance(background);
  // Contrast ratio (L1 + 0.05) / (L2 + 0.05): white is 1.05 / (l + 0.05), black (l + 0.05) / 0.05.
  return 1.05 / (l + 0.05) > (l + 0.05) / 0.05 ? [255, 255, 255] : [0, 0, 0];
}
