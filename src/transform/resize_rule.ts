/**
 * The resize rule of torchvision 0.14's GeneralizedRCNNTransform, as pure arithmetic.
 *
 * torchvision computes `scale = min(minSize / shortSide, maxSize / longSide)` on float32 tensors
 * (as `reciprocal(side) * size`),
 * then calls `interpolate(scale_factor=scale, recompute_scale_factor=True)`, whose output size is
 * `floor(inputSize * scale)` evaluated in float64 on the float32 scale. We reproduce both
 * roundings, so the resized size (and therefore every anchor) is the same as torchvision's.
 */

/** Result of {@link resizedSize}. */
export interface ResizedSize {
  /** Output height and width in pixels. */
  readonly height: number;
  readonly width: number;
  /** The float32 scale torchvision computed (before the size is floored). */
  readonly scale: number;
}

/**
 * Size of an `height x width` image after torchvision's detection resize.
 *
 * @example
 * ```ts
 * resizedSize(480, 640, 800, 1333); // { height: 800, width: 1066, scale: 1.6666667461395264 }
 * ```
 */
export function resizedSize(height: number, width: number, minSize: number, maxSize: number): ResizedSize {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['minSize', minSize],
    ['maxSize', maxSize],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new Error(`Error in resizedSize: ${name} must be a positive number, got ${v}`);
    }
  }
  const f = Math.fround;
  const shortSide = f(Math.min(height, width));
  const longSide = f(Math.max(height, width));
  // `800.0 / tensor` is torch's __rtruediv__, evaluated as reciprocal(tensor) * 800.0 in
  // float32: 640 / 400 gives 1.5999999 (not 1.6), so a 400x600 image becomes 639x959.
  const scale = Math.min(f(f(1 / shortSide) * minSize), f(f(1 / longSide) * maxSize));
  const out = { height: Math.floor(height * scale), width: Math.floor(width * scale), scale };
  if (out.height < 1 || out.width < 1) {
    throw new Error(
      `Error in resizedSize: a ${height}x${width} image would be resized to ${out.height}x${out.width} ` +
        `(minSize ${minSize}, maxSize ${maxSize}); its aspect ratio is too extreme`,
    );
  }
  return out;
}
