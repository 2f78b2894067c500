/**
 * FPN level assignment of RoIs, Eqn. (1) of Lin et al., "Feature Pyramid Networks" (2017):
 * `k = floor(k0 + log2(sqrt(w * h) / 224))`, clamped to the pyramid, as torchvision 0.14's
 * `poolers.LevelMapper` computes it: in float32, with `eps = 1e-6` added before the floor
 * (a 224x224 box must land on k0 despite float rounding).
 */

const f32 = Math.fround;

/** Options of {@link LevelMapper}; the defaults are torchvision's. */
export interface LevelMapperOptions {
  /** Finest level index k_min (2 for a stride-4 map). */
  readonly kMin: number;
  /** Coarsest level index k_max (5 for a stride-32 map). */
  readonly kMax: number;
  /** Box size that maps to `canonicalLevel` (default 224). */
  readonly canonicalScale?: number;
  /** k0 (default 4). */
  readonly canonicalLevel?: number;
  /** Added before the floor (default 1e-6, rounded to float32 as torch does). */
  readonly eps?: number;
}

/**
 * Maps boxes to pyramid levels.
 *
 * @example
 * ```ts
 * const mapper = new LevelMapper({ kMin: 2, kMax: 5 });
 * mapper.levels(Float32Array.of(0, 0, 224, 224, 0, 0, 32, 32)); // Int32Array [2, 0]
 * ```
 */
export class LevelMapper {
  readonly kMin: number;
  readonly kMax: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  readonly eps: number;

  constructor(options: LevelMapperOptions) {
    const { kMin, kMax } = options;
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
    this.eps = options.eps ?? 1e-6;
    if (!Number.isInteger(kMin) || !Number.isInteger(kMax) || kMin > kMax) {
      throw new Error(`Error in LevelMapper: kMin and kMax must be integers with kMin <= kMax, got ${kMin}, ${kMax}`);
    }
    if (!(this.canonicalScale > 0)) {
      throw new Error(`Error in LevelMapper: canonicalScale must be positive, got ${this.canonicalScale}`);
    }
    if (!Number.isFinite(this.canonicalLevel) || !Number.isFinite(this.eps)) {
      throw new Error(`Error in LevelMapper: canonicalLevel and eps must be finite numbers`);
    }
    this.kMin = kMin;
    this.kMax = kMax;
  }

  /**
   * Level of each box, relative to `kMin` (0 = finest map).
   *
   * @param boxes [R*4] xyxy in image coordinates (float32 values).
   * @returns [R] int32 in `[0, kMax - kMin]`. A degenerate box (zero area) maps to 0; a box with
   * negative area (NaN size; undefined behaviour in torchvision) maps to 0 as well.
   */
  levels(boxes: ArrayLike<number>): Int32Array {
    if (boxes.length % 4 !== 0) {
      throw new Error(`Error in LevelMapper: boxes must hold 4 numbers per box, got ${boxes.length} numbers`);
    }
    const R = boxes.length / 4;
    const out = new Int32Array(R);
    const s0 = f32(this.canonicalScale);
    const eps = f32(this.eps);
    for (let r = 0; r < R; r++) {
      const w = f32(f32(boxes[4 * r + 2]) - f32(boxes[4 * r]));
      const h = f32(f32(boxes[4 * r + 3]) - f32(boxes[4 * r + 1]));
      const s = f32(Math.sqrt(f32(w * h)));
      const k = Math.floor(f32(f32(this.canonicalLevel + f32(Math.log2(f32(s / s0)))) + eps));
      const clamped = Number.isNaN(k) ? this.kMin : Math.min(Math.max(k, this.kMin), this.kMax);
      out[r] = clamped - this.kMin;
    }
    return out;
  }
}
