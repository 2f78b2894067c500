/**
 * COCO evaluation of a model on a dataset folder: predict every image of an instances file,
 * then score the results with our COCOeval (equal to pycocotools').
 */
import * as path from 'path';
import { CocoDetections, CocoEvaluator, CocoGroundTruth, CocoSummary, IouType } from '../eval';
import { categoryIdsOf } from './category_ids';
import { CocoResult, toCocoResults } from './coco_results';
import type { MaskRCNNModel, Prediction, PredictOptions } from './model';

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  /** Default ['bbox', 'segm']. */
  iouTypes?: IouType[];
  /** Images per predict call; default 1. */
  batchSize?: number;
  /** Evaluate only the first N images (by id); default all. */
  maxImages?: number;
  /**
   * Category id of each label. Default {@link categoryIdsOf}: by class name where the model's
   * class names are categories of the ground truth (detections of other classes are left out),
   * else the label itself (torchvision's COCO models, whose labels are COCO's ids).
   */
  labelToCategoryId?: readonly number[];
  /** Passed to predict; scoreThreshold defaults to 0.05 as torchvision's evaluation. */
  predict?: Omit<PredictOptions, 'returnProbabilities'>;
  /** Called after each batch with (images done, images in all). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called with each image's prediction, its file and its image id, before the next batch
   * (e.g. to draw it); a returned promise is awaited.
   */
  onPrediction?: (prediction: Prediction, file: string, imageId: number) => void | Promise<void>;
}

/** What {@link evaluateModel} measured. */
export interface ModelEvaluation {
  readonly results: CocoResult[];
  readonly summaries: CocoSummary[];
  readonly imagesEvaluated: number;
  readonly seconds: number;
  /** How labels became category ids: one line for the user (see {@link categoryIdsOf}). */
  readonly categoryNote: string;
}

/**
 * Runs `model` on every image listed in `annotationFile` (files under `imagesDir`) and evaluates.
 *
 * @example
 * ```ts
 * const { summaries } = await evaluateModel(model, 'val/instances.json', 'val/images');
 * console.log(summaries[0].lines.join('\n'));
 * ```
 */
export async function evaluateModel(
  model: MaskRCNNModel,
  annotationFile: string,
  imagesDir: string,
  options: EvaluateModelOptions = {},
): Promise<ModelEvaluation> {
  const start = Date.now();
  const gt = CocoGroundTruth.fromFile(annotationFile);
  const ids = gt.imageIds.slice(0, options.maxImages ?? gt.imageIds.length);
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Error in evaluateModel: batchSize must be a positive integer, got ${batchSize}`);
  const mapping = options.labelToCategoryId === undefined ? categoryIdsOf(model.classNames, gt) : undefined;
  // A negative id given by the caller means "no category", as an undefined one does.
  const labelToCategoryId = options.labelToCategoryId?.map((id) => (id >= 0 ? id : undefined)) ?? mapping!.labelToCategoryId;
  const results: CocoResult[] = [];
  for (let i = 0; i < ids.length; i += batchSize) {
    const batchIds = ids.slice(i, i + batchSize);
    const files = batchIds.map((id) => {
      const name = gt.images.get(id)!.file_name;
      if (name === undefined) throw new Error(`Error in evaluateModel: image ${id} of ${annotationFile} has no file_name`);
      return path.join(imagesDir, name);
    });
    const predictions = await model.predict(files, options.predict);
    predictions.forEach((p, k) => {
      const [h, w] = gt.imageSize(batchIds[k]);
      if (p.height !== h || p.width !== w) {
        throw new Error(`Error in evaluateModel: ${files[k]} is ${p.width}x${p.height} but ${annotationFile} says ${w}x${h}`);
      }
    });
    results.push(...toCocoResults(predictions, batchIds, { labelToCategoryId, unmapped: 'skip' }));
    for (let k = 0; k < predictions.length; k++) await options.onPrediction?.(predictions[k], files[k], batchIds[k]);
    options.onProgress?.(Math.min(i + batchSize, ids.length), ids.length);
  }
  const iouTypes = options.iouTypes ?? ['bbox', 'segm'];
  const summaries = iouTypes.map((iouType) => {
    const dt = CocoDetections.fromResults(results, gt, `${model.network.name} results`);
    return new CocoEvaluator(gt, dt, iouType, { imgIds: [...ids] }).evaluate().accumulate().summarize();
  });
  const categoryNote = mapping?.note ?? 'category ids: as given (labelToCategoryId)';
  return { results, summaries, imagesEvaluated: ids.length, seconds: (Date.now() - start) / 1000, categoryNote };
}
