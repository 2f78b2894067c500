/**
 * Mask R-CNN in training mode: torchvision 0.14's `GeneralizedRCNN.forward` with targets, after
 * the transform, returning the five named losses.
 *
 * Shapes: N images padded to H x W (`[N, H, W, 3]`, already normalised); L = 5 FPN levels; T
 * anchors per image (all levels); Ri proposals of image i; Si drawn box-head samples of image i,
 * S = sum Si; Pi positive samples of image i, P = sum Pi; M = 28 mask side; K classes.
 *
 * Two passes, because `tf.variableGrads` needs a synchronous function while proposal selection
 * (NMS after `data()`), matching and sampling read data:
 *
 * 1. {@link prepareTrainingTargets} (async, outside any tape): backbone and RPN head, anchors,
 *    proposals with the RPN's *training* settings (pre/post NMS 2000), RPN targets and sampling,
 *    GT boxes added to the proposals, box-head matching and sampling, mask targets. Everything
 *    it returns is plain data: proposals are detached by construction, as torchvision detaches
 *    them, and labels are assigned outside the gradient as detectron2 does under `no_grad`.
 *    {@link prepareTrainingTargetsInDetail} is the same computation keeping each image's
 *    intermediates (anchor labels before sampling, proposals, samples); `inspectTargets` shows them.
 * 2. {@link trainingLosses} (sync, differentiable): backbone, RPN head, RoIAlign of the drawn
 *    samples, box and mask heads, and the losses on the prepared targets.
 *
 * The backbone and RPN head therefore run twice per step (once to choose proposals, once on the
 * tape). That costs one extra forward pass of the backbone; torchvision does it once because
 * autograd can detach mid-graph, which tfjs cannot (no stopGradient, no async on a tape).
 */
import * as tf from '@tensorflow/tfjs';
import { FPN_LEVELS, FpnFeatures } from '../fpn/feature_pyramid_network';
import { fastRcnnLoss } from '../losses/roi_losses';
import { maskRcnnLoss } from '../losses/mask_loss';
import type { Losses } from '../losses/names';
import { rpnLosses } from '../losses/rpn_losses';
import { selectProposals } from '../rpn/proposals';
import {
  checkSamplerOptions,
  ROI_SAMPLER_OPTIONS,
  RPN_SAMPLER_OPTIONS,
  type SamplerOptions,
} from '../targets/balanced_sampler';
import { concatTargets } from '../targets/concat';
import { checkBoxArray } from '../targets/ground_truth';
import { maskTargets, type GroundTruthMasks, type MaskTargets } from '../targets/mask_targets';
import { selectRoiTrainingSamples, type RoiTargets } from '../targets/roi_targets';
import { assignRpnTargets, sampleRpnLabels, type RpnTargets } from '../targets/rpn_targets';
import type { Rng } from '../util/random';
import type { MaskRCNN } from './mask_rcnn';

/** Ground truth of one image, in the resized (unpadded) image's pixels. */
export interface TrainingTarget {
  /** `[G * 4]` xyxy boxes. */
  readonly boxes: Float32Array;
  /** `[G]` classes in `1 .. K-1`. */
  readonly labels: Int32Array;
  /** `[G]` non-zero for crowd regions (dropped from matching, see `targets/ground_truth`). */
  readonly crowd?: Uint8Array;
  /** `[G * H * W]` binary masks of the resized image (H x W = its `imageSizes` entry). */
  readonly masks: GroundTruthMasks;
}

/** A transformed training batch: what `GeneralizedRCNNTransform` produces, plus targets. */
export interface TrainingBatch {
  /** `[N, H, W, 3]` normalised images, padded to a common H x W. */
  readonly images: tf.Tensor4D;
  /** `[height, width]` of each resized image before padding. */
  readonly imageSizes: ReadonlyArray<readonly [number, number]>;
  /** One target per image; an image may have no boxes (`boxes.length === 0`). */
  readonly targets: readonly TrainingTarget[];
}

