/**
 * One image through torchvision's GeneralizedRCNNTransform, before batching: to float, normalise,
 * then bilinear resize to the size the resize rule gave. The training loader (with a flip drawn
 * per sample) and the inference transform both call this, so the same image at the same size
 * gives the same float32 pixels on either path.
 *
 * Shapes: `[H, W, 3]` 8-bit or `[0, 1]` float -> `[H', W', 3]` float32.
 */
import { resizeBilinear } from './interpolate';
import { Normalization, normalizeUnitImage, toFloatImage } from './normalize';

/** An `[height, width, 3]` RGB image, row-major: 8-bit values (`Uint8Array`, `Int32Array`) or floats in `[0, 1]`. */
export interface RgbPixels {
  readonly data: Uint8Array | Int32Array | Float32Array;
  readonly height: number;
  readonly width: number;
}

/**
 * Normalises (torchvision's order: before resizing) and resizes `pixels` to `outHeight x outWidth`;
 * `flip` mirrors it horizontally (training's RandomHorizontalFlip, folded into the resize).
 *
 * @example
 * ```ts
 * const { height, width } = resizedSize(480, 640, 800, 1333);
 * const x = transformImage({ data, height: 480, width: 640 }, height, width, IMAGENET_NORMALIZATION); // [800, 1066, 3]
 * ```
 */
export function transformImage(pixels: RgbPixels, outHeight: number, outWidth: number, normalize?: Normalization, flip = false): Float32Array {
  const { data, height, width } = pixels;
  const x = data instanceof Float32Array ? normalizeUnitImage(data, normalize) : toFloatImage(data, normalize);
  return resizeBilinear(x, height, width, 3, outHeight, outWidth, flip);
}
