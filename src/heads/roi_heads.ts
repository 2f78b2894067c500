/**
 * The RoI heads of torchvision 0.14's Mask R-CNN: its two multi-scale RoIAlign poolers, the box
 * branch and the mask branch.
 *
 * At inference (`RoIHeads.forward` with training off) the model pools between
 * {@link RoIHeads.detect} and {@link RoIHeads.segment}, because the mask RoIs are the detections
 * of the first step. In training ({@link RoIHeads.trainingForward}) the heads draw their samples
 * among the proposals, pool them and compute the three RoI losses.
 *
 * Shapes: N images, R = sum Ri proposals, D = sum Di detections, K classes, C channels (256);
 * S = sum Si drawn samples, P = sum Pi positive ones, M = 28.
 *   detect:   boxFeatures [R, 7, 7, C] + proposals [Ri, 4] -> per image boxes [Di, 4],
 *             scores [Di], labels [Di]
 *   segment:  maskFeatures [D, 14, 14, C] + labels [D] -> probabilities [D, 28, 28]
 *   training: proposals [Ri * 4] + ground truth -> samples [Si * 4] -> box features [S, 7, 7, C],
 *             mask features [P, 14, 14, C] -> loss_classifier, loss_box_reg, loss_mask
 */
import * as tf from '@tensorflow/tfjs';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';
import {
  postprocessDetections,
  resolveDetectionOptions,
  type DetectionOptions,
  type DetectionRecorder,
  type ImageDetections,
  type ImageSizeHW,
  type ResolvedDetectionOptions,
} from '../postprocess/detections';
import { maskrcnnInference } from '../postprocess/mask_inference';
import { fastRcnnLoss } from '../losses/roi_losses';
import { maskRcnnLoss } from '../losses/mask_loss';
import type { Losses } from '../losses/names';
import type { FpnFeatures } from '../fpn/feature_pyramid_network';
import { MultiScaleRoIAlign } from '../roi/multi_scale_roi_align';
import { checkSamplerOptions, ROI_SAMPLER_OPTIONS, type SamplerOptions } from '../targets/balanced_sampler';
import { concatTargets } from '../targets/concat';
import { maskTargets, type MaskTargets } from '../targets/mask_targets';
import { selectRoiTrainingSamples, type RoiTargets } from '../targets/roi_targets';
import type { TrainingTarget } from '../targets/training_batch';
import type { Rng } from '../util/random';
import { BoxHead } from './box_head';
import { BoxPredictor, type BoxPredictorOutput } from './box_predictor';
import { MaskHead } from './mask_head';
import { MaskPredictor } from './mask_predictor';

/** Constructor arguments of {@link RoIHeads}; defaults are maskrcnn_resnet50_fpn's. */
export interface RoIHeadsArgs extends TorchLayerArgs {
  /** Classes K including background. Default 91. */
  numClasses?: number;
  /** Channels C of the FPN features. Default 256. */
  inChannels?: number;
  /** Pooled size of the box RoIs. Default 7. */
  boxResolution?: number;
  /** Units of fc6 / fc7. Default 1024. */
  representationSize?: number;
  /** Channels of the mask head's convs. Default [256, 256, 256, 256]. */
  maskLayers?: readonly number[];
  /** Channels after conv5_mask. Default 256. */
  maskDimReduced?: number;
  /** Box post-processing settings. Defaults: torchvision's (0.05, 0.5, 100, 1e-2). */
  detection?: DetectionOptions;
}

/**
 * Options of {@link RoIHeads.trainingForward}; defaults are torchvision's.
 *
 * @example
 * ```ts
 * const o: RoiTrainingOptions = { sampler: { batchSizePerImage: 512, positiveFraction: 0.25 }, rng: new Rng(1) };
 * ```
 */
export interface RoiTrainingOptions {
  /** Proposals drawn per image and their largest foreground fraction. Default 512, 0.25. */
  readonly sampler?: SamplerOptions;
  /** Random source of the sampler; needed unless every candidate fits in the draw. */
  readonly rng?: Rng;
}

/**
 * One image's RoI-head targets in a training step.
 *
 * @example
 * ```ts
 * image.roi.labels;      // Int32Array [Si]: classes of the drawn samples, 0 background
 * image.masks.targets;   // Float32Array [Pi * 28 * 28]: the positive samples' mask targets
 * ```
 */
export interface RoiImageTargets {
  /** The drawn samples among the proposals and the appended GT boxes. */
  readonly roi: RoiTargets;
  /** The positive samples and their mask targets. */
  readonly masks: MaskTargets;
}

