/**
 * Training transforms applied consistently to an image, its boxes and its masks: horizontal flip,
 * multi-scale resize (torchvision's GeneralizedRCNNTransform rule) with optional scale jitter,
 * and optional normalization.
 *
 * Shorthand: H x W input image, H' x W' resized, n instances.
 *
 * Order and arithmetic follow torchvision 0.14 and its detection reference scripts:
 * 1. RandomHorizontalFlip (reference `transforms.py`): image and masks mirrored,
 *    `boxes[:, [0, 2]] = width - boxes[:, [2, 0]]`;
 * 2. ConvertImageDtype: `uint8 / 255` in float32;
 * 3. (model transform) normalize `(x - mean) / std`, then resize: the image with
 *    `interpolate(mode='bilinear', align_corners=False)`, masks with `interpolate`'s default
 *    nearest, both with `scale_factor` and `recompute_scale_factor=True`; boxes multiplied by the
 *    float32 ratios `newSize / oldSize`.
 * Every step is reproduced in float32 (`Math.fround`), so sizes, indices and box coordinates are
 * those torchvision computes.
 *
 * The image goes through the same normalise and resize as an inference image
 * (src/transform/transform_image.ts; the resize rule is src/transform/resize_rule.ts); masks need
 * a nearest resize from RLE, which only training does, so it lives here with the box arithmetic.
 */
import { nearestIndices } from '../transform/interpolate';
import type { Normalization } from '../transform/normalize';
import { resizedSize } from '../transform/resize_rule';
import { transformImage } from '../transform/transform_image';
import { Rle } from './mask';
import { DecodedImage } from './image_io';
import { CocoTarget } from './coco_sample';
import { Rng } from '../util/random';

const f32 = Math.fround;

/** Options of the training transforms (all optional). */
export interface TrainTransformOptions {
  /** Short-side sizes; one is picked uniformly per sample (multi-scale). Default `[800]`. */
  readonly minSizes?: readonly number[];
  /** Cap on the long side. Default 1333. */
  readonly maxSize?: number;
  /** Probability of a horizontal flip. Default 0.5; 0 disables. */
  readonly flipProbability?: number;
  /**
   * Scale jitter `[lo, hi]`: the picked short side and the max size are both multiplied by a
   * factor drawn uniformly in `[lo, hi]`. Default none.
   */
  readonly scaleJitter?: readonly [number, number];
  /**
   * Normalization applied before resizing (torchvision's order). Default none: image values are
   * `uint8 / 255` in [0, 1].
   */
  readonly normalize?: Normalization;
}

/** The random choices made for one sample; {@link applyTrainTransforms} is a pure function of them. */
export interface TransformParams {
  readonly flip: boolean;
  /** Short-side target and max size after scale jitter. */
  readonly minSize: number;
  readonly maxSize: number;
  /** Output size. */
  readonly height: number;
  readonly width: number;
}

/** A transformed sample, ready for the model. */
export interface TrainingSample {
  readonly imageId: number;
  readonly fileName: string;
  /** `[H', W', 3]` float32 RGB, row-major; `[0, 1]` or normalized. */
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
  /** Size before resizing. */
  readonly originalHeight: number;
  readonly originalWidth: number;
  readonly flipped: boolean;
  readonly annotationIds: Int32Array;
  /** `[n * 4]` xyxy in resized pixels. */
  readonly gtBoxes: Float32Array;
  /** `[n]` labels 1..K. */
  readonly gtLabels: Int32Array;
  /** `[n]` 1 for crowd regions (never positives). */
  readonly gtCrowd: Uint8Array;
  /** `[n, H', W']` row-major 0/1 masks. */
  readonly gtMasks: Uint8Array;
}

/**
 * Checks options and fills defaults. Throws an Error listing what is wrong.
 *
 * @example
 * ```ts
 * resolveTransformOptions({ minSizes: [640, 800] }).maxSize; // 1333
 * ```
 */
