/**
 * Pictures of predictions (boxes, label tags and instance masks drawn onto the image), of
 * training runs (loss, lr and AP curves) and of the pipeline's stages (anchor labels, proposals,
 * RoI levels, box refinement, feature heat maps, score histograms, mask crops and targets), as
 * RGBA. Everything exported here is pure TypeScript with no Node imports and runs in browsers; the
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
export type { CurveEvalRecord, CurveName, CurveRecord, CurveStepRecord, TrainingCurvesOptions } from './training_curves';
export { blendMask, drawLine, drawText, drawTextTag, fillRect, measureText, measureTextTag, outlineMask, strokeRect } from './draw';
export type { MaskWindow, RgbaImage } from './draw';
export { contrastTextColor, DEFAULT_PALETTE, paletteColor } from './palette';
export type { RgbColor } from './palette';
export { FONT_CHARACTERS, FONT_METRICS, glyphRows } from './bitmap_font';
export { COLORMAP_NAMES, colormapIndex, COLORMAPS, greys, viridis } from './colormap';
export type { Colormap, ColormapName } from './colormap';
export { blankImage, copyImage, pasteImage, resizeNearest, toRgbaImage } from './rgba';
export type { ToRgbaOptions } from './rgba';
export { drawLegend, legendImage, measureLegend } from './legend';
export type { LegendEntry, LegendOptions } from './legend';
export { imageGrid, imageGridLayout } from './image_grid';
export type { ImageGridLayout, ImageGridOptions } from './image_grid';
export {
  ANCHOR_LABEL_COLORS,
  anchorKind,
  drawAnchorLabels,
  drawBoxes,
  drawBoxRefinement,
  drawProposals,
  drawRoiLevels,
  fpnLevelColor,
} from './box_layers';
export type { AnchorKind, AnchorLabelOptions, BoxesData, BoxRefinementOptions, DrawBoxesOptions, ProposalOptions, RoiLevelOptions } from './box_layers';
export { featureHeatmap, featureHeatmaps } from './heatmap';
export type { FeatureMap, HeatmapOptions, HeatmapsOptions } from './heatmap';
export { histogramCounts, histogramLayout, scoreHistogram } from './histogram';
export type { HistogramLayout, HistogramOptions } from './histogram';
export { drawMaskTargets, maskGrid } from './mask_grid';
export type { MaskGridOptions, MaskStack, MaskTargetOptions } from './mask_grid';
export { linearAxis, niceStep, niceTicks } from './ticks';
export type { AxisTick } from './ticks';
export { resolveTextScale } from './options';
export type { BoxLayerOptions, TextScale } from './options';