/**
 * What {@link RoIHeads.trainingForward} gives: the losses (tensors, the caller's) and the
 * targets as data.
 *
 * @example
 * ```ts
 * const { losses, images } = roiHeads.trainingForward(features, proposals, sizes, targets, { rng });
 * ```
 */
export interface RoiTrainingOutputs {
  /** `loss_classifier`, `loss_box_reg` and `loss_mask`. */
  readonly losses: Losses<'loss_classifier' | 'loss_box_reg' | 'loss_mask'>;
  /** One entry per image. */
  readonly images: readonly RoiImageTargets[];
}

/**
 * The RoI poolers, box head, box predictor, mask head and mask predictor; weights under torchvision's keys
 * (`box_head.fc6.weight` ... `mask_predictor.mask_fcn_logits.bias`, prefix `roi_heads.`).
 *
 * @example
 * ```ts
 * const heads = new RoIHeads();
 * loadStateDict(heads, sd, { prefix: 'roi_heads.' });
 * const dets = await heads.detect(boxPool.forward(features, proposals), proposals, imageSizes);
 * const probs = heads.segment(maskPool.forward(features, dets.map((d) => d.predBoxes)), labels);
 * ```
 */
export class RoIHeads extends TorchLayer {
  static override readonly className = 'RoIHeads';
  readonly boxHead: BoxHead;
  readonly boxPredictor: BoxPredictor;
  readonly maskHead: MaskHead;
  readonly maskPredictor: MaskPredictor;
  readonly detectionOptions: ResolvedDetectionOptions;
  /** RoIAlign of the box branch: `[R, 7, 7, C]` from levels '0'-'3' (no weights). */
  readonly boxRoiPool: MultiScaleRoIAlign;
  /** RoIAlign of the mask branch: `[D, 14, 14, C]` from levels '0'-'3' (no weights). */
  readonly maskRoiPool: MultiScaleRoIAlign;

  constructor(args: RoIHeadsArgs = {}) {
    super({ name: args.name });
    const featmapNames = ['0', '1', '2', '3'];
    this.boxRoiPool = new MultiScaleRoIAlign({ featmapNames, outputSize: args.boxResolution ?? 7, samplingRatio: 2 });
    this.maskRoiPool = new MultiScaleRoIAlign({ featmapNames, outputSize: 14, samplingRatio: 2 });
    const c = args.inChannels ?? 256;
    const f = args.representationSize ?? 1024;
    this.detectionOptions = resolveDetectionOptions(args.detection, 'RoIHeads');
    this.boxHead = this.child('box_head', new BoxHead({ inChannels: c, resolution: args.boxResolution, representationSize: f }));
    this.boxPredictor = this.child('box_predictor', new BoxPredictor({ inChannels: f, numClasses: args.numClasses }));
    this.maskHead = this.child('mask_head', new MaskHead({ inChannels: c, layers: args.maskLayers }));
    this.maskPredictor = this.child(
      'mask_predictor',
      new MaskPredictor({ inChannels: this.maskHead.outChannels, dimReduced: args.maskDimReduced, numClasses: args.numClasses }),
    );
  }

  /** Classes K including background. */
  get numClasses(): number {
    return this.boxPredictor.numClasses;
  }

  /**
   * Box head + predictor on pooled box features. Differentiable.
   *
   * @param boxFeatures `[R, 7, 7, C]` pooled features of the proposals.
   * @returns class logits `[R, K]` and deltas `[R, 4*K]`; the caller owns them.
   */
  predictBoxes(boxFeatures: tf.Tensor4D): BoxPredictorOutput {
    const x = this.boxHead.forward(boxFeatures);
    try {
      return this.boxPredictor.forward(x);
    } finally {
      x.dispose();
    }
  }

  /**
   * Detections of a batch from the pooled features of its proposals (torchvision's box branch
   * and `postprocess_detections`).
   *
   * @param boxFeatures `[R, 7, 7, C]` pooled features, proposals of image 0 first.
   * @param proposals Per image `[Ri, 4]` xyxy proposals in resized-image pixels.
   * @param imageSizes Per image `[height, width]` after resizing.
   * @param options Overrides of this instance's {@link RoIHeads.detectionOptions}.
   * @param recorder Optional hooks that see the class probabilities, refined boxes and
   *   per-class candidates (see {@link postprocessDetections}).
   * @returns Per image detections; the caller owns the tensors.
   */
  async detect(
    boxFeatures: tf.Tensor4D,
    proposals: readonly tf.Tensor2D[],
    imageSizes: readonly ImageSizeHW[],
    options: DetectionOptions = {},
    recorder?: DetectionRecorder,
  ): Promise<ImageDetections[]> {
    const { classLogits, boxRegression } = this.predictBoxes(boxFeatures);
    try {
      return await postprocessDetections(classLogits, boxRegression, proposals, imageSizes, {
        ...this.detectionOptions,
        ...options,
      }, recorder);
    } finally {
      tf.dispose([classLogits, boxRegression]);
    }
  }

