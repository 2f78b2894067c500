/**
 * Several pictures tiled into one: a grid of equal cells, row by row, with margins and an
 * optional caption under each.
 *
 * Layout: every cell is as wide as the widest picture or caption and as high as the highest
 * picture, plus a caption band of `11s` (text scale s: `s` above and below the 9s-high text) when
 * there are captions. Picture i goes at the top-left of cell `(i % columns, floor(i / columns))`,
 * cell (c, r) starting at `(margin + c * (cellWidth + margin), margin + r * (cellHeight + margin))`;
 * the grid is `margin + columns * (cellWidth + margin)` wide, likewise high.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { FONT_METRICS } from './bitmap_font';
import { drawText, measureText, RgbaImage } from './draw';
import { checkOptions, OPTION_CHECKS } from './options';
import { contrastTextColor, RgbColor } from './palette';
import { blankImage, checkRgbaImage, pasteImage } from './rgba';

/**
 * Options of {@link imageGrid}.
 *
 * @example
 * ```ts
 * const options: ImageGridOptions = { columns: 4, margin: 2, captions: ['P2', 'P3', 'P4', 'P5'] };
 * ```
 */
export interface ImageGridOptions {
  /** Cells per row, an integer >= 1; default `ceil(sqrt(n))` for n pictures. */
  columns?: number;
  /** Pixels around and between cells, an integer >= 0; default 4. */
  margin?: number;
  /** Colour between and around the pictures; default white. */
  background?: RgbColor;
  /** One caption per picture (missing ones are blank), under it in the bitmap font; default none. */
  captions?: readonly string[];
  /** Caption text scale, an integer >= 1; default 1. */
  textScale?: number;
  /** Caption colour; default black or white, whichever contrasts with the background. */
  textColor?: RgbColor;
}

/**
 * Where {@link imageGrid} puts things.
 *
 * @example
 * ```ts
 * const { cellWidth, columns } = imageGridLayout([a, b, c], { margin: 2 });
 * ```
 */
export interface ImageGridLayout {
  readonly columns: number;
  readonly rows: number;
  readonly cellWidth: number;
  readonly cellHeight: number;
  readonly width: number;
  readonly height: number;
  /** Top-left pixel of picture i's cell. */
  readonly cellOrigin: (i: number) => { x: number; y: number };
}

/** The checks of {@link ImageGridOptions}, shared by the pictures laid out as grids. */
export const GRID_CHECKS = {
  columns: OPTION_CHECKS.integer(1),
  margin: OPTION_CHECKS.integer(0),
  background: OPTION_CHECKS.color,
  captions: OPTION_CHECKS.strings,
  textScale: OPTION_CHECKS.integer(1),
  textColor: OPTION_CHECKS.color,
};

/**
 * The layout of {@link imageGrid} (see the file comment): no pictures give 0 columns and rows and
 * a `margin x margin` grid.
 *
 * @throws Error listing every invalid option.
 * @example
 * ```ts
 * imageGridLayout([blankImage(28, 28), blankImage(28, 28)], { margin: 2 }).width; // 2 + 2 * 30 = 62
 * ```
 */
export function imageGridLayout(images: readonly RgbaImage[], options?: ImageGridOptions): ImageGridLayout {
  const o = checkOptions<ImageGridOptions>(options, GRID_CHECKS, 'imageGrid');
  const n = images.length;
  const margin = o.margin ?? 4;
  const s = o.textScale ?? 1;
  const columns = n === 0 ? 0 : Math.min(n, o.columns ?? Math.ceil(Math.sqrt(n)));
  const rows = n === 0 ? 0 : Math.ceil(n / columns);
  const captions = o.captions ?? [];
  const captionWidth = Math.max(0, ...captions.slice(0, n).map((c) => measureText(c, s).width));
  const cellWidth = Math.max(0, captionWidth, ...images.map((im) => im.width));
  const band = o.captions !== undefined ? (FONT_METRICS.glyphHeight + 2) * s : 0;
  const cellHeight = Math.max(0, ...images.map((im) => im.height)) + band;
  return {
    columns,
    rows,
    cellWidth,
    cellHeight,
    width: margin + columns * (cellWidth + margin),
    height: margin + rows * (cellHeight + margin),
    cellOrigin: (i) => ({ x: margin + (i % columns) * (cellWidth + margin), y: margin + Math.floor(i / columns) * (cellHeight + margin) }),
  };
}

/**
 * The pictures tiled into a grid (see the file comment). Pictures are copied as they are, alpha
 * included; they may differ in size (each sits at the top-left of its cell). No pictures give a
 * `margin x margin` picture of the background.
 *
 * @throws Error naming the problem: a malformed picture (its index) or invalid options (all listed).
 * @example
 * ```ts
 * const sheet = imageGrid([p2, p3, p4, p5], { columns: 2, captions: ['P2', 'P3', 'P4', 'P5'] });
 * ```
 */
export function imageGrid(images: readonly RgbaImage[], options?: ImageGridOptions): RgbaImage {
  if (!Array.isArray(images)) throw new Error('Error in imageGrid: images must be an array of RGBA pictures');
  images.forEach((im, i) => checkRgbaImage(im, `imageGrid: picture ${i}`));
  const layout = imageGridLayout(images, options);
  const o = options ?? {};
  const background = o.background ?? [255, 255, 255];
  const grid = blankImage(layout.width, layout.height, background);
  const s = o.textScale ?? 1;
  const textColor = o.textColor ?? contrastTextColor(background);
  const imageHeight = layout.cellHeight - (o.captions !== undefined ? (FONT_METRICS.glyphHeight + 2) * s : 0);
  images.forEach((im, i) => {
    const { x, y } = layout.cellOrigin(i);
    pasteImage(grid, im, x, y);
    const caption = o.captions?.[i];
    if (caption !== undefined) drawText(grid, caption, x, y + imageHeight + s, textColor, s);
  });
  return grid;
}
