/**
 * Loader samples as the model's training input: the batching half of torchvision's
 * `GeneralizedRCNNTransform` (pad to a multiple of 32) plus the targets in resized pixels. The
 * trainer and `inspectTargets` build their batches here, so both feed the losses the same tensor.
 *
 * Shapes: N samples, each H_i x W_i after resizing, padded to H x W (multiples of 32).
 */
import * as tf from '@tensorflow/tfjs';
import { padImages } from '../transform/batch_images';
import type { TrainingSample } from './transforms';
import type { TrainingBatch } from '../targets/training_batch';

/**
 * A loader sample list as the model's training input: images padded to a multiple of 32
 * (`[N, H, W, 3]`, normalised by the loader), targets in resized pixels. The caller owns `images`.
 *
 * @example
 * ```ts
 * for await (const b of loader.epoch(0)) { const batch = toTrainingBatch(b.samples); ...; batch.images.dispose(); }
 * ```
 */
export function toTrainingBatch(samples: readonly TrainingSample[]): TrainingBatch {
  const padded = padImages(samples, 32);
  const images = tf.tensor4d(padded.images, [samples.length, padded.batchHeight, padded.batchWidth, 3]); // [N, H, W, 3]
  return {
    images,
    imageSizes: padded.imageSizes,
    targets: samples.map((s) => ({
      boxes: s.gtBoxes,
      labels: s.gtLabels,
      crowd: s.gtCrowd,
      masks: { data: s.gtMasks, height: s.height, width: s.width },
    })),
  };
}
