/**
 * The one normalisation of images, for training samples and inference batches alike: 8-bit
 * values become `v / 255` (torchvision's `to_tensor`), then `(x - mean) / std` per channel
 * (GeneralizedRCNNTransform.normalize), every step rounded to float32 as torch computes it.
 *
 * Shapes: `[H, W, 3]` RGB, row-major, in and out.
 */

const f32 = Math.fround;

/** Per-channel normalization `(x - mean) / std` on `[0, 1]` images (RGB order). */
export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** ImageNet statistics, torchvision's `image_mean` / `image_std` for Mask R-CNN. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** `(x - mean) / std` of one `[0, 1]` value of channel `ch`, in float32 (the mean and std tensors are float32). */
function normalizeValue(x: number, ch: number, n: Normalization | undefined): number {
  return n === undefined ? x : f32(f32(x - f32(n.mean[ch])) / f32(n.std[ch]));
}

/**
 * 8-bit `[H, W, 3]` values -> float32 `v / 255`, then `(x - mean) / std` when `normalize` is given.
 * `Int32Array` is accepted for what tfjs returns from an `int32` image; values must be integers
 * in 0..255.
 *
 * @example
 * ```ts
 * toFloatImage(Uint8Array.of(0, 255, 51)); // Float32Array [0, 1, 0.2]
 * ```
 */
export function toFloatImage(data: Uint8Array | Int32Array, normalize?: Normalization): Float32Array {
  // A 256-entry table per channel: the result per byte value is exactly torchvision's float32 arithmetic.
  const [t0, t1, t2] = [0, 1, 2].map((ch) => Float32Array.from({ length: 256 }, (_, v) => normalizeValue(f32(v / 255), ch, normalize)));
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    out[i] = t0[data[i]];
    out[i + 1] = t1[data[i + 1]];
    out[i + 2] = t2[data[i + 2]];
  }
  return out;
}

/**
 * Float `[H, W, 3]` values already in `[0, 1]` -> `(x - mean) / std` (a copy either way).
 *
 * @example
 * ```ts
 * normalizeUnitImage(Float32Array.of(1, 1, 1), IMAGENET_NORMALIZATION); // [2.2489, 2.4286, 2.64]
 * ```
 */
export function normalizeUnitImage(data: Float32Array, normalize?: Normalization): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = normalizeValue(data[i], i % 3, normalize);
  return out;
}