/** Options of {@link prepareTrainingTargets}; defaults are torchvision's. */
export interface TrainingLossOptions {
  /** Random source of both samplers; needed unless every candidate fits in the batch sizes. */
  readonly rng?: Rng;
  /** Anchors drawn per image for the RPN losses. Default 256. */
  readonly rpnBatchSizePerImage?: number;
  /** Largest foreground fraction of the RPN draw. Default 0.5. */
  readonly rpnPositiveFraction?: number;
  /** Proposals drawn per image for the box head. Default 512. */
  readonly roiBatchSizePerImage?: number;
  /** Largest foreground fraction of the box-head draw. Default 0.25. */
  readonly roiPositiveFraction?: number;
  /**
   * Per image `[Ri * 4]` xyxy proposals (resized-image pixels) to train the RoI heads on instead
   * of the RPN's own selection, e.g. a set held fixed over several steps. Default: the RPN's.
   */
  readonly proposals?: readonly Float32Array[];
}

/**
 * Everything the differentiable pass needs, as plain data (no tensors: nothing to dispose).
 * Arrays over the batch are image-major, as torchvision's `torch.cat` of per-image targets.
 */
export interface PreparedTargets {
  /** `[N * T]` sampled anchor labels: 1 drawn foreground, 0 drawn background, -1 not drawn. */
  readonly rpnLabels: Float32Array;
  /** `[N * T * 4]` anchor regression targets (foreground rows only are meaningful). */
  readonly rpnRegressionTargets: Float32Array;
  /** Per image `[Ri]`: proposals the RPN selected (for inspection; the losses do not use them). */
  readonly proposalCounts: readonly number[];
  /** Per image `[Si * 4]` drawn box-head samples (proposals and appended GT boxes). */
  readonly roiProposals: readonly Float32Array[];
  /** `[S]` classes of the samples, 0 background. */
  readonly roiLabels: Int32Array;
  /** `[S * 4]` box regression targets (weights 10, 10, 5, 5). */
  readonly roiRegressionTargets: Float32Array;
  /** Per image `[Pi * 4]` positive samples, the mask branch's boxes. */
  readonly maskProposals: readonly Float32Array[];
  /** `[P]` their classes. */
  readonly maskLabels: Int32Array;
  /** `[P * M * M]` soft mask targets. */
  readonly maskTargets: Float32Array;
}

const WHERE = 'prepareTrainingTargets';

function samplerOptions(batchSize: number | undefined, fraction: number | undefined, defaults: SamplerOptions, name: string): SamplerOptions {
  const o = { batchSizePerImage: batchSize ?? defaults.batchSizePerImage, positiveFraction: fraction ?? defaults.positiveFraction };
  checkSamplerOptions(o, `${WHERE} (${name})`);
  return o;
}

function checkBatch(batch: TrainingBatch, where: string): void {
  const { images, imageSizes, targets } = batch;
  if (!(images instanceof tf.Tensor) || images.rank !== 4 || images.shape[3] !== 3 || images.dtype !== 'float32') {
    throw new Error(`Error in ${where}: batch.images must be a float32 tensor [N, H, W, 3] (transformed), got ${images instanceof tf.Tensor ? `${images.dtype} [${images.shape}]` : typeof images}`);
  }
  const [n, h, w] = images.shape;
  if (n === 0) throw new Error(`Error in ${where}: batch.images holds no image ([0, H, W, 3])`);
  if (imageSizes.length !== n) throw new Error(`Error in ${where}: batch.imageSizes must have one [height, width] per image (${n}), got ${imageSizes.length}`);
  if (targets.length !== n) throw new Error(`Error in ${where}: batch.targets must have one entry per image (${n}), got ${targets.length}`);
  imageSizes.forEach(([ih, iw], i) => {
    if (!Number.isInteger(ih) || !Number.isInteger(iw) || ih <= 0 || iw <= 0 || ih > h || iw > w) {
      throw new Error(`Error in ${where}: batch.imageSizes[${i}] = [${ih}, ${iw}] must be positive integers within the padded batch [${h}, ${w}]`);
    }
  });
  targets.forEach((t, i) => {
    const g = checkBoxArray(t.boxes, where, `batch.targets[${i}].boxes`);
    if (!(t.labels instanceof Int32Array) || t.labels.length !== g) {
      throw new Error(`Error in ${where}: batch.targets[${i}].labels must be an Int32Array of ${g} classes (one per box)`);
    }
    const m = t.masks;
    if (m === undefined || m.height !== imageSizes[i][0] || m.width !== imageSizes[i][1] || m.data.length !== g * m.height * m.width) {
      throw new Error(
        `Error in ${where}: batch.targets[${i}].masks must hold ${g} masks of the image size ${imageSizes[i][0]} x ${imageSizes[i][1]} ` +
          `(data length ${g * imageSizes[i][0] * imageSizes[i][1]}), got ${m === undefined ? 'none' : `${m.height} x ${m.width}, length ${m.data.length}`}`,
      );
    }
  });
}

