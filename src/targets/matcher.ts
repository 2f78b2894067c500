/**
 * Proposal matcher: torchvision 0.14's `det_utils.Matcher`, on plain data.
 *
 * Shapes: G ground-truth boxes, P predictions (anchors or proposals); the quality matrix is
 * `[G, P]` row-major (IoU of every GT with every prediction), the result `[P]`.
 *
 * Each prediction takes the GT of highest quality (the first GT on ties). Below `lowThreshold`
 * it becomes {@link BELOW_LOW_THRESHOLD}, in `[lowThreshold, highThreshold)` it becomes
 * {@link BETWEEN_THRESHOLDS}. With `allowLowQualityMatches` (the RPN), every prediction whose
 * quality equals some GT's best quality gets its own best GT back, however low, ties included
 * (Faster R-CNN §3.1.2: "the anchor with the highest IoU overlap with a ground-truth box").
 *
 * Quirks kept for parity: comparisons are in float32 (torch compares a float32 tensor with the
 * threshold rounded to float32); NaN qualities win a max as in torch, and a NaN never equals a
 * GT's best quality. Runs outside the gradient tape: matching is data, not differentiated.
 */

/** Match value of a prediction whose best quality is below the low threshold (background). */
export const BELOW_LOW_THRESHOLD = -1;
/** Match value of a prediction whose best quality is between the thresholds (ignored). */
export const BETWEEN_THRESHOLDS = -2;

/** Thresholds of a {@link Matcher}. */
export interface MatcherOptions {
  /** Qualities `>=` this are matches. */
  readonly highThreshold: number;
  /** Qualities `<` this are background; between the two, ignored. Must be `<= highThreshold`. */
  readonly lowThreshold: number;
  /** Give each GT its best predictions even below the thresholds (see the file comment). */
  readonly allowLowQualityMatches: boolean;
}

/** The RPN's matcher: foreground at IoU >= 0.7, background below 0.3, low-quality matches on. */
export const RPN_MATCHER_OPTIONS: MatcherOptions = { highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true };
/** The box head's matcher: foreground at IoU >= 0.5, background below. */
export const ROI_MATCHER_OPTIONS: MatcherOptions = { highThreshold: 0.5, lowThreshold: 0.5, allowLowQualityMatches: false };

/** NaN wins, then the larger value; ties keep the earlier index (torch's max over a dim). */
function beats(v: number, best: number): boolean {
  return !Number.isNaN(best) && (Number.isNaN(v) || v > best);
}

/**
 * Assigns to each prediction the index of its ground truth, or a negative code.
 *
 * @example
 * ```ts
 * const matcher = new Matcher(RPN_MATCHER_OPTIONS);
 * // 2 GT x 3 anchors
 * matcher.match(Float32Array.of(0.8, 0.1, 0.2, 0.0, 0.5, 0.25), 2, 3); // Int32Array [0, -2, 1]
 * ```
 */
export class Matcher {
  private readonly high: number;
  private readonly low: number;

  constructor(readonly options: MatcherOptions) {
    const { highThreshold, lowThreshold, allowLowQualityMatches } = options;
    if (!Number.isFinite(highThreshold) || !Number.isFinite(lowThreshold)) {
      throw new Error(`Error in Matcher: thresholds must be finite numbers, got high=${highThreshold}, low=${lowThreshold}`);
    }
    if (lowThreshold > highThreshold) {
      throw new Error(`Error in Matcher: lowThreshold (${lowThreshold}) must be <= highThreshold (${highThreshold})`);
    }
    if (typeof allowLowQualityMatches !== 'boolean') {
      throw new Error(`Error in Matcher: allowLowQualityMatches must be a boolean, got ${String(allowLowQualityMatches)}`);
    }
    this.high = Math.fround(highThreshold);
    this.low = Math.fround(lowThreshold);
  }

  /**
   * @param quality `[G, P]` row-major match quality (IoU), float32 values.
   * @param numGt G. With G = 0 every prediction is background (torchvision's RPN and RoI heads
   *   special-case an image without ground truth that way; its Matcher itself would throw).
   * @param numPred P (may be 0).
   * @returns `[P]` GT index in `[0, G)`, {@link BELOW_LOW_THRESHOLD} or {@link BETWEEN_THRESHOLDS}.
   */
  match(quality: ArrayLike<number>, numGt: number, numPred: number): Int32Array {
    for (const [name, v] of [
      ['numGt', numGt],
      ['numPred', numPred],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Error in Matcher.match: ${name} must be a non-negative integer, got ${v}`);
    }
    if (quality.length !== numGt * numPred) {
      throw new Error(`Error in Matcher.match: quality must hold numGt * numPred = ${numGt * numPred} values ([G, P] row-major), got ${quality.length}`);
    }
    const P = numPred;
    const matches = new Int32Array(P);
    if (numGt === 0) {
      matches.fill(BELOW_LOW_THRESHOLD);
      return matches;
    }
    // Best GT of each prediction (max over dim 0).
    const best = new Float64Array(P);
    for (let p = 0; p < P; p++) best[p] = quality[p];
    for (let g = 1; g < numGt; g++) {
      const row = g * P;
      for (let p = 0; p < P; p++) {
        const v = quality[row + p];
        if (beats(v, best[p])) {
          best[p] = v;
          matches[p] = g;
        }
      }
    }
    const allMatches = this.options.allowLowQualityMatches ? matches.slice() : undefined;
    for (let p = 0; p < P; p++) {
      const v = best[p];
      if (v < this.low) matches[p] = BELOW_LOW_THRESHOLD;
      else if (v >= this.low && v < this.high) matches[p] = BETWEEN_THRESHOLDS;
    }
    if (allMatches) {
      for (let g = 0; g < numGt; g++) {
        const row = g * P;
        let top = quality[row];
        for (let p = 1; p < P; p++) if (beats(quality[row + p], top)) top = quality[row + p];
        // Every prediction tied at the GT's best quality (NaN equals nothing).
        for (let p = 0; p < P; p++) if (quality[row + p] === top) matches[p] = allMatches[p];
      }
    }
    return matches;
  }
}
