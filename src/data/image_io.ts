/**
 * Image decoding through sharp (libvips). Accepted formats (an allow-list, checked from the
 * file's header before anything is decoded): JPEG, PNG, WebP, GIF (first frame), TIFF (first
 * page) and AVIF. Anything else sharp could open (SVG, libvips' own `.v` format, ...) is refused:
 * a vector image or a format we do not test is not a photo to detect objects in, and SVG in
 * particular declares any size in a few bytes.
 *
 * Image bombs: a small compressed file can declare a huge image (a 200 KB PNG of 8000x8000
 * decodes to 192 MB of RGB, and predict multiplies that). The header's width x height is checked
 * against `maxPixels` (default {@link DEFAULT_MAX_PIXELS}, 50 megapixels) before decoding, and the
 * decoder is given the same limit (sharp's `limitInputPixels`), so a refused image costs only its
 * header read.
 *
 * Every image comes out as 8-bit RGB, HWC, row-major: grayscale is expanded to three channels,
 * alpha is dropped (as PIL's `convert("RGB")` in torchvision's reference scripts does: no
 * compositing), 16-bit samples are scaled to 8 bits, and the EXIF orientation is applied so the
 * pixels are upright.
 */
import { promises as fs } from 'fs';
import sharp, { Metadata } from 'sharp';

/**
 * A decoded image: `data` is `[height, width, 3]` RGB, row-major, one byte per sample.
 *
 * @example
 * ```ts
 * const { data, width } = await readImage('a.png');
 * const green = data[(y * width + x) * 3 + 1];
 * ```
 */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
}

/**
 * Options of {@link readImage}.
 *
 * @example
 * ```ts
 * const o: ReadImageOptions = { applyExifOrientation: false, maxPixels: 100_000_000 };
 * ```
 */
export interface ReadImageOptions {
  /**
   * Apply the EXIF orientation tag (default true). COCO annotations are made on upright images;
   * files whose annotations were made on the stored (unrotated) pixels need `false`.
   */
  readonly applyExifOrientation?: boolean;
  /** Name used in error messages for a buffer input (default `<buffer>`). */
  readonly name?: string;
  /**
   * Largest accepted image, in pixels (width x height from the header, checked before
   * decoding); default {@link DEFAULT_MAX_PIXELS} (50 megapixels). Raise it for trusted
   * images larger than that.
   */
  readonly maxPixels?: number;
}

/**
 * Default pixel limit of {@link readImage} (and of predict on files and encoded bytes):
 * 50 megapixels. It admits every common camera and phone photo (24 MP 6000x4000, 45 MP
 * 8256x5504, 48 MP phone sensors at 8064x6048) and refuses an 8000x8000 (64 MP) image; sharp's
 * own default is 268 MP. The model sees at most 1333x800 (about 1 MP) anyway, while decoding
 * costs 3 bytes per pixel and predict's input tensors about 24 more, so 50 MP bounds a
 * decoded input at 150 MB and predict's peak at about 1.5 GB.
 *
 * @example
 * ```ts
 * await readImage('pano.jpg', { maxPixels: 2 * DEFAULT_MAX_PIXELS });
 * ```
 */
export const DEFAULT_MAX_PIXELS = 50_000_000;

const SUPPORTED = 'JPEG, PNG, WebP, GIF (first frame), TIFF (first page), AVIF';

/** sharp's format names that are accepted; `heif` only with AV1 compression (AVIF). */
const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

const FORMAT_NAMES: Readonly<Record<string, string>> = { svg: 'SVG', vips: 'libvips native (.v)', pdf: 'PDF', magick: 'ImageMagick', raw: 'raw pixels' };

function megapixels(n: number): string {
  return `${(n / 1e6).toFixed(1)} MP`;
}

