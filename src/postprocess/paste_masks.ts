/**
 * Pasting M x M mask probabilities into the original image: torchvision 0.14's
 * `paste_masks_in_image` (with `expand_masks`, `expand_boxes` and `paste_mask_in_image`).
 *
 * Shapes: D detections, M x M masks (28), P = padding (1), image H x W (original size).
 *   maskProbs  [D, M, M]     boxes  [D, 4] xyxy in original-image pixels
 *   result     per detection a window of the image: its top-left (x, y), size (width, height)
 *              and width*height probabilities; everything outside the window is 0.
 *
 * Per detection, as torchvision:
 *   1. pad the mask with P zeros on each side -> (M+2P) x (M+2P);
 *   2. grow the box about its centre by scale = (M+2P)/M (float32 arithmetic, as torch's);
 *   3. truncate the grown box to integers (x0, y0, x1, y1) (torch's `.to(int64)`, toward zero);
 *   4. resize the padded mask bilinearly (align_corners=False) to h = y1-y0+1, w = x1-x0+1
 *      (TO_REMOVE = 1; at least 1);
 *   5. paste rows y0..y1 and columns x0..x1 of it, clipped to the image.
 *
 * Step 4 uses tf.image.resizeBilinear with halfPixelCenters, which samples the same source
 * points as torch's align_corners=False; tfjs computes the weights in float64 (cpu) where torch
 * uses float32, so probabilities can differ in the last bits (measured below 1e-6).
 *
 * Full-size masks cost H*W per detection (100 detections of a 1333x800 image: 427 MB as float32),
 * so {@link pasteMasks} returns only each detection's window; {@link maskCropToImage} and
 * {@link masksToTensor} materialise full-size masks when a caller wants them.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSizeHW } from './detections';

/** One detection's pasted mask: the window of the image it covers. */
export interface MaskCrop {
  /** Left column of the window in image pixels (inclusive). */
  readonly x: number;
  /** Top row of the window in image pixels (inclusive). */
  readonly y: number;
  /** Columns of the window; 0 when the box lies outside the image. */
  readonly width: number;
  /** Rows of the window; 0 when the box lies outside the image. */
  readonly height: number;
  /** `[height * width]` probabilities, row-major. */
  readonly probs: Float32Array;
}

/** Options of {@link pasteMasks}. */
export interface PasteMasksOptions {
  /** Zero border added around each mask before resizing (torchvision's `padding`). Default 1. */
  padding?: number;
}

/** The integer box and paste window of one detection, as torchvision computes them. */
export interface PasteGeometry {
  /** Truncated expanded box, inclusive corners. */
  readonly box: readonly [number, number, number, number];
  /** Size the padded mask is resized to: `[h, w]`. */
  readonly resizeTo: readonly [number, number];
  /** Window in the image `[x0, y0, x1, y1)` (exclusive ends); empty when x1 <= x0 or y1 <= y0. */
  readonly window: readonly [number, number, number, number];
}

const f32 = Math.fround;

/**
 * torchvision's `expand_boxes` + integer conversion + `paste_mask_in_image` window for one box.
 *
 * @param box xyxy float32 box in image pixels.
 * @param maskSize M, the side of the unpadded mask.
 * @param imageSize `[H, W]` of the image pasted into.
 * @param padding P. Default 1.
 *
 * @example
 * ```ts
 * pasteGeometry([10, 10, 38, 24], 28, [50, 60]).box; // [9, 9, 39, 24]
 * ```
 */
export function pasteGeometry(
  box: ArrayLike<number>,
  maskSize: number,
  imageSize: ImageSizeHW,
  padding = 1,
): PasteGeometry {
  const [x1, y1, x2, y2] = [f32(box[0]), f32(box[1]), f32(box[2]), f32(box[3])];
  // expand_masks: a Python float, applied by torch as a float32 multiplier.
  const scale = f32((maskSize + 2 * padding) / maskSize);
  const wHalf = f32(f32(f32(x2 - x1) * 0.5) * scale);
  const hHalf = f32(f32(f32(y2 - y1) * 0.5) * scale);
  const xc = f32(f32(x2 + x1) * 0.5);
  const yc = f32(f32(y2 + y1) * 0.5);
  const bx0 = Math.trunc(f32(xc - wHalf));
  const by0 = Math.trunc(f32(yc - hHalf));
  const bx1 = Math.trunc(f32(xc + wHalf));
  const by1 = Math.trunc(f32(yc + hHalf));
  const w = Math.max(bx1 - bx0 + 1, 1);
  const h = Math.max(by1 - by0 + 1, 1);
  const [imH, imW] = imageSize;
  return {
    box: [bx0, by0, bx1, by1],
    resizeTo: [h, w],
    window: [Math.max(bx0, 0), Math.max(by0, 0), Math.min(bx1 + 1, imW), Math.min(by1 + 1, imH)],
  };
}

