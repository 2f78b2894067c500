/**
 * The RoI heads of torchvision 0.14's Mask R-CNN at inference (`RoIHeads.forward` with
 * training off), given pooled features: RoIAlign runs outside, between {@link RoIHeads.detect}
 * and {@link RoIHeads.segment}, because the mask RoIs are the detections of the first step.
 *
 * Shapes: N images, R = sum Ri proposals, D = sum Di detections, K classes, C channels (256).
 *   detect:   boxFeatures [R, 7, 7, C] + proposals [Ri, 4] -> per image boxes [Di, 4],
 *             scores [Di], labels [Di]
 *   segment:  maskFeatures [D, 14, 14, C] + labels [D] -> probabilities [D, 28, 28]
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
 * Box head, box predictor, mask head and mask predictor under torchvision's keys
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

  constructor(args: RoIHeadsArgs = {}) {
    super({ name: args.name });
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
}
