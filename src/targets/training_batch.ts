/**
 * What a training step takes: a transformed batch and each image's ground truth, in the resized
 * image's pixels (torchvision's `images, targets` after `GeneralizedRCNNTransform`).
 *
 * Shapes: N images padded to H x W; image i resized to Hi x Wi; Gi ground-truth objects.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GroundTruthMasks } from './mask_targets';

/**
 * Ground truth of one image, in the resized (unpadded) image's pixels.
 *
 * @example
 * ```ts
 * const t: TrainingTarget = { boxes: Float32Array.of(10, 10, 50, 40), labels: Int32Array.of(1),
 *   masks: { data: new Uint8Array(64 * 64), height: 64, width: 64 } };
 * ```
 */
export interface TrainingTarget {
  /** `[G * 4]` xyxy boxes. */
  readonly boxes: Float32Array;
  /** `[G]` classes in `1 .. K-1`. */
  readonly labels: Int32Array;
  /** `[G]` non-zero for crowd regions (dropped from matching, see `targets/ground_truth`). */
  readonly crowd?: Uint8Array;
  /** `[G * H * W]` binary masks of the resized image (H x W = its `imageSizes` entry). */
  readonly masks: GroundTruthMasks;
}

/**
 * A transformed training batch: what `GeneralizedRCNNTransform` produces, plus targets.
 *
 * @example
 * ```ts
 * const batch: TrainingBatch = toTrainingBatch(samples); // images [N, H, W, 3]
 * ```
 */
export interface TrainingBatch {
  /** `[N, H, W, 3]` normalised images, padded to a common H x W. */
  readonly images: tf.Tensor4D;
  /** `[height, width]` of each resized image before padding. */
  readonly imageSizes: ReadonlyArray<readonly [number, number]>;
  /** One target per image; an image may have no boxes (`boxes.length === 0`). */
  readonly targets: readonly TrainingTarget[];
}
