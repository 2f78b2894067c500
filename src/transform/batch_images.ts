/**
 * torchvision's `batch_images`: images of different sizes zero-padded at the bottom and right
 * into one `[N, Hp, Wp, 3]` array, Hp and Wp the largest height and width rounded up to a multiple
 * of `sizeDivisible`. The one padding of training and inference batches.
 */

/** A `[height, width, 3]` float32 image, row-major. */
export interface SizedImage {
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
}

/** Images of a batch padded into one array. */
export interface PaddedImages {
  /** `[N, Hp, Wp, 3]` float32, zeros in the padding (bottom and right). */
  readonly images: Float32Array;
  readonly batchHeight: number;
  readonly batchWidth: number;
  /** `[N]` sizes `[h, w]` before padding. */
  readonly imageSizes: [number, number][];
}

/**
 * Pads images of different sizes to one `[N, Hp, Wp, 3]` array (torchvision: `sizeDivisible` 32).
 * torchvision pads after normalizing, so give it normalized images.
 *
 * @example
 * ```ts
 * const { images, batchHeight, batchWidth } = padImages(batch.samples);
 * const x = tf.tensor4d(images, [batch.samples.length, batchHeight, batchWidth, 3]);
 * ```
 */
export function padImages(samples: readonly SizedImage[], sizeDivisible = 32): PaddedImages {
  if (samples.length === 0) throw new Error('Error in padImages: no samples');
  if (!Number.isInteger(sizeDivisible) || sizeDivisible <= 0) throw new Error(`Error in padImages: sizeDivisible must be a positive integer, got ${sizeDivisible}`);
  const maxH = Math.max(...samples.map((s) => s.height));
  const maxW = Math.max(...samples.map((s) => s.width));
  const batchHeight = Math.ceil(maxH / sizeDivisible) * sizeDivisible;
  const batchWidth = Math.ceil(maxW / sizeDivisible) * sizeDivisible;
  const images = new Float32Array(samples.length * batchHeight * batchWidth * 3);
  samples.forEach((s, n) => {
    if (s.image.length !== s.height * s.width * 3) {
      throw new Error(`Error in padImages: sample ${n} has ${s.image.length} values, expected ${s.height}*${s.width}*3`);
    }
    const rowLen = s.width * 3;
    for (let y = 0; y < s.height; y++) {
      // [H, W, 3] row y -> [N, Hp, Wp, 3] at (n, y, 0)
      images.set(s.image.subarray(y * rowLen, (y + 1) * rowLen), (n * batchHeight + y) * batchWidth * 3);
    }
  });
  return { images, batchHeight, batchWidth, imageSizes: samples.map((s) => [s.height, s.width]) };
}
