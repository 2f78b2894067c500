/**
 * Training-target assignment for Mask R-CNN, as torchvision 0.14: matcher, balanced sampler,
 * RPN targets, box-head samples and mask targets. All of it runs on plain data, outside the
 * gradient tape (detectron2 labels under `no_grad`; torchvision detaches proposals).
 *
 * @example
 * ```ts
 * import { assignRpnTargets, sampleRpnLabels, selectRoiTrainingSamples, maskTargets, RPN_SAMPLER_OPTIONS } from './targets';
 * const rpn = assignRpnTargets(anchors, gt);
 * const rpnLabels = sampleRpnLabels(rpn.labels, RPN_SAMPLER_OPTIONS, rng);
 * const roi = selectRoiTrainingSamples(proposals, gt, { rng });
 * const masks = maskTargets(roi, { data: gtMasks, height, width });
 * ```
 */
export { Matcher, BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, RPN_MATCHER_OPTIONS, ROI_MATCHER_OPTIONS } from './matcher';
export type { MatcherOptions } from './matcher';
export { sampleBalanced, checkSamplerOptions, RPN_SAMPLER_OPTIONS, ROI_SAMPLER_OPTIONS } from './balanced_sampler';
export type { SamplerOptions, SampledIndices } from './balanced_sampler';
export { pairwiseIou } from './pairwise_iou';
export { nonCrowdIndices, matchToGroundTruth, encodeRows, pickBoxes, checkBoxArray } from './ground_truth';
export type { GroundTruth } from './ground_truth';
export { assignRpnTargets, sampleRpnLabels } from './rpn_targets';
export type { RpnTargets, RpnTargetOptions } from './rpn_targets';
export { selectRoiTrainingSamples } from './roi_targets';
export type { RoiTargets, RoiTargetOptions } from './roi_targets';
export { projectMasksOnBoxes, maskTargets, MASK_TARGET_SIZE } from './mask_targets';
export type { MaskTargets, GroundTruthMasks } from './mask_targets';
export { concatTargets } from './concat';
