/**
 * A small colour legend: one row per entry, a square swatch and its label in the bitmap font,
 * on a background box.
 *
 * Layout at text scale s: a padding of `2s` inside the box; rows `9s` high (the font's height),
 * `2s` apart; each swatch is `7s x 7s` (the height of a capital) at the row's top-left, the label
 * `3s` to its right.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { FONT_METRICS } from './bitmap_font';
import { drawText, fillRect, measureText, RgbaImage } from './draw';
import { checkOptions, OPTION_CHECKS } from './options';
import { contrastTextColor, RgbColor } from './palette';
import { blankImage } from './rgba';

/**
 * One row of a legend.
 *
 * @example
 * ```ts
 * const entry: LegendEntry = { color: [60, 180, 75], label: 'positive 12' };
 * ```
 */
export interface LegendEntry {
  readonly color: RgbColor;
  readonly label: string;
}

/**
 * Options of {@link drawLegend} and {@link legendImage}.
 *
 * @example
 * ```ts
 * const options: LegendOptions = { scale: 2, background: null, textColor: [255, 255, 255] };
 * ```
 */
export interface LegendOptions {
  /** Text scale, an integer >= 1; default 1. */
  scale?: number;
  /** Colour of the box behind the legend, or `null` for none; default white. */
  background?: RgbColor | null;
  /** Colour of the labels; default black or white, whichever contrasts with the background (black without one). */
  textColor?: RgbColor;
}

const LEGEND_CHECKS = {
  scale: OPTION_CHECKS.integer(1),
  background: (v: unknown): string | undefined => (v === null ? undefined : OPTION_CHECKS.color(v)),
  textColor: OPTION_CHECKS.color,
};

/**
 * The size of a legend: `4s + 10s + widest label` wide and `4s + n * 9s + (n - 1) * 2s` high at
 * scale s; 0 x 0 without entries.
 *
 * @example
 * ```ts
 * measureLegend([{ color: [0, 0, 0], label: 'P2' }]); // { width: 25, height: 13 }
 * ```
 */
export function measureLegend(entries: readonly LegendEntry[], scale = 1): { width: number; height: number } {
  if (entries.length === 0) return { width: 0, height: 0 };
  const s = scale;
  const text = Math.max(...entries.map((e) => measureText(e.label, s).width));
  return { width: 4 * s + 10 * s + text, height: 4 * s + entries.length * FONT_METRICS.glyphHeight * s + (entries.length - 1) * 2 * s };
}

/**
 * Draws a legend onto `image` with its top-left at (x, y) (see the file comment for the layout);
 * nothing without entries. Returns its size.
 *
 * @example
 * ```ts
 * drawLegend(picture, [{ color: [60, 180, 75], label: 'positive' }, { color: [230, 25, 75], label: 'negative' }], 2, 2);
 * ```
 */
export function drawLegend(image: RgbaImage, entries: readonly LegendEntry[], x: number, y: number, options?: LegendOptions): { width: number; height: number } {
  const o = checkOptions<LegendOptions>(options, LEGEND_CHECKS, 'drawLegend');
  const s = o.scale ?? 1;
  const size = measureLegend(entries, s);
  if (entries.length === 0) return size;
  const background = o.background === undefined ? ([255, 255, 255] as const) : o.background;
  if (background !== null) fillRect(image, x, y, size.width, size.height, background);
  const textColor = o.textColor ?? (background === null ? [0, 0, 0] : contrastTextColor(background));
  entries.forEach((e, i) => {
    const top = y + 2 * s + i * (FONT_METRICS.glyphHeight + 2) * s;
    fillRect(image, x + 2 * s, top, 7 * s, 7 * s, e.color);
    drawText(image, e.label, x + 12 * s, top, textColor, s);
  });
  return size;
}

/**
 * A legend as a picture of its own ({@link measureLegend} in size, 0 x 0 without entries), for
 * placing beside a grid or a plot.
 *
 * @example
 * ```ts
 * const key = legendImage([{ color: fpnLevelColor(0), label: 'P2' }, { color: fpnLevelColor(1), label: 'P3' }], { scale: 2 });
 * ```
 */
export function legendImage(entries: readonly LegendEntry[], options?: LegendOptions): RgbaImage {
  const o = checkOptions<LegendOptions>(options, LEGEND_CHECKS, 'legendImage');
  const { width, height } = measureLegend(entries, o.scale ?? 1);
  const image = blankImage(width, height, o.background ?? [255, 255, 255], o.background === null ? 0 : 255);
  drawLegend(image, entries, 0, 0, o);
  return image;
}
