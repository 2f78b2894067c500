/**
 * Colormaps: a value in [0, 1] to an sRGB colour, as matplotlib maps it, so a stage picture
 * reads like the `imshow` people know.
 *
 * - `viridis`: matplotlib's 256-entry table (`_cm_listed._viridis_data`, van der Walt and Smith,
 *   perceptually uniform and readable in grey and by colour-blind eyes), each entry rounded to
 *   bytes as `matplotlib.colors.to_hex` rounds it: dark purple (68, 1, 84) at 0, yellow
 *   (253, 231, 37) at 1.
 * - `greys`: black at 0 to white at 1, 256 levels: matplotlib's `'gray'` (not `'Greys'`, which
 *   runs from white to black). A mask probability of 1 is white.
 *
 * Value to entry as in matplotlib's `Colormap.__call__`: `floor(t * 256)`, 1 going to the last
 * entry; values outside [0, 1] are clamped, and NaN takes entry 0.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import type { RgbColor } from './palette';

/**
 * The colormaps the pictures offer.
 *
 * @example
 * ```ts
 * const name: ColormapName = 'greys';
 * COLORMAPS[name](0.5); // [128, 128, 128]
 * ```
 */
export type ColormapName = 'viridis' | 'greys';

/**
 * A colormap: a value in [0, 1] to a colour.
 *
 * @example
 * ```ts
 * const map: Colormap = viridis;
 * map(1); // [253, 231, 37]
 * ```
 */
export type Colormap = (t: number) => RgbColor;

// matplotlib 3.6's _viridis_data, entry i as 6 hex digits (to_hex), i = 0..255.
const VIRIDIS_HEX =
  '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769' +
  '48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a' +
  '472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85' +
  '4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b' +
  '3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d' +
  '33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e' +
  '2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e' +
  '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d' +
  '21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88' +
  '1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81' +
  '28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74' +
  '3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863' +
  '5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d' +
  '84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32' +
  'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a' +
  'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725';

const VIRIDIS: readonly RgbColor[] = Object.freeze(
  Array.from({ length: 256 }, (_, i): RgbColor => {
    const hex = VIRIDIS_HEX.slice(6 * i, 6 * i + 6);
    return Object.freeze([parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)] as const);
  }),
);

const GREYS: readonly RgbColor[] = Object.freeze(Array.from({ length: 256 }, (_, i): RgbColor => Object.freeze([i, i, i] as const)));

/**
 * The entry of a 256-entry table for `t`: `floor(t * 256)` clamped to [0, 255] (matplotlib's
 * rule), NaN to 0.
 *
 * @example
 * ```ts
 * colormapIndex(0.5);  // 128
 * colormapIndex(1);    // 255
 * colormapIndex(-3);   // 0
 * ```
 */
export function colormapIndex(t: number): number {
  if (Number.isNaN(t)) return 0;
  return Math.min(255, Math.max(0, Math.floor(t * 256)));
}

/**
 * matplotlib's viridis at `t` (see the file comment).
 *
 * @example
 * ```ts
 * viridis(0);   // [68, 1, 84]
 * viridis(0.5); // [33, 145, 140]
 * viridis(1);   // [253, 231, 37]
 * ```
 */
export function viridis(t: number): RgbColor {
  return VIRIDIS[colormapIndex(t)];
}

/**
 * Black (0) to white (1) in 256 levels, matplotlib's `'gray'`: `[i, i, i]` with
 * `i = floor(t * 256)` clamped to 255.
 *
 * @example
 * ```ts
 * greys(0);   // [0, 0, 0]
 * greys(0.3); // [76, 76, 76]
 * greys(1);   // [255, 255, 255]
 * ```
 */
export function greys(t: number): RgbColor {
  return GREYS[colormapIndex(t)];
}

/**
 * The colormaps by name.
 *
 * @example
 * ```ts
 * const map = COLORMAPS[options.colormap ?? 'viridis'];
 * ```
 */
export const COLORMAPS: Readonly<Record<ColormapName, Colormap>> = Object.freeze({ viridis, greys });

/**
 * The names of {@link COLORMAPS}, for validation messages.
 *
 * @example
 * ```ts
 * COLORMAP_NAMES; // ['viridis', 'greys']
 * ```
 */
export const COLORMAP_NAMES: readonly ColormapName[] = Object.freeze(['viridis', 'greys'] as const);
