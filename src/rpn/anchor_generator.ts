/**
 * Anchors of the RPN, as torchvision 0.14's `AnchorGenerator`.
 *
 * Shapes: L FPN levels; level l has an Hl x Wl grid and A = sizes x ratios anchors per location;
 * anchors of a level are `[Hl*Wl*A, 4]` xyxy in pixels of the padded batch image, ordered by
 * location (y-major, then x) and then by base anchor, which is the order the RPN head's NHWC
 * output flattens to.
 */
import * as tf from '@tensorflow/tfjs';

const f32 = Math.fround;

/** torch.round: round half to even (`Math.round` rounds half up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Zero-centred anchors of one level, `[S*R, 4]` flattened, ordered ratio-major (for each aspect
 * ratio, each size) as torchvision's `generate_anchors`.
 *
 * Aspect ratio is height / width. torchvision computes in float32 and rounds the corners to
 * integers (half to even), so we do too: the 0.5-ratio anchor of size 32 is
 * `[-23, -11, 23, 11]`, not `[-22.6, -11.3, 22.6, 11.3]`.
 *
 * @example
 * ```ts
 * baseAnchors([32], [0.5, 1, 2]);
 * // Float32Array [-23, -11, 23, 11,  -16, -16, 16, 16,  -11, -23, 11, 23]
 * ```
 */
export function baseAnchors(sizes: readonly number[], aspectRatios: readonly number[]): Float32Array {
  for (const [name, values] of [
    ['sizes', sizes],
    ['aspectRatios', aspectRatios],
  ] as const) {
    if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
      throw new Error(`Error in baseAnchors: ${name} must be a non-empty list of positive numbers, got [${values}]`);
    }
  }
  const out = new Float32Array(sizes.length * aspectRatios.length * 4);
  let k = 0;
  for (const ratio of aspectRatios) {
    const hRatio = f32(Math.sqrt(f32(ratio)));
    const wRatio = f32(1 / hRatio);
    for (const size of sizes) {
      const ws = f32(wRatio * f32(size));
      const hs = f32(hRatio * f32(size));
      // stack([-ws, -hs, ws, hs]) / 2 in float32, then round
      for (const v of [-ws, -hs, ws, hs]) out[k++] = roundHalfEven(f32(v / 2));
    }
  }
  return out;
}

/**
 * Anchors of one level: the base anchors shifted to every grid location.
 *
 * Shift of location (y, x) is `(x * strideW, y * strideH)`: torchvision places anchor centres at
 * the top-left corner of each cell, not at its centre.
 *
 * @param gridSize `[Hl, Wl]` of the feature map.
 * @param stride `[strideH, strideW]` in pixels (see {@link levelStride}).
 * @param base `[A*4]` zero-centred anchors from {@link baseAnchors}.
 * @returns `[Hl*Wl*A*4]`: location-major, then base anchor.
 *
 * @example
 * ```ts
 * gridAnchors([1, 2], [16, 16], Float32Array.of(-8, -8, 8, 8));
 * // Float32Array [-8, -8, 8, 8,  8, -8, 24, 8]
 * ```
 */
export function gridAnchors(
  gridSize: readonly [number, number],
  stride: readonly [number, number],
  base: Float32Array,
): Float32Array {
  const [gh, gw] = gridSize;
  const [sh, sw] = stride;
  if (![gh, gw, sh, sw].every((v) => Number.isInteger(v) && v >= 0) || base.length % 4 !== 0) {
    throw new Error(
      `Error in gridAnchors: gridSize and stride must be non-negative integers and base hold 4 values per anchor, got gridSize [${gridSize}], stride [${stride}], ${base.length} base values`,
    );
  }
  const a = base.length / 4;
  const out = new Float32Array(gh * gw * a * 4);
  let k = 0;
  // (shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4): locations outer, anchors inner
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const shift = [x * sw, y * sh, x * sw, y * sh];
      for (let j = 0; j < a; j++) for (let c = 0; c < 4; c++) out[k++] = shift[c] + base[4 * j + c];
    }
  }
  return out;
}

/**
 * Stride of a level as torchvision computes it: integer division of the padded batch size by
 * the grid size (`64 // 1 = 64` but `96 // 2 = 48` for a 1x2 grid on a 64x96 batch).
 *
 * @example
 * ```ts
 * levelStride([800, 1088], [200, 272]); // [4, 4]
 * ```
 */