export function resolveTransformOptions(options: TrainTransformOptions = {}): Required<Omit<TrainTransformOptions, 'scaleJitter' | 'normalize'>> &
  Pick<TrainTransformOptions, 'scaleJitter' | 'normalize'> {
  const minSizes = options.minSizes ?? [800];
  const maxSize = options.maxSize ?? 1333;
  const flipProbability = options.flipProbability ?? 0.5;
  if (!Array.isArray(minSizes) || minSizes.length === 0 || !minSizes.every((s) => Number.isFinite(s) && s > 0)) {
    throw new Error(`Error in transforms: minSizes must be a non-empty list of positive numbers, got ${JSON.stringify(minSizes)}`);
  }
  if (!(Number.isFinite(maxSize) && maxSize > 0)) throw new Error(`Error in transforms: maxSize must be a positive number, got ${maxSize}`);
  if (!(flipProbability >= 0 && flipProbability <= 1)) {
    throw new Error(`Error in transforms: flipProbability must be in [0, 1], got ${flipProbability}`);
  }
  const j = options.scaleJitter;
  if (j !== undefined && !(Array.isArray(j) && j.length === 2 && j[0] > 0 && j[1] >= j[0] && Number.isFinite(j[1]))) {
    throw new Error(`Error in transforms: scaleJitter must be [lo, hi] with 0 < lo <= hi, got ${JSON.stringify(j)}`);
  }
  const n = options.normalize;
  if (n !== undefined) {
    const ok = (a: unknown): boolean => Array.isArray(a) && a.length === 3 && a.every((v) => Number.isFinite(v));
    if (!ok(n.mean) || !ok(n.std) || !n.std.every((v) => v > 0)) {
      throw new Error('Error in transforms: normalize needs mean and std of 3 finite numbers each, std > 0');
    }
  }
  return { minSizes, maxSize, flipProbability, scaleJitter: j, normalize: n };
}

/**
 * Draws the random choices for one `height x width` sample.
 *
 * @example
 * ```ts
 * const p = sampleTransformParams(new Rng(hashSeed(seed, epoch, i)), 480, 640, { minSizes: [640, 800] });
 * ```
 */
export function sampleTransformParams(rng: Rng, height: number, width: number, options: TrainTransformOptions = {}): TransformParams {
  const o = resolveTransformOptions(options);
  // Same draw order for every sample: size, jitter, flip.
  let minSize = o.minSizes.length === 1 ? o.minSizes[0] : o.minSizes[rng.int(0, o.minSizes.length)];
  let maxSize = o.maxSize;
  if (o.scaleJitter) {
    const u = rng.uniform(o.scaleJitter[0], o.scaleJitter[1]);
    minSize *= u;
    maxSize *= u;
  }
  const flip = o.flipProbability > 0 && rng.float() < o.flipProbability;
  const r = resizedSize(height, width, minSize, maxSize);
  if (r.height < 1 || r.width < 1) {
    throw new Error(`Error in transforms: a ${height}x${width} image resizes to ${r.height}x${r.width} (minSize ${minSize}, maxSize ${maxSize})`);
  }
  return { flip, minSize, maxSize, height: r.height, width: r.width };
}

/**
 * Resizes (and optionally flips) RLE masks of `h x w` straight into `[n, outH, outW]` row-major
 * 0/1 masks, with torchvision's nearest indices.
 *
 * @example
 * ```ts
 * const masks = resizeMasksNearest(target.gtMasks, 480, 640, 800, 1066, true); // [n, 800, 1066]
 * ```
 */