function checkImageSize(fn: string, imageSize: ImageSizeHW): void {
  if (imageSize.length !== 2 || !Number.isInteger(imageSize[0]) || !Number.isInteger(imageSize[1]) || imageSize[0] < 1 || imageSize[1] < 1) {
    throw new Error(`Error in ${fn}: imageSize must be [height, width], positive integers, got [${imageSize}]`);
  }
}

/**
 * Pastes each detection's mask probabilities into the image, returning only the covered window
 * of each (see the file comment for the steps and the memory rationale).
 *
 * @param maskProbs `[D, M, M]` mask probabilities (output of {@link maskrcnnInference}).
 * @param boxes `[D, 4]` xyxy boxes in original-image pixels (after {@link resizeBoxes}).
 * @param imageSize `[H, W]` of the original image.
 * @param options Padding; default torchvision's 1.
 * @returns One {@link MaskCrop} per detection, in order. No tensor is left allocated.
 *
 * @example
 * ```ts
 * const crops = await pasteMasks(probs, originalBoxes, [480, 640]);
 * const binary = maskCropToImage(crops[0], [480, 640]); // Uint8Array(480 * 640), 1 where p > 0.5
 * ```
 */
export async function pasteMasks(
  maskProbs: tf.Tensor3D,
  boxes: tf.Tensor2D,
  imageSize: ImageSizeHW,
  options: PasteMasksOptions = {},
): Promise<MaskCrop[]> {
  const fn = 'pasteMasks';
  if (maskProbs.rank !== 3 || maskProbs.shape[1] !== maskProbs.shape[2] || maskProbs.shape[1] < 1) {
    throw new Error(`Error in ${fn}: maskProbs must have shape [D, M, M], got [${maskProbs.shape}]`);
  }
  const d = maskProbs.shape[0];
  const m = maskProbs.shape[1];
  if (boxes.rank !== 2 || boxes.shape[0] !== d || boxes.shape[1] !== 4) {
    throw new Error(`Error in ${fn}: boxes must have shape [${d}, 4], got [${boxes.shape}]`);
  }
  checkImageSize(fn, imageSize);
  const padding = options.padding ?? 1;
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(`Error in ${fn}: padding must be a non-negative integer, got ${padding}`);
  }
  if (d === 0) return [];
  const boxData = (await boxes.data()) as Float32Array;
  for (let i = 0; i < boxData.length; i++) {
    if (!Number.isFinite(boxData[i])) {
      throw new Error(`Error in ${fn}: boxes[${Math.floor(i / 4)}] is not finite: [${boxData.subarray(i - (i % 4), i - (i % 4) + 4)}]`);
    }
  }
  const side = m + 2 * padding;
  // [D, M, M] -> [D, M+2P, M+2P, 1]: one padded single-channel image per detection
  const padded = tf.tidy(() => tf.expandDims(tf.pad(maskProbs, [[0, 0], [padding, padding], [padding, padding]]), 3));
  const crops: MaskCrop[] = [];
  try {
    for (let i = 0; i < d; i++) {
      const g = pasteGeometry(boxData.subarray(4 * i, 4 * i + 4), m, imageSize, padding);
      const [x0, y0, x1, y1] = g.window;
      if (x1 <= x0 || y1 <= y0) {
        crops.push({ x: Math.max(0, Math.min(x0, imageSize[1])), y: Math.max(0, Math.min(y0, imageSize[0])), width: 0, height: 0, probs: new Float32Array(0) });
        continue;
      }
      const crop = tf.tidy(() => {
        const mask = tf.slice(padded, [i, 0, 0, 0], [1, side, side, 1]); // [1, M+2P, M+2P, 1]
        const resized = tf.image.resizeBilinear(mask as tf.Tensor4D, [g.resizeTo[0], g.resizeTo[1]], false, true); // [1, h, w, 1]
        return tf.slice(resized, [0, y0 - g.box[1], x0 - g.box[0], 0], [1, y1 - y0, x1 - x0, 1]); // window rows/cols
      });
      try {
        crops.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, probs: (await crop.data()) as Float32Array });
      } finally {
        crop.dispose();
      }
    }
  } finally {
    padded.dispose();
  }
  return crops;
}

