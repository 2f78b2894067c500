/**
 * COCO evaluation equal to pycocotools' COCOeval (bbox and segm).
 *
 * @example
 * ```ts
 * import { CocoGroundTruth, CocoDetections, CocoEvaluator } from './eval';
 * const gt = CocoGroundTruth.fromFile('instances_val2017.json');
 * const dt = CocoDetections.fromFile('bbox_results.json', gt);
 * console.log(new CocoEvaluator(gt, dt, 'bbox').evaluate().accumulate().summarize().lines.join('\n'));
 * ```
 */
export type { CocoImage, CocoCategory, CocoAnnotation, CocoDataset, CocoResult, Prediction, IouType } from './coco_types';
export { IOU_TYPES } from './coco_types';
export { CocoGroundTruth } from './coco_ground_truth';
export type { GtAnnotation } from './coco_ground_truth';
export { CocoDetections } from './coco_detections';
export type { DetectionMask } from './coco_detections';
export { defaultParams, resolveParams, linspace } from './eval_params';
export type { CocoEvalParams } from './eval_params';
export type { EvalImage } from './evaluate_image';
export type { Accumulated } from './accumulate';
export { STAT_NAMES, formatFixed } from './summarize';
export { CocoEvaluator } from './coco_evaluator';
export type { CocoSummary, CategoryAp, EvalProgress, DetectionsInput } from './coco_evaluator';
