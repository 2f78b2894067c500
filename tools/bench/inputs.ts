/**
 * The bench's inputs, written once as raw files that both workers read, so our side and
 * torchvision's see the same bytes: the inference photo (480x640 RGB), and two training photos
 * with three objects each (boxes, labels, masks).
 *
 * The training photos are resized here so that their short side is already the training size:
 * both models' resize is then the identity, and the targets, given in these pixels, need no
 * resizing on either side (torchvision resizes boxes and masks in its transform, our batch takes
 * resized-pixel targets).
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp, { type Sharp } from 'sharp';

/** One raw image: `height * width * 3` bytes, RGB, row-major. */
export interface RawImage {
  readonly file: string;
  readonly height: number;
  readonly width: number;
}

/** A training image and its ground truth, in its own pixels. */
export interface TrainImage extends RawImage {
  /** `[G][4]` xyxy boxes. */
  readonly boxes: ReadonlyArray<readonly [number, number, number, number]>;
  /** `[G]` COCO class indices (1-90). */
  readonly labels: readonly number[];
  /** `G * height * width` bytes of 0/1, mask g at offset `g * height * width`. */
  readonly masksFile: string;
}

/** manifest.json: what the workers read. */
export interface BenchInputs {
  readonly inference: RawImage;
  readonly training: readonly TrainImage[];
}

/** The inference image's size, the (a VGA photo). */
export const INFERENCE_SIZE = { height: 480, width: 640 } as const;

/** Objects of each training image: box as fractions of the width and height, class, shape. */
const OBJECTS: ReadonlyArray<ReadonlyArray<{ box: [number, number, number, number]; label: number; shape: 'ellipse' | 'rect' }>> = [
  [
    { box: [0.1, 0.15, 0.45, 0.7], label: 17, shape: 'ellipse' },
    { box: [0.5, 0.2, 0.9, 0.6], label: 1, shape: 'rect' },
    { box: [0.3, 0.6, 0.7, 0.95], label: 62, shape: 'ellipse' },
  ],
  [
    { box: [0.05, 0.1, 0.5, 0.5], label: 47, shape: 'ellipse' },
    { box: [0.55, 0.05, 0.95, 0.45], label: 3, shape: 'rect' },
    { box: [0.2, 0.55, 0.8, 0.9], label: 61, shape: 'ellipse' },
  ],
];

async function writeRaw(img: Sharp, file: string): Promise<{ height: number; width: number }> {
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`Error in bench inputs: ${file}: expected 3 channels, got ${info.channels}`);
  await fs.promises.writeFile(file, data);
  return { height: info.height, width: info.width };
}

/** Masks of `objects` on a `height x width` image: rectangles fill their box, ellipses are inscribed in it. */
function rasterize(objects: (typeof OBJECTS)[number], height: number, width: number): { boxes: TrainImage['boxes']; masks: Uint8Array } {
  const masks = new Uint8Array(objects.length * height * width);
  const boxes = objects.map((o, g) => {
    const [x1, y1, x2, y2] = [o.box[0] * width, o.box[1] * height, o.box[2] * width, o.box[3] * height];
    const [cx, cy, rx, ry] = [(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2];
    for (let y = Math.floor(y1); y < Math.ceil(y2); y++) {
      for (let x = Math.floor(x1); x < Math.ceil(x2); x++) {
        const inside = o.shape === 'rect' || ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1;
        if (inside) masks[g * height * width + y * width + x] = 1;
      }
    }
    return [x1, y1, x2, y2] as [number, number, number, number];
  });
  return { boxes, masks };
}

/**
 * Writes the inputs into `dir` and returns the path of its manifest.json.
 *
 * @param photo the inference photo, cropped and resized to 480x640.
 * @param trainPhotos two photos for the training batch, resized to a short side of `trainSize`.
 *
 * @example
 * ```ts
 * const manifest = await writeBenchInputs(tmp, { photo: 'coffee.png', trainPhotos: ['chelsea.png', 'coffee.png'], trainSize: 256 });
 * ```
 */
export async function writeBenchInputs(dir: string, o: { photo: string; trainPhotos: readonly string[]; trainSize: number }): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true });
  const inferenceFile = path.join(dir, 'inference.rgb');
  const size = await writeRaw(sharp(o.photo).resize({ ...INFERENCE_SIZE, fit: 'cover' }), inferenceFile);
  const training = await Promise.all(
    o.trainPhotos.map(async (photo, i): Promise<TrainImage> => {
      const meta = await sharp(photo).metadata();
      if (meta.height === undefined || meta.width === undefined) throw new Error(`Error in bench inputs: ${photo} has no size`);
      const scale = o.trainSize / Math.min(meta.height, meta.width);
      const [h, w] = [Math.round(meta.height * scale), Math.round(meta.width * scale)];
      const file = path.join(dir, `train_${i}.rgb`);
      await writeRaw(sharp(photo).resize({ height: h, width: w, fit: 'fill' }), file);
      const objects = OBJECTS[i % OBJECTS.length];
      const { boxes, masks } = rasterize(objects, h, w);
      const masksFile = path.join(dir, `train_${i}.masks`);
      await fs.promises.writeFile(masksFile, masks);
      return { file, height: h, width: w, boxes, labels: objects.map((x) => x.label), masksFile };
    }),
  );
  const inputs: BenchInputs = { inference: { file: inferenceFile, ...size }, training };
  const manifest = path.join(dir, 'manifest.json');
  await fs.promises.writeFile(manifest, JSON.stringify(inputs, null, 1));
  return manifest;
}

/**
 * The manifest and raw files read back: images as float32 0-1 `[H, W, 3]` values (torchvision's
 * `to_tensor` scaling), masks as bytes.
 *
 * @example
 * ```ts
 * const { inputs, inference } = readBenchInputs(manifestPath);
 * ```
 */
export function readBenchInputs(manifest: string): { inputs: BenchInputs; inference: Float32Array; training: Array<{ pixels: Float32Array; masks: Uint8Array }> } {
  const inputs = JSON.parse(fs.readFileSync(manifest, 'utf8')) as BenchInputs;
  const pixels = (img: RawImage): Float32Array => {
    const bytes = fs.readFileSync(img.file);
    if (bytes.length !== img.height * img.width * 3) throw new Error(`Error in bench inputs: ${img.file} has ${bytes.length} bytes, expected ${img.height * img.width * 3}`);
    return Float32Array.from(bytes, (b) => b / 255);
  };
  return {
    inputs,
    inference: pixels(inputs.inference),
    training: inputs.training.map((t) => ({ pixels: pixels(t), masks: new Uint8Array(fs.readFileSync(t.masksFile)) })),
  };
}