  /**
   * Mask head + predictor on pooled mask features. Differentiable.
   *
   * @param maskFeatures `[D, 14, 14, C]` pooled features.
   * @returns `[D, 28, 28, K]` mask logits; the caller owns it.
   */
  predictMasks(maskFeatures: tf.Tensor4D): tf.Tensor4D {
    const x = this.maskHead.forward(maskFeatures);
    try {
      return this.maskPredictor.forward(x);
    } finally {
      x.dispose();
    }
  }

  /**
   * Mask probabilities of the detections (torchvision's mask branch and `maskrcnn_inference`).
   *
   * @param maskFeatures `[D, 14, 14, C]` pooled features of the detected boxes, all images.
   * @param labels `[D]` int32 detected classes, in the same order.
   * @returns `[D, 28, 28]` probabilities of each detection's class; the caller owns it.
   */
  segment(maskFeatures: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor3D {
    const logits = this.predictMasks(maskFeatures);
    try {
      return maskrcnnInference(logits, labels);
    } finally {
      logits.dispose();
    }
  }

  /**
   * The RoI heads of a training step (torchvision's `RoIHeads.forward` with targets): per image
   * the ground-truth boxes join the proposals, every candidate is matched and a balanced sample
   * drawn (image by image, from `options.rng`); the samples are pooled and classified, the
   * positive ones segmented, and the three losses computed. Targets are data, so no gradient
   * flows into the boxes. Synchronous, so that it runs inside `tf.variableGrads`.
   *
   * An image without ground truth adds only background samples; a batch with no positive gives
   * `loss_box_reg = loss_mask = 0`, never NaN.
   *
   * @param features `[N, Hl, Wl, C]` per FPN level.
   * @param proposals Per image `[Ri * 4]` xyxy proposals in resized-image pixels (detached).
   * @param imageSizes `[height, width]` of each resized image before padding.
   * @param targets Each image's ground truth, masks included.
   * @returns The three losses (the caller owns them) and each image's targets as data.
   */
  trainingForward(
    features: FpnFeatures,
    proposals: readonly Float32Array[],
    imageSizes: readonly ImageSizeHW[],
    targets: readonly TrainingTarget[],
    options: RoiTrainingOptions = {},
  ): RoiTrainingOutputs {
    const where = 'RoIHeads.trainingForward';
    if (proposals.length !== targets.length || imageSizes.length !== targets.length) {
      throw new Error(`Error in ${where}: proposals (${proposals.length}), imageSizes (${imageSizes.length}) and targets (${targets.length}) must have one entry per image`);
    }
    const sampler = options.sampler ?? ROI_SAMPLER_OPTIONS;
    checkSamplerOptions(sampler, where);
    const images = targets.map((t, i): RoiImageTargets => {
      const roi = selectRoiTrainingSamples(proposals[i], t, { sampler, rng: options.rng });
      return { roi, masks: maskTargets(roi, t.masks) };
    });
    const losses = tf.tidy(() => {
      const boxFeatures = this.boxRoiPool.forward(features, boxTensors(images.map((d) => d.roi.proposals)), imageSizes); // [S, 7, 7, C]
      const { classLogits, boxRegression } = this.predictBoxes(boxFeatures); // [S, K], [S, 4K]
      const box = fastRcnnLoss(
        classLogits,
        boxRegression,
        concatTargets(images.map((d) => d.roi.labels)),
        concatTargets(images.map((d) => d.roi.regressionTargets)),
      );
      const maskFeatures = this.maskRoiPool.forward(features, boxTensors(images.map((d) => d.masks.proposals)), imageSizes); // [P, 14, 14, C]
      const maskLogits = this.predictMasks(maskFeatures); // [P, 28, 28, K]
      const mask = maskRcnnLoss(maskLogits, concatTargets(images.map((d) => d.masks.labels)), concatTargets(images.map((d) => d.masks.targets)));
      return { ...box, ...mask };
    });
    return { losses, images };
  }
}

/** `[Ri * 4]` data per image -> `[Ri, 4]` tensors (constants: no gradient flows into boxes). */
function boxTensors(boxes: readonly Float32Array[]): tf.Tensor2D[] {
  return boxes.map((b) => tf.tensor2d(b, [b.length / 4, 4]));
}
