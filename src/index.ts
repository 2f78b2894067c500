/**
 * maskrcnn-tfjs: Mask R-CNN in TypeScript on TensorFlow.js, numerically equal to torchvision's
 * `maskrcnn_resnet50_fpn` stage by stage.
 *
 * @packageDocumentation
 */
export * from './backend';
export * from './nn/torch_layer';
export * from './nn/conv2d';
export * from './backbone/frozen_batch_norm';
export * from './backbone/bottleneck';
export * from './backbone/resnet';
export * from './backbone/backbone_with_fpn';
export * from './fpn/feature_pyramid_network';
export * from './transform/resize_rule';
export * from './transform/generalized_rcnn_transform';
export * from './io';
export * from './io/state_dict';
export * from './io/native_weights';
export * from './io/file_handler';
export * from './boxes';
export * from './rpn';
