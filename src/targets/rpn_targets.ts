/**
 * RPN training targets: torchvision 0.14's `RegionProposalNetwork.assign_targets_to_anchors`
 * (plus the `box_coder.encode` that follows it) and the per-image sampling of `compute_loss`.
 *
 * Shapes: A anchors of one image (all levels, in the anchor generator's order), G GT boxes.
 *
 * Labels are 1 (foreground: IoU >= 0.7, or the best anchor of some GT), 0 (background:
 * IoU < 0.3) and -1 (ignored: in between). An image without (non-crowd) GT is all background.
 * Runs on data, outside the gradient tape.
 */
import { BoxCoder, BoxCoderWeights, RPN_BOX_CODER_WEIGHTS } from '../boxes/box_coder';
import { Rng } from '../util/random';
import { RPN_SAMPLER_OPTIONS, SamplerOptions, sampleBalanced } from './balanced_sampler';
import { checkBoxArray, encodeRows, GroundTruth, matchToGroundTruth, nonCrowdIndices } from './ground_truth';
import { BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher, MatcherOptions, RPN_MATCHER_OPTIONS } from './matcher';

/** Options of {@link assignRpnTargets}; defaults are torchvision's. */
export interface RpnTargetOptions {
  /** Default {@link RPN_MATCHER_OPTIONS} (0.7 / 0.3, low-quality matches on). */
  readonly matcher?: MatcherOptions;
  /** Default {@link RPN_BOX_CODER_WEIGHTS} (1, 1, 1, 1). */
  readonly boxCoderWeights?: BoxCoderWeights;
}

/** Targets of every anchor of one image. */
export interface RpnTargets {
  /** `[A]` 1 foreground, 0 background, -1 ignored (float32, as torchvision's labels). */
  readonly labels: Float32Array;
  /** `[A]` matched GT index (caller numbering) or a negative {@link Matcher} code. */
  readonly matchedGtIndex: Int32Array;
  /** `[A * 4]` deltas of the matched GT box for foreground anchors, 0 elsewhere. */
  readonly regressionTargets: Float32Array;
}

/**
 * Labels and regression targets of every anchor of one image.
 *
 * @param anchors `[A * 4]` xyxy anchors.
 * @param gt the image's ground truth (labels unused; crowd boxes dropped).
 * @example
 * ```ts
 * const t = assignRpnTargets(anchors, { boxes: Float32Array.of(10, 10, 50, 40) });
 * t.labels; // Float32Array [A] of 1 / 0 / -1
 * ```
 */
export function assignRpnTargets(anchors: Float32Array, gt: GroundTruth, options: RpnTargetOptions = {}): RpnTargets {
  const where = 'assignRpnTargets';
  const numAnchors = checkBoxArray(anchors, where, 'anchors');
  const keep = nonCrowdIndices(gt, where);
  const matcher = new Matcher(options.matcher ?? RPN_MATCHER_OPTIONS);
  const matched = matchToGroundTruth(anchors, gt.boxes, keep, matcher);
  const labels = new Float32Array(numAnchors);
  const positives: number[] = [];
  for (let a = 0; a < numAnchors; a++) {
    const m = matched[a];
    if (m >= 0) {
      labels[a] = 1;
      positives.push(a);
    } else if (m === BETWEEN_THRESHOLDS) {
      labels[a] = -1;
    } else if (m !== BELOW_LOW_THRESHOLD) {
      throw new Error(`Error in ${where}: unexpected match code ${m}`);
    }
  }
  const coder = new BoxCoder(options.boxCoderWeights ?? RPN_BOX_CODER_WEIGHTS);
  const regressionTargets = encodeRows(coder, anchors, gt.boxes, matched, positives);
  return { labels, matchedGtIndex: matched, regressionTargets };
}

/**
 * Draws the anchors of one image that enter the RPN losses (torchvision: 256 per image, at most
 * half foreground) and marks the rest ignored.
 *
 * @param labels `[A]` labels from {@link assignRpnTargets}.
 * @param rng required unless every candidate fits in the batch (see {@link sampleBalanced}).
 * @returns `[A]` labels: 1 drawn foreground, 0 drawn background, -1 not drawn.
 * @example
 * ```ts
 * const sampled = sampleRpnLabels(t.labels, RPN_SAMPLER_OPTIONS, rng);
 * ```
 */
export function sampleRpnLabels(labels: Float32Array, options: SamplerOptions = RPN_SAMPLER_OPTIONS, rng?: Rng): Float32Array {
  const { positive, negative } = sampleBalanced(labels, options, rng);
  const out = new Float32Array(labels.length).fill(-1);
  for (const i of positive) out[i] = 1;
  for (const i of negative) out[i] = 0;
  return out;
}
