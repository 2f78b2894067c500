/**
 * torchvision 0.14's `ops.MultiScaleRoIAlign`: RoIAlign over an FPN, each box pooled from the
 * level chosen by {@link LevelMapper}.
 *
 * Shapes: N images, Ri boxes of image i, R = sum Ri, L levels, level l of size Hl x Wl, C
 * channels, oh x ow output size.
 *
 * Boxes are concatenated image by image (torchvision's `_convert_to_roi_format`), pooled level by
 * level, and the results put back in the concatenated order, so row r of the output is box r of
 * that concatenation, as in torchvision.
 */
import * as tf from '@tensorflow/tfjs';
import { csrMatMul } from './csr_matmul';
import { rowSelectionMatrix } from './csr_matrix';
import { LevelMapper } from './level_mapper';
import { roiAlign, RoiAlignOptions } from './roi_align';

const f32 = Math.fround;

/** Options of {@link MultiScaleRoIAlign}; the names are torchvision's. */
export interface MultiScaleRoIAlignOptions {
  /** Feature maps to pool from, e.g. `['0', '1', '2', '3']` (the FPN's `pool` level is not used). */
  readonly featmapNames: readonly string[];
  /** 7 for the box head, 14 for the mask head; a number means square. */
  readonly outputSize: number | readonly [number, number];
  /** Samples per bin per axis (2 in Mask R-CNN; `<= 0` adaptive). */
  readonly samplingRatio: number;
  /** Box size mapped to `canonicalLevel` (default 224). */
  readonly canonicalScale?: number;
  /** Level of a `canonicalScale`-sized box (default 4). */
  readonly canonicalLevel?: number;
}

/** Round half to even, as torch.round. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The scale of a feature map relative to the image, assumed to be a power of two:
 * `2 ** round(log2(featureSize / imageSize))`, with torchvision's float32 log2 and
 * round-half-to-even.
 *
 * @example
 * ```ts
 * inferScale(200, 800); // 0.25
 * inferScale(25, 800);  // 0.03125
 * ```
 */
export function inferScale(featureSize: number, imageSize: number): number {
  if (!(featureSize > 0) || !(imageSize > 0)) {
    throw new Error(`Error in inferScale: sizes must be positive, got feature ${featureSize}, image ${imageSize}`);
  }
  return 2 ** roundHalfEven(f32(Math.log2(f32(featureSize / imageSize))));
}

/**
 * Multi-scale RoIAlign pooling over named feature maps.
 *
 * As in torchvision, the scales (and the level range) are inferred on the first call from the
 * feature heights and the largest image height in `imageShapes`, and then kept for the
 * lifetime of the object.
 *
 * @example
 * ```ts
 * const pooler = new MultiScaleRoIAlign({ featmapNames: ['0', '1', '2', '3'], outputSize: 7, samplingRatio: 2 });
 * const pooled = pooler.forward(fpnFeatures, [proposals0, proposals1], [[800, 1066], [800, 1202]]);
 * // pooled: [R0 + R1, 7, 7, 256]
 * ```
 */
export class MultiScaleRoIAlign {
  readonly featmapNames: readonly string[];
  readonly outputSize: readonly [number, number];
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  private inferred: { scales: number[]; mapper: LevelMapper } | null = null;