/**
 * Per image `[Ri * 4]` proposals with the RPN's training settings, from a tape-free forward, or
 * the `given` ones (checked), and the anchors of the batch per level (`[Al * 4]` on the
 * `[Hl, Wl]` grid of level l).
 */
async function trainingProposals(
  model: MaskRCNN,
  batch: TrainingBatch,
  given: readonly Float32Array[] | undefined,
): Promise<{ proposals: Float32Array[]; levelAnchors: Float32Array[]; gridSizes: Array<[number, number]> }> {
  const [n, height, width] = batch.images.shape;
  if (given !== undefined) {
    if (given.length !== n) throw new Error(`Error in ${WHERE}: options.proposals must have one array per image (${n}), got ${given.length}`);
    given.forEach((p, i) => checkBoxArray(p, WHERE, `options.proposals[${i}]`));
  }
  const { objectness, deltas, gridSizes } = tf.tidy(() => {
    const features = model.backbone.forward(batch.images);
    const levels = FPN_LEVELS.map((l) => features[l]);
    const gridSizes = levels.map((f) => [f.shape[1], f.shape[2]] as [number, number]);
    return given === undefined ? { ...model.rpn.head.forward(levels), gridSizes } : { objectness: [], deltas: [], gridSizes };
  });
  const levelAnchors = model.rpn.anchorGenerator.anchors(gridSizes, [height, width]);
  if (given !== undefined) return { proposals: [...given], levelAnchors, gridSizes };
  let selected: { boxes: tf.Tensor2D[]; scores: tf.Tensor1D[] };
  try {
    selected = await selectProposals(objectness, deltas, levelAnchors, batch.imageSizes, model.rpn.selection(true), model.rpn.boxCoder);
  } finally {
    tf.dispose([objectness, deltas]);
  }
  try {
    const proposals = (await Promise.all(selected.boxes.map((b) => b.data()))) as Float32Array[];
    return { proposals, levelAnchors, gridSizes };
  } finally {
    tf.dispose(selected);
  }
}

/**
 * The targets of one image, before they are concatenated over the batch.
 *
 * @example
 * ```ts
 * const { images: [first] } = await prepareTrainingTargetsInDetail(model, batch, { rng });
 * first.roi.labels; // Int32Array [S0]: classes of the first image's box-head samples
 * ```
 */
export interface ImageTrainingTargets {
  /** Every anchor's matcher label, matched GT and regression target, before sampling (`[T]`). */
  readonly rpn: RpnTargets;
  /** `[T]` after the RPN sampler: 1 drawn foreground, 0 drawn background, -1 not drawn. */
  readonly rpnSampledLabels: Float32Array;
  /** `[Ri * 4]` proposals the RoI heads were trained on (the RPN's, or `options.proposals`). */
  readonly proposals: Float32Array;
  /** The box head's drawn samples among the proposals and the appended GT boxes. */
  readonly roi: RoiTargets;
  /** The positive samples and their mask targets. */
  readonly masks: MaskTargets;
}

/**
 * {@link PreparedTargets} and how they came about, image by image.
 *
 * @example
 * ```ts
 * const detail = await prepareTrainingTargetsInDetail(model, batch, { rng });
 * detail.levelAnchors.map((a) => a.length / 4); // anchors per FPN level
 * ```
 */
export interface DetailedTrainingTargets {
  /** Exactly what {@link prepareTrainingTargets} returns for the same call. */
  readonly prepared: PreparedTargets;
  /** `[Hl, Wl]` feature grid of each FPN level. */
  readonly gridSizes: ReadonlyArray<readonly [number, number]>;
  /** Per level `[Al * 4]` xyxy anchors (the same for every image); T = sum Al, level-major. */
  readonly levelAnchors: readonly Float32Array[];
  /** One entry per image of the batch. */
  readonly images: readonly ImageTrainingTargets[];
}

