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
 */
import { resizedSize } from '../transform/resize_rule';
import { Rle } from './mask';
import { DecodedImage } from './image_io';
import { CocoTarget } from './coco_dataset';
import { Rng } from '../util/random';

const f32 = Math.fround;

/** Per-channel normalization `(x - mean) / std` on `[0, 1]` images (RGB order). */
export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** ImageNet statistics, torchvision's `image_mean` / `image_std` for Mask R-CNN. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

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
 * Source indices of `interpolate(mode='nearest')` from `inSize` to `outSize` with no explicit
 * scale (PyTorch's `nearest_idx`: float32 `scale = in / out`, `floor(i * scale)`).
 *
 * @example
 * ```ts
 * nearestIndices(5, 3); // Int32Array [0, 1, 3]
 * ```
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  if (outSize === inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i;
  } else if (outSize === 2 * inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i >> 1;
  } else {
    const scale = f32(inSize / outSize);
    for (let i = 0; i < outSize; i++) idx[i] = Math.min(Math.floor(f32(i * scale)), inSize - 1);
  }
  return idx;
}

/**
 * Taps of `interpolate(mode='bilinear', align_corners=False)` along one axis (PyTorch's
 * `compute_indices_weights_linear`): output i reads `i0[i]` and `i1[i]` with weights `w0[i]`,
 * `w1[i]` (float32).
 *
 * @example
 * ```ts
 * bilinearTaps(2, 3); // i0 [0, 0, 1], i1 [1, 1, 1], w1 [0, 0.5, 0.1666...]
 * ```
 */
export function bilinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w0: Float32Array; w1: Float32Array } {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    let real = f32(f32(scale * f32(i + 0.5)) - 0.5);
    if (real < 0) real = 0;
    const k = Math.min(Math.floor(real), inSize - 1);
    const lambda = Math.min(Math.max(f32(real - k), 0), 1);
    i0[i] = k;
    i1[i] = k + (k < inSize - 1 ? 1 : 0);
    w0[i] = f32(1 - lambda);
    w1[i] = lambda;
  }
  return { i0, i1, w0, w1 };
}

/**
 * Bilinear resize of a `[H, W, C]` float32 image (align_corners=False, no antialiasing), as
 * torchvision's detection transform. `flip` mirrors the input horizontally first.
 *
 * @example
 * ```ts
 * const out = resizeBilinear(src, 480, 640, 3, 800, 1066); // [800, 1066, 3]
 * ```
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number, flip = false): Float32Array {
  if (src.length !== h * w * c) throw new Error(`Error in resizeBilinear: input has ${src.length} values, expected ${h}*${w}*${c}`);
  const ty = bilinearTaps(h, outH);
  const tx = bilinearTaps(w, outW);
  if (flip) {
    for (let i = 0; i < outW; i++) {
      tx.i0[i] = w - 1 - tx.i0[i];
      tx.i1[i] = w - 1 - tx.i1[i];
    }
  }
  // Separable, in PyTorch's order: each source row interpolated along W (each row once, reused
  // by every output row that reads it), then pairs of rows combined along H.
  const rowLen = outW * c;
  const rows = new Float32Array(h * rowLen); // [H, W', C]
  const needed = new Uint8Array(h); // when shrinking, some source rows are never read
  for (let y = 0; y < outH; y++) needed[ty.i0[y]] = needed[ty.i1[y]] = 1;
  for (let y = 0; y < h; y++) {
    if (!needed[y]) continue;
    const r = y * w * c;
    let o = y * rowLen;
    for (let x = 0; x < outW; x++) {
      const a = r + tx.i0[x] * c;
      const b = r + tx.i1[x] * c;
      const wx0 = tx.w0[x];
      const wx1 = tx.w1[x];
      if (c === 3) {
        rows[o] = f32(src[a] * wx0) + f32(src[b] * wx1);
        rows[o + 1] = f32(src[a + 1] * wx0) + f32(src[b + 1] * wx1);
        rows[o + 2] = f32(src[a + 2] * wx0) + f32(src[b + 2] * wx1);
        o += 3;
      } else {
        for (let k = 0; k < c; k++) rows[o++] = f32(src[a + k] * wx0) + f32(src[b + k] * wx1);
      }
    }
  }
  const out = new Float32Array(outH * rowLen); // [H', W', C]
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y] * rowLen;
    const r1 = ty.i1[y] * rowLen;
    const wy0 = ty.w0[y];
    const wy1 = ty.w1[y];
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = f32(rows[r0 + i] * wy0) + f32(rows[r1 + i] * wy1);
  }
  return out;
}

/**
 * `uint8 [H, W, 3]` -> float32 `v / 255`, then `(x - mean) / std` when given.
 *
 * @example
 * ```ts
 * toFloatImage(Uint8Array.of(0, 255, 51)); // Float32Array [0, 1, 0.2]
 * ```
 */
export function toFloatImage(data: Uint8Array, normalize?: Normalization): Float32Array {
  // A 256-entry table: the result per byte value is exactly torchvision's float32 arithmetic.
  const tables = [0, 1, 2].map((ch) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      let x = f32(v / 255);
      if (normalize) x = f32(f32(x - f32(normalize.mean[ch])) / f32(normalize.std[ch]));
      t[v] = x;
    }
    return t;
  });
  const out = new Float32Array(data.length);
  const [t0, t1, t2] = tables;
  for (let i = 0; i < data.length; i += 3) {
    out[i] = t0[data[i]];
    out[i + 1] = t1[data[i + 1]];
    out[i + 2] = t2[data[i + 2]];
  }
  return out;
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
  const src = toFloatImage(image.data, options.normalize);
  const resized = resizeBilinear(src, h, w, 3, outH, outW, flip);
  return {
    imageId: target.imageId,
    fileName: target.fileName,
    image: resized,
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
