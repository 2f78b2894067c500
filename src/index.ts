/**
 * maskrcnn-tfjs: Mask R-CNN in TypeScript on TensorFlow.js, numerically equal to torchvision's
 * `maskrcnn_resnet50_fpn` stage by stage.
 *
 * @example
 * ```ts
 * import { fromTorchvision } from 'maskrcnn-tfjs';
 * const model = await fromTorchvision('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
 * const [result] = await model.predict('street.jpg');
 * ```
 *
 * @packageDocumentation
 */
// The public API.
export * from './api/model';
export {
  type BodyLevel,
  type Inspection,
  type InspectionBackbone,
  type InspectionBoxHead,
  type InspectionDetections,
  type InspectionMasks,
  type InspectionRpn,
  type InspectionRpnLevel,
  type InspectionTransform,
  BODY_LEVELS,
} from './api/inspection';
export * from './api/coco_results';
export * from './api/evaluate_model';
export * from './api/category_ids';
export * from './api/shipped_model';
export * from './backend';
export * from './model/mask_rcnn';
export * from './model/stage_clock';
export * from './model/stage_recorder';
export * from './model/state_dict_size';
export * from './model/coco_names';

// The pipeline, stage by stage.
export * from './transform/resize_rule';
export * from './transform/normalize';
export * from './transform/interpolate';
export * from './transform/transform_image';
export * from './transform/batch_images';
export * from './transform/generalized_rcnn_transform';
export * from './nn/torch_layer';
export * from './nn/conv2d';
export * from './backbone/frozen_batch_norm';
export * from './backbone/batch_norm';
export * from './backbone/conv_bn';
export * from './backbone/bottleneck';
export * from './backbone/basic_block';
export * from './backbone/residual_block';
export * from './backbone/resnet';
export * from './backbone/backbone_with_fpn';
export * from './fpn/feature_pyramid_network';
export * from './boxes';
export * from './rpn';
export * from './roi';
export * from './heads';
export * from './postprocess';

// Weights: torchvision checkpoints (by path or by name, downloaded into a cache) and our own format.
export * from './io';
export * from './io/state_dict';
export * from './io/infer_architecture';
export * from './io/native_weights';
export * from './io/file_handler';
export * from './io/quantization';
export {
  type WeightsEntry,
  type WeightsMetrics,
  type WeightsName,
  WEIGHTS_REGISTRY,
  WEIGHTS_NAMES,
  isWeightsName,
  weightsEntry,
} from './io/weights_registry';
export {
  type DownloadOptions,
  type DownloadProgress,
  downloadWeights,
  cachedWeightsPath,
  weightsCacheDir,
  weightsUrl,
} from './io/download';

// Pictures of predictions and training curves: the drawing runs in browsers, the PNG writers need Node.
export * from './viz';
export * from './viz/png';

// Data and evaluation.
export * from './data';
export * from './util/random';
export {
  CocoGroundTruth,
  CocoDetections,
  CocoEvaluator,
  IOU_TYPES,
  STAT_NAMES,
  defaultParams,
  resolveParams,
  linspace,
  formatFixed,
} from './eval';
export type {
  CocoImage,
  CocoAnnotation,
  CocoDataset as CocoInstancesJson,
  CocoCategory as CocoCategoryJson,
  Prediction as EvalPrediction,
  IouType,
  GtAnnotation,
  DetectionMask as EvalDetectionMask,
  CocoEvalParams,
  EvalImage,
  Accumulated,
  CocoSummary,
  CategoryAp,
  EvalProgress,
  DetectionsInput,
} from './eval';

// Training: the loop, its configuration and checkpoints, and the units it is built from.
export * from './train/trainer';
export * from './train/history';
export * from './train/train_config';
export * from './train/checkpoint';
export * from './train/heap_guard';
export * from './train/optim';
export * from './model/training_forward';
export * from './api/inspect_targets';
export * from './losses';
export * from './targets';
export * from './kernels/register';
