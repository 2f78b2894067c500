/**
 * Preprocessing identical to torchvision 0.14's GeneralizedRCNNTransform (inference path):
 * scale to [0, 1], normalise with the ImageNet mean and std, resize each image so its short side
 * is `minSize` and its long side at most `maxSize` (bilinear, align_corners=False), then zero-pad
 * the batch at the bottom and right to a multiple of `sizeDivisible`.
 *
 * The arithmetic is not done with tf ops: the images are read back and go through the same
 * functions as training samples (transform_image.ts, batch_images.ts), so inference and training
 * see bit-identical pixels, equal to torchvision's on every backend (0 of 5.8M values differ on
 * the parity photographs, where tf.image.resizeBilinear differed by up to 8.4e-5 on wasm). The
 * cost is a readback and a resize in JavaScript: 75-115 ms for 480x640 -> 800x1066 on a busy
 * 2-core machine, where tf.image.resizeBilinear took 110-160 ms on wasm and 5 s on the `cpu`
 * backend (tfjs-node's native resize, not measured, is faster than either).
 *
 * Shapes: images [Hi, Wi, 3] each (sizes may differ) -> batch [N, Hp, Wp, 3], with
 * Hp = ceil(max_i Hi' / 32) * 32 and Wp likewise, Hi' x Wi' the resized sizes.
 */
import * as tf from '@tensorflow/tfjs';
import { padImages } from './batch_images';
import { IMAGENET_NORMALIZATION } from './normalize';
import { resizedSize } from './resize_rule';
import { transformImage } from './transform_image';

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
    this.imageMean = options.imageMean ?? IMAGENET_NORMALIZATION.mean;
    this.imageStd = options.imageStd ?? IMAGENET_NORMALIZATION.std;
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
    const pixels = images.map((img, i) => readPixels(img, i));
    const normalize = { mean: this.imageMean, std: this.imageStd };
    const resized = pixels.map((p) => {
      const r = resizedSize(p.height, p.width, this.minSize, this.maxSize);
      return { image: transformImage(p, r.height, r.width, normalize), height: r.height, width: r.width };
    });
    const padded = padImages(resized, this.sizeDivisible);
    return {
      images: tf.tensor4d(padded.images, [images.length, padded.batchHeight, padded.batchWidth, 3]), // [N, Hp, Wp, 3]
      imageSizes: padded.imageSizes,
      originalSizes: pixels.map((p): ImageSize => [p.height, p.width]),
    };
  }
}

/** The values of image `i`, after rejecting what torchvision would reject and what would silently poison the batch. */
function readPixels(img: tf.Tensor, i: number): { data: Int32Array | Float32Array; height: number; width: number } {
  const where = `Error in GeneralizedRCNNTransform: image ${i}`;
  if (!(img instanceof tf.Tensor)) throw new Error(`${where} is not a tf.Tensor`);
  if (img.rank !== 3) throw new Error(`${where} must have rank 3 [H, W, 3], got shape [${img.shape.join(', ')}]`);
  const [h, w, c] = img.shape;
  if (c !== 3) throw new Error(`${where} must have 3 channels (RGB), got ${c} in shape [${img.shape.join(', ')}]`);
  if (h === 0 || w === 0) throw new Error(`${where} is empty (${h}x${w})`);
  if (img.dtype !== 'int32' && img.dtype !== 'float32') {
    throw new Error(`${where} has dtype ${img.dtype}; expected int32 (0-255) or float32 (0-1)`);
  }
  const data = img.dataSync() as Int32Array | Float32Array;
  const top = img.dtype === 'int32' ? 255 : 1;
  let inRange = true;
  for (let k = 0; k < data.length && inRange; k++) inRange = data[k] >= 0 && data[k] <= top; // false for NaN too
  if (!inRange) {
    let [min, max] = [Infinity, -Infinity];
    for (const v of data) {
      if (!Number.isFinite(v)) throw new Error(`${where} contains NaN or infinite values`);
      [min, max] = [Math.min(min, v), Math.max(max, v)];
    }
    throw new Error(`${where} has values in [${min}, ${max}]; ${img.dtype} images must lie in [0, ${top}]`);
  }
  return { data, height: h, width: w };
}
