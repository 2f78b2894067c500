/**
 * Mapping boxes from the resized image back to the original: torchvision 0.14's `resize_boxes`
 * as `GeneralizedRCNNTransform.postprocess` calls it.
 *
 * Shapes: D boxes, xyxy pixels.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSizeHW } from './detections';

/**
 * Scales x by `toW / fromW` and y by `toH / fromH`. As in torch, each ratio is a float32 division
 * of the two sizes (`torch.tensor(s_new, float32) / torch.tensor(s, float32)`), then one float32
 * multiply per coordinate.
 *
 * @param boxes `[D, 4]` xyxy boxes in pixels of an image of size `fromSize`.
 * @param fromSize `[height, width]` the boxes refer to (the resized image).
 * @param toSize `[height, width]` to map onto (the original image).
 * @returns `[D, 4]` boxes; the caller owns it.
 *
 * @example
 * ```ts
 * resizeBoxes(tf.tensor2d([[10, 20, 30, 40]]), [100, 200], [50, 100]); // [[5, 10, 15, 20]]
 * ```
 */
export function resizeBoxes(boxes: tf.Tensor2D, fromSize: ImageSizeHW, toSize: ImageSizeHW): tf.Tensor2D {
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) {
    throw new Error(`Error in resizeBoxes: boxes must have shape [D, 4], got [${boxes.shape}]`);
  }
  for (const [name, s] of [
    ['fromSize', fromSize],
    ['toSize', toSize],
  ] as const) {
    if (s.length !== 2 || !(s[0] > 0) || !(s[1] > 0) || !Number.isFinite(s[0]) || !Number.isFinite(s[1])) {
      throw new Error(`Error in resizeBoxes: ${name} must be [height, width] > 0, got [${s}]`);
    }
  }
  const f32 = Math.fround;
  // A float32 quotient of float32 operands computed in double and rounded once is the
  // correctly rounded float32 quotient, as torch's.
  const ratioH = f32(f32(toSize[0]) / f32(fromSize[0]));
  const ratioW = f32(f32(toSize[1]) / f32(fromSize[1]));
  return tf.tidy(() => tf.mul(boxes, tf.tensor1d([ratioW, ratioH, ratioW, ratioH])) as tf.Tensor2D); // [D, 4] * [4]
}
