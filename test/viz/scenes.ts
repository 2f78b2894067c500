/** Small fixed scenes for the picture tests: grey images and hand-made detections. */
import type { Detection, Prediction, PixelBuffer } from '../../src/api/model';
import type { CroppedMask, DetectionMask } from '../../src/api/detection_masks';
import { RgbColor } from '../../src/viz/palette';

export const GREY = 128;

/** A `width x height` RGB image, every pixel (128, 128, 128). */
export function greyImage(width: number, height: number): PixelBuffer & { data: Uint8Array } {
  return { data: new Uint8Array(width * height * 3).fill(GREY), width, height, channels: 3 };
}

/** A cropped mask: the window (x, y, w, h) of a `imageWidth x imageHeight` image, `inside(c, r)` in window coordinates. */
export function croppedMask(
  imageWidth: number,
  imageHeight: number,
  [x, y, width, height]: [number, number, number, number],
  inside: (c: number, r: number) => boolean,
): CroppedMask {
  const data = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) data[r * width + c] = inside(c, r) ? 1 : 0;
  return { format: 'cropped', x, y, width, height, data, imageWidth, imageHeight };
}

/** A cropped mask with nothing in it (an empty window). */
export function emptyMask(imageWidth: number, imageHeight: number): CroppedMask {
  return { format: 'cropped', x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0), imageWidth, imageHeight };
}

export function detection<M extends DetectionMask>(
  box: [number, number, number, number],
  mask: M,
  score = 0.9,
  label = 1,
  labelName = 'circle',
): Detection<M> {
  return { box, score, label, labelName, mask };
}

export function prediction<M extends DetectionMask>(width: number, height: number, detections: Detection<M>[]): Prediction<M> {
  return { width, height, detections };
}

/** The RGBA value at (x, y). */
export function pixel(img: { data: Uint8ClampedArray; width: number }, x: number, y: number): number[] {
  const i = 4 * (y * img.width + x);
  return Array.from(img.data.subarray(i, i + 4));
}

/** The mask fill formula: `round(alpha * c + (1 - alpha) * bg)` per channel. */
export function blend(bg: readonly number[], c: RgbColor, alpha: number): number[] {
  return [0, 1, 2].map((k) => Math.round(alpha * c[k] + (1 - alpha) * bg[k]));
}