  constructor(options: MultiScaleRoIAlignOptions) {
    const fail = (msg: string): never => {
      throw new Error(`Error in MultiScaleRoIAlign: ${msg}`);
    };
    const { featmapNames, samplingRatio } = options;
    if (!Array.isArray(featmapNames) || featmapNames.length === 0 || !featmapNames.every((n) => typeof n === 'string')) {
      fail(`featmapNames must be a non-empty list of names, got ${JSON.stringify(featmapNames)}`);
    }
    const size = typeof options.outputSize === 'number' ? [options.outputSize, options.outputSize] : options.outputSize;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) {
      fail(`outputSize must be a positive integer or two of them, got ${JSON.stringify(options.outputSize)}`);
    }
    if (!Number.isInteger(samplingRatio)) fail(`samplingRatio must be an integer, got ${samplingRatio}`);
    this.featmapNames = [...featmapNames];
    this.outputSize = [size[0], size[1]];
    this.samplingRatio = samplingRatio;
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
  }

  /** The per-level scales, once inferred by the first {@link forward} call; null before. */
  get scales(): readonly number[] | null {
    return this.inferred === null ? null : [...this.inferred.scales];
  }

  /**
   * Pools every box from its level.
   *
   * @param features maps by name, each [N, Hl, Wl, C] float32; those named in `featmapNames` are
   *   used, in the object's key order (torchvision iterates its OrderedDict the same way).
   * @param boxes per image, [Ri, 4] xyxy in the coordinates of the (resized) image.
   * @param imageShapes per image, [height, width] after resizing, before padding
   *   (torchvision passes `images.image_sizes`).
   * @param options implementation choice passed to {@link roiAlign}.
   * @param onLevels optional recorder of the level each box is pooled from (`[R]` index into the
   *   feature maps used, LevelMapper's choice), for inspection.
   * @returns [sum Ri, oh, ow, C], in the order of the concatenated boxes.
   */
  forward(
    features: Readonly<Record<string, tf.Tensor4D>>,
    boxes: readonly tf.Tensor2D[],
    imageShapes: ReadonlyArray<readonly [number, number]>,
    options: RoiAlignOptions = {},
    onLevels?: (levels: Int32Array) => void,
  ): tf.Tensor4D {
    const fail = (msg: string): never => {
      throw new Error(`Error in MultiScaleRoIAlign.forward: ${msg}`);
    };
    const names = Object.keys(features).filter((k) => this.featmapNames.includes(k));
    const missing = this.featmapNames.filter((n) => !names.includes(n));
    if (missing.length > 0) {
      fail(`feature maps ${JSON.stringify(missing)} missing; got keys ${JSON.stringify(Object.keys(features))}`);
    }
    const levels = names.map((n) => features[n]);
    levels.forEach((x, l) => {
      if (!(x instanceof tf.Tensor) || x.rank !== 4 || x.dtype !== 'float32') {
        fail(`feature map '${names[l]}' must be a float32 tensor [N, H, W, C]`);
      }
    });
    const [N, , , C] = levels[0].shape;
    levels.forEach((x, l) => {
      if (x.shape[0] !== N || x.shape[3] !== C) {
        fail(`feature map '${names[l]}' has shape [${x.shape}], expected [${N}, H, W, ${C}] like '${names[0]}'`);
      }
    });
    if (!Array.isArray(imageShapes) || imageShapes.length === 0) fail('imageShapes must not be empty');
    imageShapes.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v > 0)) {
        fail(`imageShapes[${i}] must be [height, width] positive integers, got ${JSON.stringify(s)}`);
      }
    });
    if (!Array.isArray(boxes) || boxes.length !== N) {
      fail(`boxes must hold one [Ri, 4] tensor per image (${N}), got ${Array.isArray(boxes) ? boxes.length : typeof boxes}`);
    }
    boxes.forEach((b, i) => {
      if (!(b instanceof tf.Tensor) || b.rank !== 2 || b.shape[1] !== 4) {
        fail(`boxes[${i}] must be [Ri, 4], got ${b instanceof tf.Tensor ? `[${b.shape}]` : typeof b}`);
      }
    });

    const { scales, mapper } = this.setupScales(levels, imageShapes);

    // torchvision's _convert_to_roi_format: boxes of all images, image by image.
    const R = boxes.reduce((n, b) => n + b.shape[0], 0);
    const allBoxes = new Float32Array(4 * R);
    const imageOf = new Int32Array(R);
    let at = 0;
    boxes.forEach((b, i) => {
      allBoxes.set(b.dataSync(), 4 * at);
      imageOf.fill(i, at, at + b.shape[0]);
      at += b.shape[0];
    });

    const [oh, ow] = this.outputSize;
    const align = (x: tf.Tensor4D, select: ArrayLike<number> | null, scale: number): tf.Tensor4D => {
      const idx = select === null ? null : Array.from(select);
      const b = idx === null ? allBoxes : Float32Array.from(idx.flatMap((r) => [0, 1, 2, 3].map((j) => allBoxes[4 * r + j])));
      const n = idx === null ? R : idx.length;
      const bi = idx === null ? imageOf : Int32Array.from(idx, (r) => imageOf[r]);
      return roiAlign(x, tf.tensor2d(b, [n, 4]), tf.tensor1d(bi, 'int32'), [oh, ow], scale, this.samplingRatio, false, options);
    };

    if (levels.length === 1) onLevels?.(new Int32Array(R));
    return tf.tidy(() => {
      if (levels.length === 1) return align(levels[0], null, scales[0]);
      const level = mapper.levels(allBoxes);
      onLevels?.(level.slice());
      const byLevel: number[][] = levels.map(() => []);
      for (let r = 0; r < R; r++) byLevel[level[r]].push(r);
      // Every level is pooled, even with no boxes, so every level gets a (zero) gradient.
      const pooled = levels.map((x, l) => align(x, byLevel[l], scales[l]));
      const stacked = tf.concat(pooled, 0); // [R, oh, ow, C], level by level
      // Row r of the result is box r: it sits at position where[r] of the level-sorted stack.
      const where = new Int32Array(R);
      byLevel.flat().forEach((r, pos) => {
        where[r] = pos;
      });
      const flat = tf.reshape(stacked, [R, oh * ow * C]); // [R, oh, ow, C] -> [R, oh*ow*C]
      const ordered = csrMatMul(rowSelectionMatrix(where, R), flat as tf.Tensor2D, options);
      return tf.reshape(ordered, [R, oh, ow, C]); // [R, oh*ow*C] -> [R, oh, ow, C]
    });
  }

  private setupScales(
    levels: readonly tf.Tensor4D[],
    imageShapes: ReadonlyArray<readonly [number, number]>,
  ): { scales: number[]; mapper: LevelMapper } {
    if (this.inferred !== null) {
      if (this.inferred.scales.length !== levels.length) {
        throw new Error(
          `Error in MultiScaleRoIAlign.forward: scales were inferred for ${this.inferred.scales.length} levels, got ${levels.length}`,
        );
      }
      return this.inferred;
    }
    // torchvision's _setup_scales: the largest height; only the height ratio is used.
    const maxHeight = Math.max(...imageShapes.map((s) => s[0]));
    const scales = levels.map((x) => inferScale(x.shape[1], maxHeight));
    const kMin = Math.trunc(-f32(Math.log2(f32(scales[0]))));
    const kMax = Math.trunc(-f32(Math.log2(f32(scales[scales.length - 1]))));
    const mapper = new LevelMapper({
      kMin,
      kMax,
      canonicalScale: this.canonicalScale,
      canonicalLevel: this.canonicalLevel,
    });
    this.inferred = { scales, mapper };
    return this.inferred;
  }
}