/**
 * The data-dependent half of a training step with every intermediate kept: per image the anchor
 * labels before and after sampling, the proposals, the box-head samples and the mask targets.
 * {@link prepareTrainingTargets} is this function's `prepared`, so what one inspects is what one
 * trains on. Runs no tape and leaves no tensor behind.
 *
 * @param model the network (its RPN's training proposal settings are used whatever its flag).
 * @param batch transformed images, their sizes and ground truth.
 * @param options sampler sizes and the random source (drawn in the same order as the trainer).
 * @returns plain data; nothing to dispose.
 *
 * @example
 * ```ts
 * const detail = await prepareTrainingTargetsInDetail(model, batch, { rng: new Rng(1) });
 * detail.images[0].rpnSampledLabels.filter((l) => l === 1).length; // RPN positives drawn
 * const losses = trainingLosses(model, batch, detail.prepared);
 * ```
 */
export async function prepareTrainingTargetsInDetail(
  model: MaskRCNN,
  batch: TrainingBatch,
  options: TrainingLossOptions = {},
): Promise<DetailedTrainingTargets> {
  checkBatch(batch, WHERE);
  const rpnSampler = samplerOptions(options.rpnBatchSizePerImage, options.rpnPositiveFraction, RPN_SAMPLER_OPTIONS, 'rpn');
  const roiSampler = samplerOptions(options.roiBatchSizePerImage, options.roiPositiveFraction, ROI_SAMPLER_OPTIONS, 'roi');
  const { proposals, levelAnchors, gridSizes } = await trainingProposals(model, batch, options.proposals);
  const anchors = concatTargets(levelAnchors); // L x [Al * 4] -> [T * 4]

  // The rng is drawn image by image, RPN sampler then box-head sampler: the trainer's order.
  const images = batch.targets.map((t, i): ImageTrainingTargets => {
    const gt = { boxes: t.boxes, labels: t.labels, crowd: t.crowd };
    const rpn = assignRpnTargets(anchors, gt);
    const rpnSampledLabels = sampleRpnLabels(rpn.labels, rpnSampler, options.rng);
    const roi = selectRoiTrainingSamples(proposals[i], gt, { sampler: roiSampler, rng: options.rng });
    return { rpn, rpnSampledLabels, proposals: proposals[i], roi, masks: maskTargets(roi, t.masks) };
  });
  const prepared: PreparedTargets = {
    rpnLabels: concatTargets(images.map((d) => d.rpnSampledLabels)),
    rpnRegressionTargets: concatTargets(images.map((d) => d.rpn.regressionTargets)),
    proposalCounts: proposals.map((p) => p.length / 4),
    roiProposals: images.map((d) => d.roi.proposals),
    roiLabels: concatTargets(images.map((d) => d.roi.labels)),
    roiRegressionTargets: concatTargets(images.map((d) => d.roi.regressionTargets)),
    maskProposals: images.map((d) => d.masks.proposals),
    maskLabels: concatTargets(images.map((d) => d.masks.labels)),
    maskTargets: concatTargets(images.map((d) => d.masks.targets)),
  };
  return { prepared, gridSizes, levelAnchors, images };
}

/**
 * The data-dependent half of a training step: proposals, matching, sampling and every target.
 * Runs no tape and leaves no tensor behind. The same computation as
 * {@link prepareTrainingTargetsInDetail}, without the per-image detail.
 *
 * @param model the network (its RPN's training proposal settings are used whatever its flag).
 * @param batch transformed images, their sizes and ground truth.
 * @param options sampler sizes and the random source.
 * @returns plain-data targets for {@link trainingLosses}.
 *
 * @example
 * ```ts
 * const prepared = await prepareTrainingTargets(model, batch, { rng: new Rng(1) });
 * const { value, grads } = tf.variableGrads(() => {
 *   const l = trainingLosses(model, batch, prepared);
 *   return tf.addN(Object.values(l)) as tf.Scalar;
 * });
 * ```
 */
