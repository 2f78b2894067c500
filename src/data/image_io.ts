/**
 * Image decoding through sharp (libvips): JPEG, PNG, WebP (and the other raster formats sharp
 * reads: GIF, TIFF, AVIF/HEIF). Every image comes out as 8-bit RGB, HWC, row-major:
 * grayscale is expanded to three channels, alpha is dropped (as PIL's `convert("RGB")` in
 * torchvision's reference scripts does: no compositing), 16-bit samples are scaled to 8 bits, and
 * the EXIF orientation is applied so the pixels are upright.
 */
import { promises as fs } from 'fs';
import sharp from 'sharp';

/** A decoded image: `data` is `[height, width, 3]` RGB, row-major, one byte per sample. */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
}

/** Options of {@link readImage}. */
export interface ReadImageOptions {
  /**
   * Apply the EXIF orientation tag (default true). COCO annotations are made on upright images;
   * files whose annotations were made on the stored (unrotated) pixels need `false`.
   */
  readonly applyExifOrientation?: boolean;
  /** Name used in error messages for a buffer input (default `<buffer>`). */
  readonly name?: string;
}

const SUPPORTED = 'JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF';

/**
 * Decodes an image file or an in-memory encoded image to 8-bit RGB.
 *
 * Errors name the file and say what is wrong: missing file, not a regular file, empty file,
 * corrupt or unsupported format, zero-size image.
 *
 * @example
 * ```ts
 * const { data, height, width } = await readImage('images/000001.jpg');
 * const red = data[(y * width + x) * 3];
 * ```
 */
export async function readImage(source: string | Uint8Array, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const name = typeof source === 'string' ? source : options.name ?? '<buffer>';
  let input: string | Buffer;
  if (typeof source === 'string') {
    let st;
    try {
      st = await fs.stat(source);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`readImage: image file not found: ${name}`);
      throw new Error(`readImage: cannot access image file ${name}: ${(e as Error).message}`);
    }
    if (!st.isFile()) throw new Error(`readImage: ${name} is not a regular file`);
    if (st.size === 0) throw new Error(`readImage: image file ${name} is empty (0 bytes)`);
    input = source;
  } else if (source instanceof Uint8Array) {
    if (source.length === 0) throw new Error(`readImage: image ${name} is empty (0 bytes)`);
    input = Buffer.from(source.buffer, source.byteOffset, source.length);
  } else {
    throw new Error(`readImage: expected a file path or a Uint8Array, got ${typeof source}`);
  }

  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let img = sharp(input, { failOn: 'error' });
    if (options.applyExifOrientation ?? true) img = img.rotate();
    out = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(
      `readImage: cannot decode ${name}: ${(e as Error).message} (corrupt file or unsupported format; supported: ${SUPPORTED})`,
    );
  }
  const { width, height, channels } = out.info;
  if (!(width > 0 && height > 0)) throw new Error(`readImage: image ${name} has zero size (${width}x${height})`);
  if (channels !== 3 || out.data.length !== width * height * 3) {
    throw new Error(
      `readImage: decoding ${name} gave ${channels} channels and ${out.data.length} bytes, expected 3 channels and ${width * height * 3} bytes`,
    );
  }
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), height, width };
}