export function resizeMasksNearest(rles: readonly Rle[], h: number, w: number, outH: number, outW: number, flip = false): Uint8Array {
  const iy = nearestIndices(h, outH);
  const ix = nearestIndices(w, outW);
  // Nearest indices are non-decreasing, so the output rows reading source rows [y0, y1) are
  // [firstRow[y0], firstRow[y1]), and the output columns reading source column sx are
  // [firstCol[sx], firstCol[sx + 1]). Only foreground pixels are written.
  const firstRow = new Int32Array(h + 1).fill(outH);
  for (let y = outH - 1; y >= 0; y--) firstRow[iy[y]] = y;
  for (let y = h - 1; y >= 0; y--) firstRow[y] = Math.min(firstRow[y], firstRow[y + 1]);
  const firstCol = new Int32Array(w + 1).fill(outW);
  for (let x = outW - 1; x >= 0; x--) firstCol[ix[x]] = x;
  for (let x = w - 1; x >= 0; x--) firstCol[x] = Math.min(firstCol[x], firstCol[x + 1]);
  const out = new Uint8Array(rles.length * outH * outW);
  rles.forEach((rle, i) => {
    if (rle.h !== h || rle.w !== w) throw new Error(`Error in resizeMasksNearest: mask ${i} is ${rle.h}x${rle.w}, expected ${h}x${w}`);
    let total = 0;
    for (let j = 0; j < rle.counts.length; j++) total += rle.counts[j];
    if (total !== h * w) throw new Error(`Error in resizeMasksNearest: mask ${i} has runs summing to ${total}, expected h*w = ${h * w}`);
    const base = i * outH * outW;
    const counts = rle.counts;
    let p = 0;
    for (let j = 0; j < counts.length; j++) {
      const end = p + counts[j];
      if (j % 2 === 1) {
        // A run of ones over column-major positions [p, end), split by column.
        while (p < end) {
          const x = Math.floor(p / h);
          const y0 = p - x * h;
          const y1 = Math.min(h, y0 + (end - p));
          const sx = flip ? w - 1 - x : x;
          const ya = firstRow[y0];
          const yb = firstRow[y1];
          for (let xo = firstCol[sx]; xo < firstCol[sx + 1]; xo++) {
            for (let yo = ya; yo < yb; yo++) out[base + yo * outW + xo] = 1;
          }
          p += y1 - y0;
        }
      }
      p = end;
    }
  });
  return out;
}

/**
 * Flips and resizes `[n * 4]` xyxy boxes in float32 as torchvision does.
 *
 * @example
 * ```ts
 * transformBoxes(Float32Array.of(10, 5, 30, 15), 50, 100, 100, 200, true); // [140, 10, 180, 30]
 * ```
 */
export function transformBoxes(boxes: Float32Array, h: number, w: number, outH: number, outW: number, flip: boolean): Float32Array {
  const out = new Float32Array(boxes.length);
  const rh = f32(f32(outH) / f32(h));
  const rw = f32(f32(outW) / f32(w));
  for (let i = 0; i < boxes.length; i += 4) {
    let x1 = boxes[i];
    let x2 = boxes[i + 2];
    if (flip) {
      const nx1 = f32(w - x2);
      x2 = f32(w - x1);
      x1 = nx1;
    }
    out[i] = f32(x1 * rw);
    out[i + 1] = f32(boxes[i + 1] * rh);
    out[i + 2] = f32(x2 * rw);
    out[i + 3] = f32(boxes[i + 3] * rh);
  }
  return out;
}

/**
 * Applies flip + resize (+ normalization) to a decoded image and its RLE ground truth.
 *
 * @example
 * ```ts
 * const target = ds.target(i);
 * const image = await ds.readImage(i);
 * const params = sampleTransformParams(rng, target.height, target.width, opts);
 * const sample = applyTrainTransforms(image, target, params, opts);
 * sample.image; // Float32Array [H', W', 3]
 * ```
 */
export function applyTrainTransforms(
  image: DecodedImage,
  target: CocoTarget,
  params: TransformParams,
  options: TrainTransformOptions = {},
): TrainingSample {
  const { height: h, width: w } = target;
  if (image.height !== h || image.width !== w) {
    throw new Error(`Error in applyTrainTransforms: image ${target.fileName} is ${image.height}x${image.width}, its target ${h}x${w}`);
  }
  const { height: outH, width: outW, flip } = params;
  return {
    imageId: target.imageId,
    fileName: target.fileName,
    image: transformImage(image, outH, outW, options.normalize, flip),
    height: outH,
    width: outW,
    originalHeight: h,
    originalWidth: w,
    flipped: flip,
    annotationIds: target.annotationIds,
    gtBoxes: transformBoxes(target.gtBoxes, h, w, outH, outW, flip),
    gtLabels: target.gtLabels,
    gtCrowd: target.gtCrowd,
    gtMasks: resizeMasksNearest(target.gtMasks, h, w, outH, outW, flip),
  };
}