export async function prepareTrainingTargets(model: MaskRCNN, batch: TrainingBatch, options: TrainingLossOptions = {}): Promise<PreparedTargets> {
  return (await prepareTrainingTargetsInDetail(model, batch, options)).prepared;
}

/** `[Ri * 4]` data per image -> `[Ri, 4]` tensors (constants: no gradient flows into boxes). */
function boxTensors(boxes: readonly Float32Array[]): tf.Tensor2D[] {
  return boxes.map((b) => tf.tensor2d(b, [b.length / 4, 4]));
}

/**
 * The differentiable half: the five losses of torchvision 0.14's training forward on targets
 * from {@link prepareTrainingTargets}. Synchronous, so it can run inside `tf.variableGrads`.
 *
 * An image without ground truth adds only background samples: its box and mask losses are 0,
 * and a batch with no positive at all gives `loss_box_reg = loss_mask = 0`, never NaN.
 *
 * @param model the network `prepared` was computed with.
 * @param batch the same batch.
 * @param prepared its targets.
 * @returns `{ loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg, loss_mask }`
 *   scalars; the caller owns them.
 *
 * @example
 * ```ts
 * const losses = trainingLosses(model, batch, await prepareTrainingTargets(model, batch, { rng }));
 * ```
 */
export function trainingLosses(model: MaskRCNN, batch: TrainingBatch, prepared: PreparedTargets): Losses {
  const where = 'trainingLosses';
  checkBatch(batch, where);
  const n = batch.images.shape[0];
  if (prepared.roiProposals.length !== n || prepared.maskProposals.length !== n) {
    throw new Error(`Error in ${where}: prepared targets are for ${prepared.roiProposals.length} images, the batch has ${n}`);
  }
  return tf.tidy(() => {
    const features: FpnFeatures = model.backbone.forward(batch.images);
    const levels = FPN_LEVELS.map((l) => features[l]);
    const head = model.rpn.head.forward(levels);
    // torchvision's concat_box_prediction_layers: image-major, then level, then (h, w, a).
    const objectness = tf.concat(head.objectness.map((o) => tf.reshape(o, [n, -1])), 1); // [N, Hl, Wl, A] -> [N, Hl*Wl*A]; -> [N, T]
    const deltas = tf.concat(head.deltas.map((d) => tf.reshape(d, [n, -1, 4])), 1); // [N, Hl, Wl, A*4] -> [N, Hl*Wl*A, 4]; -> [N, T, 4]
    const rpn = rpnLosses(
      tf.reshape(objectness, [-1]), // [N, T] -> [N*T]
      tf.reshape(deltas, [-1, 4]), // [N, T, 4] -> [N*T, 4]
      prepared.rpnLabels,
      prepared.rpnRegressionTargets,
    );

    const boxFeatures = model.boxRoiPool.forward(features, boxTensors(prepared.roiProposals), batch.imageSizes); // [S, 7, 7, C]
    const { classLogits, boxRegression } = model.roiHeads.predictBoxes(boxFeatures);
    const box = fastRcnnLoss(classLogits, boxRegression, prepared.roiLabels, prepared.roiRegressionTargets);

    const maskFeatures = model.maskRoiPool.forward(features, boxTensors(prepared.maskProposals), batch.imageSizes); // [P, 14, 14, C]
    const maskLogits = model.roiHeads.predictMasks(maskFeatures); // [P, 28, 28, K]
    const mask = maskRcnnLoss(maskLogits, prepared.maskLabels, prepared.maskTargets);
    return { ...rpn, ...box, ...mask };
  });
}

/**
 * Both halves in one call, for callers that want the losses without gradients (evaluation of a
 * validation loss). For training, call the two halves around `tf.variableGrads`.
 *
 * @example
 * ```ts
 * const losses = await computeTrainingLosses(model, batch, { rng: new Rng(7) });
 * console.log(losses.loss_mask.dataSync()[0]);
 * tf.dispose(losses);
 * ```
 */
export async function computeTrainingLosses(model: MaskRCNN, batch: TrainingBatch, options: TrainingLossOptions = {}): Promise<Losses> {
  const prepared = await prepareTrainingTargets(model, batch, options);
  return trainingLosses(model, batch, prepared);
}
