/**
 * Training data: COCO instances datasets, image decoding, training transforms, the batch loader
 * and the synthetic shapes generator. The COCO mask utilities live in `./mask`.
 *
 * @example
 * ```ts
 * import { loadCocoDataset, DataLoader } from './data';
 * const ds = await loadCocoDataset('instances.json', 'images/');
 * for await (const batch of new DataLoader(ds, { batchSize: 2, seed: 0 }).epoch(0)) {
 *   // batch.samples[i].image: Float32Array [H, W, 3]
 * }
 * ```
 */
export { CocoDataset, loadCocoDataset } from './coco_dataset';
export type { CocoDatasetOptions, CocoCategory, CocoImageInfo, CocoTarget, CocoSample, CocoDatasetStats, LabelMode } from './coco_dataset';
export { DEFAULT_MAX_PIXELS, readImage, readImageInfo } from './image_io';
export type { DecodedImage, ImageInfo, ReadImageOptions } from './image_io';
export { applyTrainTransforms, sampleTransformParams, resolveTransformOptions, resizeMasksNearest, transformBoxes } from './transforms';
export type { TrainTransformOptions, TransformParams, TrainingSample } from './transforms';
export { DataLoader } from './loader';
export type { DataLoaderOptions, Batch, TrainingSource } from './loader';
export { WarningLog } from './warnings';
export type { DataWarning, DataWarningCode, WarningHandler } from './warnings';
export { generateShapesDataset, renderShapesImage, SHAPE_KINDS } from './shapes';
export type { ShapesDatasetOptions, ShapesDatasetResult, ShapesRenderOptions, RenderedImage, RenderedShape, ShapeKind } from './shapes';
export * from './mask';