export function levelStride(
  batchShape: readonly [number, number],
  gridSize: readonly [number, number],
): [number, number] {
  const [h, w] = batchShape;
  const [gh, gw] = gridSize;
  if (!(gh > 0 && gw > 0 && h > 0 && w > 0)) {
    throw new Error(
      `Error in levelStride: batchShape and gridSize must be positive, got batchShape [${batchShape}], gridSize [${gridSize}]`,
    );
  }
  return [Math.floor(h / gh), Math.floor(w / gw)];
}

/** Options of {@link AnchorGenerator}. */
export interface AnchorGeneratorOptions {
  /** Anchor sizes (sqrt of area, pixels) per level. Default `[[32], [64], [128], [256], [512]]`. */
  readonly sizes?: ReadonlyArray<readonly number[]>;
  /** Aspect ratios (height / width) per level. Default `[0.5, 1, 2]` on every level. */
  readonly aspectRatios?: ReadonlyArray<readonly number[]>;
}

/** maskrcnn_resnet50_fpn's anchor sizes, one per FPN level '0', '1', '2', '3', 'pool'. */
export const DEFAULT_ANCHOR_SIZES: ReadonlyArray<readonly number[]> = [[32], [64], [128], [256], [512]];
/** maskrcnn_resnet50_fpn's aspect ratios, the same on every level. */
export const DEFAULT_ASPECT_RATIOS: readonly number[] = [0.5, 1, 2];

/**
 * Generates the anchors of every FPN level for a padded batch.
 *
 * Anchors depend only on the grid size and stride of each level, so they are computed once per
 * (level, grid size, stride) and kept as plain arrays; tensors are made on request.
 *
 * @example
 * ```ts
 * const gen = new AnchorGenerator();
 * const levels = gen.anchors([[16, 24], [8, 12], [4, 6], [2, 3], [1, 2]], [64, 96]);
 * levels[0].length / 4; // 16 * 24 * 3 = 1152 anchors
 * ```
 */
export class AnchorGenerator {
  readonly sizes: ReadonlyArray<readonly number[]>;
  readonly aspectRatios: ReadonlyArray<readonly number[]>;
  /** `[A*4]` zero-centred anchors per level. */
  readonly cellAnchors: readonly Float32Array[];
  private readonly cache = new Map<string, Float32Array>();

  constructor(options: AnchorGeneratorOptions = {}) {
    this.sizes = options.sizes ?? DEFAULT_ANCHOR_SIZES;
    this.aspectRatios = options.aspectRatios ?? this.sizes.map(() => DEFAULT_ASPECT_RATIOS);
    if (this.sizes.length === 0 || this.sizes.length !== this.aspectRatios.length) {
      throw new Error(
        `Error in AnchorGenerator: sizes and aspectRatios must list the same non-zero number of levels, got ${this.sizes.length} and ${this.aspectRatios.length}`,
      );
    }
    this.cellAnchors = this.sizes.map((s, l) => baseAnchors(s, this.aspectRatios[l]));
  }

  /** Number of levels. */
  get numLevels(): number {
    return this.sizes.length;
  }

  /** A per level: sizes x aspect ratios. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, l) => s.length * this.aspectRatios[l].length);
  }

  /**
   * Anchors of every level, `[Hl*Wl*A*4]` each; the same for every image of the batch.
   * The returned arrays are shared with the cache: do not modify them.
   *
   * @param gridSizes `[Hl, Wl]` per level.
   * @param batchShape `[H, W]` of the padded batch image.
   */
  anchors(gridSizes: ReadonlyArray<readonly [number, number]>, batchShape: readonly [number, number]): Float32Array[] {
    if (gridSizes.length !== this.numLevels) {
      throw new Error(
        `Error in AnchorGenerator.anchors: expected ${this.numLevels} grid sizes (one per level), got ${gridSizes.length}`,
      );
    }
    return gridSizes.map((grid, l) => {
      const stride = levelStride(batchShape, grid);
      const key = `${l}:${grid[0]}x${grid[1]}:${stride[0]}x${stride[1]}`;
      let anchors = this.cache.get(key);
      if (!anchors) {
        anchors = gridAnchors(grid, stride, this.cellAnchors[l]);
        this.cache.set(key, anchors);
      }
      return anchors;
    });
  }

  /**
   * {@link AnchorGenerator.anchors} as tensors, `[Hl*Wl*A, 4]` per level; the caller owns them.
   */
  anchorTensors(
    gridSizes: ReadonlyArray<readonly [number, number]>,
    batchShape: readonly [number, number],
  ): tf.Tensor2D[] {
    return this.anchors(gridSizes, batchShape).map((a) => tf.tensor2d(a, [a.length / 4, 4]));
  }
}
