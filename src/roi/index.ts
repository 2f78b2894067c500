/**
 * RoI pooling: torchvision 0.14's `ops.roi_align` and `ops.MultiScaleRoIAlign` on NHWC tensors.
 *
 * @example
 * ```ts
 * import { roiAlign, MultiScaleRoIAlign } from './roi';
 * const pooled = roiAlign(features, boxes, boxIndices, [7, 7], 0.25, 2);
 * ```
 */
export { roiAlign } from './roi_align';
export type { RoiAlignOptions } from './roi_align';
export { MultiScaleRoIAlign, inferScale } from './multi_scale_roi_align';
export type { MultiScaleRoIAlignOptions } from './multi_scale_roi_align';
export { LevelMapper } from './level_mapper';
export type { LevelMapperOptions } from './level_mapper';
export { buildRoiAlignPlan } from './roi_align_plan';
export type { RoiAlignGeometry } from './roi_align_plan';
export { csrMatMul } from './csr_matmul';
export type { CsrMatMulImplementation, CsrMatMulOptions } from './csr_matmul';
export { rowSelectionMatrix } from './csr_matrix';
export type { CsrMatrix } from './csr_matrix';
