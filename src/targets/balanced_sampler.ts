/**
 * Balanced positive/negative sampling: torchvision 0.14's `BalancedPositiveNegativeSampler`.
 *
 * Shapes: P candidates (anchors or proposals) of one image, labels `[P]`: `>= 1` positive,
 * `0` negative, anything else (-1) ignored.
 *
 * Draws up to `floor(batchSizePerImage * positiveFraction)` positives, then fills the batch with
 * negatives. Which ones are drawn comes from our seeded {@link Rng} (torchvision uses
 * `torch.randperm`, so the draws differ but the counts are the same). When a class has no more
 * candidates than its quota every candidate is taken and no random number is consumed: that
 * "take-all" regime is deterministic and is what the torchvision parity cases use.
 */
import { Rng } from '../util/random';

/** Batch size and positive share of a {@link sampleBalanced} call. */
export interface SamplerOptions {
  /** Candidates drawn per image (positives + negatives), at most. */
  readonly batchSizePerImage: number;
  /** Largest share of positives, in [0, 1]. */
  readonly positiveFraction: number;
}

/** The RPN's sampler: 256 anchors per image, at most half positive. */
export const RPN_SAMPLER_OPTIONS: SamplerOptions = { batchSizePerImage: 256, positiveFraction: 0.5 };
/** The box head's sampler: 512 proposals per image, at most a quarter positive. */
export const ROI_SAMPLER_OPTIONS: SamplerOptions = { batchSizePerImage: 512, positiveFraction: 0.25 };

/** Drawn candidates of one image, each list in increasing index order (as torchvision's masks). */
export interface SampledIndices {
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/** Throws when the options are out of range. */
export function checkSamplerOptions(o: SamplerOptions, where = 'sampleBalanced'): void {
  if (!Number.isInteger(o.batchSizePerImage) || o.batchSizePerImage < 0) {
    throw new Error(`Error in ${where}: batchSizePerImage must be a non-negative integer, got ${o.batchSizePerImage}`);
  }
  if (!(o.positiveFraction >= 0 && o.positiveFraction <= 1)) {
    throw new Error(`Error in ${where}: positiveFraction must be in [0, 1], got ${o.positiveFraction}`);
  }
}

/** `k` of `candidates`, ascending; all of them (no randomness) when k equals their number. */
function draw(candidates: number[], k: number, rng: Rng | undefined, kind: string, quota: number): Int32Array {
  if (k < candidates.length) {
    if (!rng) {
      throw new Error(
        `Error in sampleBalanced: ${candidates.length} ${kind} candidates exceed the ${quota} to draw and no Rng was given; ` +
          'pass an Rng, or a batchSizePerImage large enough to take every candidate',
      );
    }
    // Partial Fisher-Yates: the first k entries become a uniform k-subset.
    for (let i = 0; i < k; i++) {
      const j = rng.int(i, candidates.length);
      const t = candidates[i];
      candidates[i] = candidates[j];
      candidates[j] = t;
    }
  }
  return Int32Array.from(candidates.slice(0, k)).sort();
}

/**
 * Draws positives and negatives of one image.
 *
 * @param labels `[P]` labels: `>= 1` positive, `0` negative, other values ignored.
 * @param options batch size and positive fraction ({@link RPN_SAMPLER_OPTIONS}, {@link ROI_SAMPLER_OPTIONS}).
 * @param rng source of the random choice; may be omitted only when every candidate fits (take-all).
 * @returns the drawn indices, ascending.
 *
 * @example
 * ```ts
 * const s = sampleBalanced(Float32Array.of(1, 0, -1, 0), RPN_SAMPLER_OPTIONS); // take-all, no rng
 * // s.positive = [0], s.negative = [1, 3]
 * const r = sampleBalanced(labels, ROI_SAMPLER_OPTIONS, new Rng(0));
 * ```
 */
export function sampleBalanced(labels: ArrayLike<number>, options: SamplerOptions, rng?: Rng): SampledIndices {
  checkSamplerOptions(options);
  const positive: number[] = [];
  const negative: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= 1) positive.push(i);
    else if (l === 0) negative.push(i);
  }
  // int() in Python truncates the float product, as Math.floor for non-negative values.
  const posQuota = Math.floor(options.batchSizePerImage * options.positiveFraction);
  const numPos = Math.min(positive.length, posQuota);
  const negQuota = options.batchSizePerImage - numPos;
  const numNeg = Math.min(negative.length, negQuota);
  return {
    positive: draw(positive, numPos, rng, 'positive', posQuota),
    negative: draw(negative, numNeg, rng, 'negative', negQuota),
  };
}