/**
 * One detection's full-size binary mask: 1 where the pasted probability is above `threshold`.
 *
 * @param crop A result of {@link pasteMasks}.
 * @param imageSize `[H, W]` given to {@link pasteMasks}.
 * @param threshold Strict lower bound of a foreground probability. Default 0.5.
 * @returns `[H * W]` row-major 0/1 values.
 *
 * @example
 * ```ts
 * const mask = maskCropToImage(crops[0], [480, 640]); // Uint8Array(307200)
 * ```
 */
export function maskCropToImage(crop: MaskCrop, imageSize: ImageSizeHW, threshold = 0.5): Uint8Array {
  checkImageSize('maskCropToImage', imageSize);
  const [h, w] = imageSize;
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.width > w || crop.y + crop.height > h) {
    throw new Error(`Error in maskCropToImage: crop window (${crop.x}, ${crop.y}, ${crop.width}x${crop.height}) is outside the ${h}x${w} image`);
  }
  const out = new Uint8Array(h * w);
  for (let r = 0; r < crop.height; r++) {
    const src = r * crop.width;
    const dst = (crop.y + r) * w + crop.x;
    for (let c = 0; c < crop.width; c++) out[dst + c] = crop.probs[src + c] > threshold ? 1 : 0;
  }
  return out;
}

/**
 * Stacks the crops into full-size masks, as torchvision's `paste_masks_in_image` returns them
 * (without its channel axis): probabilities, or booleans when `threshold` is given.
 *
 * @param crops Results of {@link pasteMasks}.
 * @param imageSize `[H, W]` given to {@link pasteMasks}.
 * @param threshold When set, the result is a `bool` tensor of `prob > threshold`.
 * @returns `[D, H, W]` float32 probabilities (or bool); `[0, H, W]` when there are no crops.
 *
 * @example
 * ```ts
 * const masks = masksToTensor(crops, [480, 640], 0.5); // bool [D, 480, 640]
 * ```
 */
export function masksToTensor(crops: readonly MaskCrop[], imageSize: ImageSizeHW, threshold?: number): tf.Tensor3D {
  checkImageSize('masksToTensor', imageSize);
  const [h, w] = imageSize;
  const plane = h * w;
  if (threshold !== undefined) {
    const out = new Uint8Array(crops.length * plane);
    crops.forEach((c, i) => out.set(maskCropToImage(c, imageSize, threshold), i * plane));
    return tf.tensor3d(out, [crops.length, h, w], 'bool');
  }
  const out = new Float32Array(crops.length * plane);
  crops.forEach((c, i) => {
    if (c.x < 0 || c.y < 0 || c.x + c.width > w || c.y + c.height > h) {
      throw new Error(`Error in masksToTensor: crops[${i}] window (${c.x}, ${c.y}, ${c.width}x${c.height}) is outside the ${h}x${w} image`);
    }
    for (let r = 0; r < c.height; r++) {
      out.set(c.probs.subarray(r * c.width, (r + 1) * c.width), i * plane + (c.y + r) * w + c.x);
    }
  });
  return tf.tensor3d(out, [crops.length, h, w]);
}

/**
 * torchvision's `paste_masks_in_image` in one call: full-size probabilities `[D, H, W]`.
 * Prefer {@link pasteMasks} for many detections on large images.
 *
 * @example
 * ```ts
 * const masks = await pasteMasksInImage(probs, originalBoxes, [480, 640]); // [D, 480, 640]
 * ```
 */
export async function pasteMasksInImage(
  maskProbs: tf.Tensor3D,
  boxes: tf.Tensor2D,
  imageSize: ImageSizeHW,
  options: PasteMasksOptions = {},
): Promise<tf.Tensor3D> {
  return masksToTensor(await pasteMasks(maskProbs, boxes, imageSize, options), imageSize);
}
