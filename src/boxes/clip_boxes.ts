/**
 * Clipping boxes to an image, as torchvision's `clip_boxes_to_image`.
 *
 * Shapes: `[..., 4*K]` xyxy boxes in absolute pixels (K boxes per row, e.g. one per class).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Clamps x coordinates to `[0, width]` and y coordinates to `[0, height]`.
 *
 * Works on any tensor whose last dimension holds whole xyxy boxes (`[N, 4]`, `[N, K*4]`,
 * `[N, K, 4]`), like torchvision's `boxes[..., 0::2]` slicing. Clamping is exact in float32.
 *
 * @param boxes `[..., 4*K]` xyxy boxes.
 * @param imageSize `[height, width]` of the (resized, unpadded) image.
 * @returns A new tensor of the same shape; the caller owns it.
 *
 * @example
 * ```ts
 * clipBoxesToImage(tf.tensor2d([[-5, 2, 120, 90]]), [80, 100]); // [[0, 2, 100, 80]]
 * ```
 */
export function clipBoxesToImage<T extends tf.Tensor>(boxes: T, imageSize: readonly [number, number]): T {
  const [height, width] = imageSize;
  if (boxes.rank < 1 || boxes.shape[boxes.rank - 1] % 4 !== 0) {
    throw new Error(
      `Error in clipBoxesToImage: boxes must have a last dimension that is a multiple of 4, got shape [${boxes.shape}]`,
    );
  }
  if (!(height >= 0) || !(width >= 0)) {
    throw new Error(`Error in clipBoxesToImage: imageSize must be [height, width] >= 0, got [${imageSize}]`);
  }
  return tf.tidy(() => {
    const pairs = tf.reshape(boxes, [-1, 2]); // [..., 4*K] -> [M, 2] (x, y)
    const upper = tf.tensor1d([width, height]);
    return tf.reshape(tf.minimum(tf.maximum(pairs, 0), upper), boxes.shape) as T; // [M, 2] -> [..., 4*K]
  });
}