function leadingBytes(input: string | Buffer): Promise<Buffer> | Buffer {
  if (typeof input !== 'string') return input.subarray(0, 8);
  return fs.open(input, 'r').then(async (fh) => {
    try {
      const b = Buffer.alloc(8);
      const { bytesRead } = await fh.read(b, 0, 8, 0);
      return b.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  });
}

/**
 * What an image's header says, read without decoding a pixel: see {@link readImageInfo}.
 *
 * @example
 * ```ts
 * const info: ImageInfo = await readImageInfo('a.jpg'); // { format: 'jpeg', width: 640, height: 480 }
 * ```
 */
export interface ImageInfo {
  /** sharp's name of the format: 'jpeg', 'png', 'webp', 'gif', 'tiff' or 'heif' (AVIF). */
  readonly format: string;
  /** Width and height as the header declares them (before the EXIF orientation is applied). */
  readonly width: number;
  readonly height: number;
}

/**
 * Checks an image file or encoded bytes from the header alone, as {@link readImage} does before
 * decoding: the file exists and is a readable, non-empty regular file, its format is an accepted
 * one (JPEG, PNG, WebP, GIF, TIFF, AVIF) and its size is within `maxPixels`. Costs one header read,
 * so a command can check every input before spending seconds on loading a model.
 *
 * A file that passes can still fail to decode (damaged pixel data after a valid header).
 *
 * @throws Error naming the file and saying what is wrong (the same messages as readImage).
 * @example
 * ```ts
 * const { format, width, height } = await readImageInfo('photos/a.jpg');
 * await readImageInfo('drawing.svg'); // throws: ... is SVG (sharp format 'svg'), which is not an accepted input format
 * ```
 */
export async function readImageInfo(source: string | Uint8Array, options: Pick<ReadImageOptions, 'name' | 'maxPixels'> = {}): Promise<ImageInfo> {
  const { meta } = await checkHeader(source, options);
  return { format: String(meta.format), width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** The header checks shared by readImage and readImageInfo; gives the input for sharp. */
async function checkHeader(
  source: string | Uint8Array,
  options: Pick<ReadImageOptions, 'name' | 'maxPixels'>,
): Promise<{ input: string | Buffer; name: string; maxPixels: number; meta: Metadata }> {
  const name = typeof source === 'string' ? source : options.name ?? '<buffer>';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof maxPixels !== 'number' || !Number.isInteger(maxPixels) || maxPixels < 1) {
    throw new Error(`readImage: maxPixels must be a positive integer, got ${String(maxPixels)} (reading ${name})`);
  }
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

  // The header alone: format and declared size, before any pixel is decoded.
  let meta: Metadata;
  try {
    meta = await sharp(input, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (e) {
    const head = await Promise.resolve(leadingBytes(input)).catch(() => Buffer.alloc(0));
    const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(
      `readImage: cannot decode ${name}: ${(e as Error).message}; it starts with bytes [${hex}] (corrupt file or unsupported format; supported: ${SUPPORTED})`,
    );
  }
  const format = String(meta.format);
  if (!ACCEPTED_FORMATS.has(format) || (format === 'heif' && meta.compression !== 'av1')) {
    const what = format === 'heif' ? `HEIF with ${String(meta.compression)} compression (HEIC)` : `${FORMAT_NAMES[format] ?? format} (sharp format '${format}')`;
    throw new Error(`readImage: ${name} is ${what}, which is not an accepted input format; accepted: ${SUPPORTED}`);
  }
  const [w0, h0] = [meta.width ?? 0, meta.height ?? 0];
  if (w0 * h0 > maxPixels) {
    throw new Error(
      `readImage: ${name} is ${w0}x${h0} = ${megapixels(w0 * h0)} (${w0 * h0} pixels), above the limit of ${megapixels(maxPixels)} (maxPixels ${maxPixels}); ` +
        'raise maxPixels (readImage / predict option, maskrcnn predict --max-pixels) only for trusted images',
    );
  }
  return { input, name, maxPixels, meta };
}

/**
 * Decodes an image file or an in-memory encoded image to 8-bit RGB.
 *
 * Errors name the file and say what is wrong: missing file, not a regular file, empty file,
 * unrecognised bytes, a format outside the accepted list (SVG, ...), more pixels than
 * `maxPixels`, corrupt data, zero-size image.
 *
 * @example
 * ```ts
 * const { data, height, width } = await readImage('images/000001.jpg');
 * const red = data[(y * width + x) * 3];
 * const big = await readImage('scan.tif', { maxPixels: 100_000_000 }); // a trusted 100 MP scan
 * ```
 */
export async function readImage(source: string | Uint8Array, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const { input, name, maxPixels } = await checkHeader(source, options);

  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // The same limit again on the decoder: the file may have changed since its header was read.
    let img = sharp(input, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 });
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
