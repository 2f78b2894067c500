/**
 * Options shared by the stage pictures, and their validation: every unknown or invalid option is
 * listed in one error, with what it must be, as {@link resolveOverlayOptions} does.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { COLORMAP_NAMES, ColormapName } from './colormap';
import type { RgbColor } from './palette';

/**
 * The size of text in a picture: each font pixel becomes a `scale x scale` square, or `'auto'`:
 * `max(1, floor(min(width, height) / 400))` of the picture drawn on.
 *
 * @example
 * ```ts
 * const scale: TextScale = 2;
 * ```
 */
export type TextScale = number | 'auto';

/**
 * Options every box layer ({@link drawBoxes}, {@link drawAnchorLabels}, {@link drawProposals},
 * {@link drawRoiLevels}, {@link drawBoxRefinement}, {@link drawMaskTargets}) takes.
 *
 * @example
 * ```ts
 * const options: BoxLayerOptions = { lineWidth: 1, legend: false };
 * ```
 */
export interface BoxLayerOptions {
  /** Thickness of the box lines in pixels, drawn inside the box, an integer >= 1; default 1. */
  lineWidth?: number;
  /** Draw a legend (colour and meaning, with counts) in the top-left corner; default true. */
  legend?: boolean;
  /** Size of the legend text; default `'auto'`. */
  textScale?: TextScale;
}

/**
 * A check of one option's value: undefined when valid, else what the value must be.
 *
 * @internal
 * @example
 * ```ts
 * const check: OptionCheck = (v) => (v === true ? undefined : 'must be true');
 * ```
 */
export type OptionCheck = (value: unknown) => string | undefined;

const isByte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;

/**
 * Checks of common option kinds.
 *
 * @internal
 * @example
 * ```ts
 * OPTION_CHECKS.integer(1)(0); // 'must be an integer >= 1'
 * ```
 */
export const OPTION_CHECKS = Object.freeze({
  boolean: ((v) => (typeof v === 'boolean' ? undefined : 'must be true or false')) as OptionCheck,
  integer: (min: number, max = Infinity): OptionCheck => (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `must be an integer ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}`,
  unit: ((v) => (typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'must be a number in [0, 1]')) as OptionCheck,
  finite: ((v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a finite number')) as OptionCheck,
  color: ((v) => (isColor(v) ? undefined : 'must be an [r, g, b] colour, integers 0-255')) as OptionCheck,
  colors: ((v) =>
    isColor(v) || (Array.isArray(v) && v.length > 0 && v.every(isColor)) ? undefined : 'must be an [r, g, b] colour or a non-empty array of them, integers 0-255') as OptionCheck,
  string: ((v) => (typeof v === 'string' ? undefined : 'must be a string')) as OptionCheck,
  strings: ((v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? undefined : 'must be an array of strings')) as OptionCheck,
  textScale: ((v) => (v === 'auto' || (Number.isInteger(v) && (v as number) >= 1) ? undefined : "must be 'auto' or an integer >= 1")) as OptionCheck,
  colormap: ((v) => (COLORMAP_NAMES.includes(v as ColormapName) ? undefined : `must be one of ${COLORMAP_NAMES.map((c) => `'${c}'`).join(', ')}`)) as OptionCheck,
  range: ((v) =>
    Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && v[0] < v[1]
      ? undefined
      : 'must be [lo, hi], finite numbers with lo < hi') as OptionCheck,
});

function isColor(v: unknown): v is RgbColor {
  return Array.isArray(v) && v.length === 3 && v.every(isByte);
}

/**
 * A value in an error message: strings quoted, arrays and objects as (shortened) JSON.
 *
 * @internal
 * @example
 * ```ts
 * describeValue('x'); // "'x'"
 * ```
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (ArrayBuffer.isView(v)) return `${Object.prototype.toString.call(v).slice(8, -1)}(${(v as unknown as ArrayLike<number>).length})`;
  if (Array.isArray(v) || (v !== null && typeof v === 'object')) {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}

/**
 * Checks an options object against `checks` (one per valid option name) and returns it.
 *
 * @internal
 * @throws Error in `where` listing every unknown option (with the valid names) and every invalid
 * value (with what it must be).
 * @example
 * ```ts
 * const o = checkOptions<BoxLayerOptions>(options, { lineWidth: OPTION_CHECKS.integer(1), legend: OPTION_CHECKS.boolean, textScale: OPTION_CHECKS.textScale }, 'drawBoxes');
 * ```
 */
export function checkOptions<O extends object>(options: O | undefined, checks: Readonly<Record<keyof O & string, OptionCheck>>, where: string): O {
  if (options === undefined) return {} as O;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`Error in ${where}: options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const names = Object.keys(checks);
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!names.includes(k)) problems.push(`${k}: unknown option (valid options: ${names.join(', ')})`);
  for (const k of names) {
    if (o[k] === undefined) continue;
    const why = (checks as Record<string, OptionCheck>)[k](o[k]);
    if (why !== undefined) problems.push(`${k}: ${why}, got ${describeValue(o[k])}`);
  }
  if (problems.length > 0) throw new Error(`Error in ${where}: invalid options:\n  ${problems.join('\n  ')}`);
  return options;
}

/**
 * The text scale of a picture `width x height`: the number given, or for `'auto'`
 * `max(1, floor(min(width, height) / 400))`.
 *
 * @example
 * ```ts
 * resolveTextScale('auto', 1333, 800); // 2
 * resolveTextScale(3, 10, 10);         // 3
 * ```
 */
export function resolveTextScale(scale: TextScale | undefined, width: number, height: number): number {
  return scale === undefined || scale === 'auto' ? Math.max(1, Math.floor(Math.min(width, height) / 400)) : scale;
}
