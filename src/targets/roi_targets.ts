/**
 * Box-head training samples: torchvision 0.14's `RoIHeads.select_training_samples`
 * (add_gt_proposals, assign_targets_to_proposals, subsample, encode) for one image.
 *
 * Shapes: R proposals from the RPN, G GT boxes, R' = R + G' candidates (G' non-crowd GT boxes
 * appended, as torchvision does so every GT has at least one perfect proposal), S drawn samples.
 *
 * Labels are the matched GT's class (IoU >= 0.5), 0 for background (IoU < 0.5); with the box
 * head's single threshold nothing is ignored. Regression targets use weights (10, 10, 5, 5).
 * Runs on data, outside the gradient tape.
 */
import { BoxCoder, BoxCoderWeights, ROI_BOX_CODER_WEIGHTS } from '../boxes/box_coder';
import { Rng } from '../util/random';
import { ROI_SAMPLER_OPTIONS, SamplerOptions, sampleBalanced } from './balanced_sampler';
import { checkBoxArray, encodeRows, GroundTruth, matchToGroundTruth, nonCrowdIndices, pickBoxes } from './ground_truth';
import { BETWEEN_THRESHOLDS, Matcher, MatcherOptions, ROI_MATCHER_OPTIONS } from './matcher';

/** Options of {@link selectRoiTrainingSamples}; defaults are torchvision's. */
export interface RoiTargetOptions {
  /** Default {@link ROI_MATCHER_OPTIONS} (0.5 / 0.5, no low-quality matches). */
  readonly matcher?: MatcherOptions;
  /** Default {@link ROI_SAMPLER_OPTIONS} (512 per image, a quarter positive). */
  readonly sampler?: SamplerOptions;
  /** Default {@link ROI_BOX_CODER_WEIGHTS} (10, 10, 5, 5). */
  readonly boxCoderWeights?: BoxCoderWeights;
  /** Random source of the sampler; may be omitted when every candidate fits (take-all). */
  readonly rng?: Rng;
}

/** The drawn samples of one image, in increasing candidate order (as torchvision). */
export interface RoiTargets {
  /** `[S]` rows of the candidates (proposals, then appended GT boxes) that were drawn. */
  readonly sampledIndices: Int32Array;
  /** `[S * 4]` xyxy boxes of the samples. */
  readonly proposals: Float32Array;
  /** `[S]` class of the matched GT, 0 for background. */
  readonly labels: Int32Array;
  /**
   * `[S]` matched GT index (caller numbering). For background samples it is torchvision's
   * `clamp(min=0)` of the match code: the first non-crowd GT, or 0 without GT; do not use it there.
   */
  readonly matchedGtIndex: Int32Array;
  /** `[S * 4]` deltas of the matched GT box for positive samples, 0 for background. */
  readonly regressionTargets: Float32Array;
}

/**
 * Appends the GT boxes to the proposals, matches, draws the samples and computes their targets.
 *
 * @param proposals `[R * 4]` xyxy proposals of one image (detached RPN output).
 * @param gt the image's ground truth; `labels` required, crowd boxes dropped.
 * @example
 * ```ts
 * const t = selectRoiTrainingSamples(proposals, { boxes, labels }, { rng });
 * t.labels; // Int32Array [S], S <= 512
 * ```
 */
export function selectRoiTrainingSamples(proposals: Float32Array, gt: GroundTruth, options: RoiTargetOptions = {}): RoiTargets {
  const where = 'selectRoiTrainingSamples';
  const numProposals = checkBoxArray(proposals, where, 'proposals');
  const keep = nonCrowdIndices(gt, where, true);
  const gtLabels = gt.labels as ArrayLike<number>;
  // add_gt_proposals: [R * 4] ++ [G' * 4] -> [R' * 4]
  const candidates = new Float32Array((numProposals + keep.length) * 4);
  candidates.set(proposals);
  candidates.set(pickBoxes(gt.boxes, keep), proposals.length);
  const matcher = new Matcher(options.matcher ?? ROI_MATCHER_OPTIONS);
  const matched = matchToGroundTruth(candidates, gt.boxes, keep, matcher);
  const numCandidates = numProposals + keep.length;
  const labels = new Int32Array(numCandidates);
  for (let i = 0; i < numCandidates; i++) {
    const m = matched[i];
    labels[i] = m >= 0 ? gtLabels[m] : m === BETWEEN_THRESHOLDS ? -1 : 0;
  }
  const { positive, negative } = sampleBalanced(labels, options.sampler ?? ROI_SAMPLER_OPTIONS, options.rng);
  const sampledIndices = Int32Array.from([...positive, ...negative]).sort();
  const S = sampledIndices.length;
  const clampTo = keep.length > 0 ? keep[0] : 0;
  const sLabels = new Int32Array(S);
  const sMatched = new Int32Array(S);
  const positiveRows: number[] = [];
  for (let s = 0; s < S; s++) {
    const i = sampledIndices[s];
    sLabels[s] = labels[i];
    sMatched[s] = matched[i] >= 0 ? matched[i] : clampTo;
    // A positive is a sample matched to a GT; a GT of class 0 would count as background, as in
    // torchvision, whose sampler and losses key on label >= 1.
    if (labels[i] >= 1) positiveRows.push(s);
  }
  const sProposals = pickBoxes(candidates, sampledIndices);
  const coder = new BoxCoder(options.boxCoderWeights ?? ROI_BOX_CODER_WEIGHTS);
  const regressionTargets = encodeRows(coder, sProposals, gt.boxes, sMatched, positiveRows);
  return { sampledIndices, proposals: sProposals, labels: sLabels, matchedGtIndex: sMatched, regressionTargets };
}
