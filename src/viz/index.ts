/**
 * Pictures of predictions (boxes, label tags and instance masks drawn onto the image) and of
 * training runs (loss, lr and AP curves), as RGBA. Everything exported here is pure TypeScript with no Node imports and runs in browsers; the
 * PNG writer is `./png` (Node, sharp).
 *
 * @example
 * ```ts
 * import { drawDetections } from './viz';
 * const picture = drawDetections(pixels, prediction, { alpha: 0.4 });
 * ```
 */
export { drawDetections, resolveOverlayOptions } from './overlay';
export type { ColorBy, OverlayOptions, ResolvedOverlayOptions } from './overlay';
export { renderTrainingCurves, TRAINING_CURVE_COLORS, TRAINING_CURVES_THEME } from './training_curves';
export type { CurveName, TrainingCurvesOptions } from './training_curves';
export { blendMask, drawLine, drawText, drawTextTag, fillRect, measureText, measureTextTag, outlineMask, strokeRect } from './draw';
export type { MaskWindow, RgbaImage } from './draw';
export { contrastTextColor, DEFAULT_PALETTE, paletteColor } from './palette';
export type { RgbColor } from './palette';
export { FONT_CHARACTERS, FONT_METRICS, glyphRows } from './bitmap_font';
