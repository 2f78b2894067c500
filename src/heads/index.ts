/** The RoI heads of Mask R-CNN: box head and predictor, mask head and predictor. */
export * from './box_head';
export * from './box_predictor';
export * from './mask_head';
export * from './mask_predictor';
export * from './roi_heads';
export { linearWeightInit, linearBiasInit, kaimingFanOutInit } from './init';
export type { SeededInit } from './init';
