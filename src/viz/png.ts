/**
 * Node only: pictures as PNG files, encoded by sharp. The drawing itself ({@link drawDetections},
 * {@link renderTrainingCurves}) runs anywhere; this file adds reading the image and writing PNG.
 */
import { promises as fs } from 'fs';
import sharp from 'sharp';
import type { PixelBuffer, Prediction } from '../api/model';
import { readImage } from '../data/image_io';
import { writeFileAtomic } from '../io/atomic_file';
import { RgbaImage } from './draw';
import { OverlayOptions, renderDetections, resolveOverlayOptions } from './overlay';
import { type CurveRecord, renderTrainingCurves, TrainingCurvesOptions } from './training_curves';

/**
 * Options of {@link writeOverlayPng}: the drawing options and, for an image file or encoded
 * bytes, the decoder's pixel limit.
 *
 * @example
 * ```ts
 * const options: WriteOverlayOptions = { scoreThreshold: 0.5, maxPixels: 100_000_000 };
 * await writeOverlayPng('scan.tif', prediction, 'scan.png', options);
 * ```
 */
export interface WriteOverlayOptions extends OverlayOptions {
  /** Largest image file accepted, in pixels; default {@link DEFAULT_MAX_PIXELS}, as predict. */
  maxPixels?: number;
}

/**
 * Encodes an RGBA picture as PNG (lossless, alpha kept).
 *
 * @example
 * ```ts
 * const png = await overlayToPng(drawDetections(pixels, prediction));
 * await fs.promises.writeFile('out.png', png);
 * ```
 */
export async function overlayToPng(image: RgbaImage): Promise<Buffer> {
  const { width, height } = image ?? ({} as Partial<RgbaImage>);
  const data: unknown = image?.data;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`Error in overlayToPng: the picture size must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array) || data.length !== 4 * width * height) {
    throw new Error(`Error in overlayToPng: the picture data must be ${4 * width * height} bytes of RGBA (${width}x${height}), got ${String((data as { length?: unknown } | undefined)?.length)}`);
  }
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  return sharp(bytes, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/**
 * Draws a prediction onto its image ({@link drawDetections}) and writes the picture as a PNG
 * file. The image is a file path or encoded bytes (decoded as predict decodes them: RGB, EXIF
 * orientation applied, so the prediction's boxes fit) or raw pixels. Returns the picture too.
 *
 * @throws Error naming the problem: an unreadable image, a size that differs from the
 * prediction's, invalid options, or the file that could not be written.
 *
 * @example
 * ```ts
 * const [prediction] = await model.predict('street.jpg', { scoreThreshold: 0.5 });
 * await writeOverlayPng('street.jpg', prediction, 'street.detections.png', { colorBy: 'label' });
 * ```
 */
export async function writeOverlayPng(
  image: string | Uint8Array | PixelBuffer,
  prediction: Prediction,
  outFile: string,
  options: WriteOverlayOptions = {},
): Promise<RgbaImage> {
  const where = 'writeOverlayPng';
  const { maxPixels, ...drawing } = options ?? {};
  if (typeof outFile !== 'string' || outFile.length === 0) throw new Error(`Error in ${where}: outFile must be a file path, got ${String(outFile)}`);
  resolveOverlayOptions(drawing, where); // bad options fail before the image is read
  let pixels: PixelBuffer;
  if (typeof image === 'string' || image instanceof Uint8Array) {
    pixels = await readImage(image, { maxPixels }).catch((e: Error) => {
      throw new Error(`Error in ${where}: ${e.message}`);
    });
  } else {
    pixels = image;
  }
  const picture = renderDetections(pixels, prediction, drawing, where);
  const png = await overlayToPng(picture);
  await fs.writeFile(outFile, png).catch((e: Error) => {
    throw new Error(`Error in ${where}: cannot write ${outFile}: ${e.message}`);
  });
  return picture;
}

/**
 * Draws a training history as training curves ({@link renderTrainingCurves}) and writes them as a
 * PNG file, atomically: into a temporary file next to `outFile`, fsynced, then renamed over it, so
 * a reader (an image viewer refreshing the file during training) never sees half a picture.
 * Returns the picture too.
 *
 * @throws Error naming the problem: invalid options, or the file that could not be written.
 * @example
 * ```ts
 * await writeTrainingCurvesPng(await readHistory('runs/shapes'), 'runs/shapes/curves.png');
 * ```
 */
export async function writeTrainingCurvesPng(history: readonly CurveRecord[], outFile: string, options: TrainingCurvesOptions = {}): Promise<RgbaImage> {
  const where = 'writeTrainingCurvesPng';
  if (typeof outFile !== 'string' || outFile.length === 0) throw new Error(`Error in ${where}: outFile must be a file path, got ${String(outFile)}`);
  let picture: RgbaImage;
  try {
    picture = renderTrainingCurves(history, options);
  } catch (e) {
    throw new Error((e as Error).message.replace('Error in renderTrainingCurves', `Error in ${where}`));
  }
  const png = await overlayToPng(picture);
  await writeFileAtomic(outFile, [png]).catch((e: Error) => {
    throw new Error(`Error in ${where}: cannot write ${outFile}: ${e.message}`);
  });
  return picture;
}

/**
 * Writes any RGBA picture (a stage picture, a grid, a histogram) as a PNG file, atomically as
 * {@link writeTrainingCurvesPng} does: into a temporary file next to `outFile`, fsynced, then
 * renamed over it.
 *
 * @throws Error naming the problem: a malformed picture (an empty one included: PNG has no 0-pixel
 * images), or the file that could not be written.
 * @example
 * ```ts
 * await writePicturePng('runs/shapes/anchors.png', drawAnchorLabels(base, anchors, labels));
 * ```
 */
export async function writePicturePng(outFile: string, picture: RgbaImage): Promise<void> {
  const where = 'writePicturePng';
  if (typeof outFile !== 'string' || outFile.length === 0) throw new Error(`Error in ${where}: outFile must be a file path, got ${String(outFile)}`);
  const png = await overlayToPng(picture).catch((e: Error) => {
    throw new Error(e.message.replace('Error in overlayToPng', `Error in ${where}`));
  });
  await writeFileAtomic(outFile, [png]).catch((e: Error) => {
    throw new Error(`Error in ${where}: cannot write ${outFile}: ${e.message}`);
  });
}
