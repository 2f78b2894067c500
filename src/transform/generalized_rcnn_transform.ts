/**
 * Preprocessing identical to torchvision 0.14's GeneralizedRCNNTransform (inference path):
 * scale to [0, 1], normalise with the ImageNet mean and std, resize each image so its short side
 * is `minSize` and its long side at most `maxSize` (bilinear, align_corners=False), then zero-pad
 * the batch at the bottom and right to a multiple of `sizeDivisible`.
 *
 * Shapes: images [Hi, Wi, 3] each (sizes may differ) -> batch [N, Hp, Wp, 3], with
 * Hp = ceil(max_i Hi' / 32) * 32 and Wp likewise, Hi' x Wi' the resized sizes.
 */
import * as tf from '@tensorflow/tfjs';
import { resizedSize } from './resize_rule';

/** Options of {@link GeneralizedRCNNTransform}, torchvision's defaults. */
export interface TransformOptions {
  /** Short side after resizing; default 800. */
  minSize?: number;
  /** Upper bound of the long side; default 1333. */
  maxSize?: number;
  /** ImageNet mean, RGB; default [0.485, 0.456, 0.406]. */
  imageMean?: readonly [number, number, number];
  /** ImageNet std, RGB; default [0.229, 0.224, 0.225]. */
  imageStd?: readonly [number, number, number];
  /** Batch padding multiple; default 32. */
  sizeDivisible?: number;
}

/** An image size as [height, width]. */
export type ImageSize = [number, number];

/** The batched images and what post-processing needs to map results back. */
export interface TransformedBatch {
  /** [N, Hp, Wp, 3] normalised, resized, zero-padded. */
  readonly images: tf.Tensor4D;
  /** Each image's size after resizing, before padding ([h, w]); torchvision's image_sizes. */
  readonly imageSizes: ImageSize[];
  /** Each image's size as given. */
  readonly originalSizes: ImageSize[];
}

/**
 * torchvision's GeneralizedRCNNTransform for inference.
 *
 * Accepts `int32` images with values 0-255 (what tfjs image decoders return) or `float32`
 * images already in [0, 1] (what torchvision's to_tensor returns).
 *
 * @example
 * ```ts
 * const transform = new GeneralizedRCNNTransform();
 * const batch = transform.forward([imgA, imgB]); // tensors [H, W, 3]
 * batch.images.dispose();
 * ```
 */
export class GeneralizedRCNNTransform {
  readonly minSize: number;
  readonly maxSize: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly sizeDivisible: number;

  constructor(options: TransformOptions = {}) {
    this.minSize = options.minSize ?? 800;
    this.maxSize = options.maxSize ?? 1333;
    this.imageMean = options.imageMean ?? [0.485, 0.456, 0.406];
    this.imageStd = options.imageStd ?? [0.229, 0.224, 0.225];
    this.sizeDivisible = options.sizeDivisible ?? 32;
    for (const [k, v] of [
      ['minSize', this.minSize],
      ['maxSize', this.maxSize],
      ['sizeDivisible', this.sizeDivisible],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`Error in GeneralizedRCNNTransform: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Validates, normalises, resizes and batches. The caller owns `images` of the result. */
  forward(images: readonly tf.Tensor3D[]): TransformedBatch {
    if (images.length === 0) throw new Error('Error in GeneralizedRCNNTransform: no images given');
    images.forEach((img, i) => validateImage(img, i));
    const originalSizes = images.map((img): ImageSize => [img.shape[0], img.shape[1]]);
    const imageSizes = originalSizes.map(([h, w]): ImageSize => {
      const r = resizedSize(h, w, this.minSize, this.maxSize);
      return [r.height, r.width];
    });
    const d = this.sizeDivisible;
    const padH = Math.ceil(Math.max(...imageSizes.map((s) => s[0])) / d) * d;
    const padW = Math.ceil(Math.max(...imageSizes.map((s) => s[1])) / d) * d;
    const batch = tf.tidy(() => {
      const mean = tf.tensor1d([...this.imageMean]);
      const std = tf.tensor1d([...this.imageStd]);
      const resized = images.map((img, i) => {
        const x = img.dtype === 'int32' ? tf.div(tf.cast(img, 'float32'), 255) : img;
        // torchvision normalises before resizing; the order changes float rounding only.
        const normalised = tf.div(tf.sub(x, mean), std) as tf.Tensor3D;
        const [h, w] = imageSizes[i];
        const r = tf.image.resizeBilinear(normalised, [h, w], false, true);
        // [h, w, 3] -> [padH, padW, 3], zeros at the bottom and right.
        return tf.pad(r, [
          [0, padH - h],
          [0, padW - w],
          [0, 0],
        ]);
      });
      return tf.stack(resized) as tf.Tensor4D;
    });
    return { images: batch, imageSizes, originalSizes };
  }
}

/** Rejects what torchvision would reject, and what would silently poison the batch. */
function validateImage(img: tf.Tensor, i: number): void {
  const where = `Error in GeneralizedRCNNTransform: image ${i}`;
  if (!(img instanceof tf.Tensor)) throw new Error(`${where} is not a tf.Tensor`);
  if (img.rank !== 3) throw new Error(`${where} must have rank 3 [H, W, 3], got shape [${img.shape.join(', ')}]`);
  const [h, w, c] = img.shape;
  if (c !== 3) throw new Error(`${where} must have 3 channels (RGB), got ${c} in shape [${img.shape.join(', ')}]`);
  if (h === 0 || w === 0) throw new Error(`${where} is empty (${h}x${w})`);
  if (img.dtype !== 'int32' && img.dtype !== 'float32') {
    throw new Error(`${where} has dtype ${img.dtype}; expected int32 (0-255) or float32 (0-1)`);
  }
  const [min, max, finite] = tf.tidy(() => {
    const x = tf.cast(img, 'float32');
    return [tf.min(x), tf.max(x), tf.all(tf.isFinite(x))].map((t) => t.dataSync()[0]);
  });
  if (!finite) throw new Error(`${where} contains NaN or infinite values`);
  const top = img.dtype === 'int32' ? 255 : 1;
  if (min < 0 || max > top) {
    throw new Error(`${where} has values in [${min}, ${max}]; ${img.dtype} images must lie in [0, ${top}]`);
  }
}
