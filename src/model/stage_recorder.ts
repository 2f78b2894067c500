/**
 * Optional hooks through which {@link MaskRCNN.stages} shows what each stage computed, for
 * inspection (see `MaskRCNNModel.inspect`). Every hook is optional and absent ones cost nothing:
 * predict runs the same code with no recorder.
 *
 * Ownership: a tensor handed to a hook belongs to the stage and may be freed once the hook
 * returns; a recorder that keeps one holds `tf.keep(t.clone())`. Typed arrays and plain objects
 * are the recorder's.
 *
 * Shapes: N images, batch [N, Hp, Wp, 3]; FPN level l is [N, Hl, Wl, C]; Ri proposals of image i,
 * R = sum Ri; D detections in all.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ResNetFeatures } from '../backbone/resnet';
import type { FpnFeatures } from '../fpn/feature_pyramid_network';
import type { DetectionRecorder } from '../postprocess/detections';
import type { MaskCrop } from '../postprocess/paste_masks';
import type { RpnRecorder } from '../rpn/region_proposal_network';
import type { TransformedBatch } from '../transform/generalized_rcnn_transform';

/**
 * Hooks called by {@link MaskRCNN.stages} and {@link MaskRCNN.forward}, in pipeline order.
 *
 * @example
 * ```ts
 * let c5: tf.Tensor4D | undefined;
 * const recorder: StageRecorder = { body: (c) => { c5 = tf.keep(c['3'].clone()); } };
 * const dets = await model.forward([image], {}, undefined, recorder);
 * ```
 */
export interface StageRecorder {
  /** The normalised, resized, padded batch and its sizes. */
  transform?(batch: TransformedBatch): void;
  /** The ResNet body's C2-C5 (`'0'..'3'`, strides 4 to 32). */
  body?(features: ResNetFeatures): void;
  /** The FPN levels `'0'..'3'` and `'pool'`. */
  features?(features: FpnFeatures): void;
  /** Head outputs, anchors and candidates of the RPN. */
  rpn?: RpnRecorder;
  /** `[Ri, 4]` proposals of each image, as the box head sees them. */
  proposals?(proposals: readonly tf.Tensor2D[]): void;
  /** `[R]` the FPN level (index into '0'..'3') each proposal is pooled from, all images in order. */
  roiLevels?(levels: Int32Array): void;
  /** Class probabilities, refined boxes and candidates of the box post-processing. */
  detection?: DetectionRecorder;
  /** `[D, 28, 28]` mask probabilities of all images' detections, in order. */
  maskProbs?(probs: tf.Tensor3D): void;
  /** Image `image`'s masks pasted into its original size, one per detection. */
  pastedMasks?(image: number, masks: readonly MaskCrop[]): void;
}
