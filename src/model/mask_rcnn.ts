/**
 * Mask R-CNN (He et al. 2017) as torchvision's GeneralizedRCNN composes it: transform, backbone,
 * RPN, RoI heads, post-processing. Weights carry torchvision's keys (`backbone.*`, `rpn.*`,
 * `roi_heads.*`), so a torchvision checkpoint loads as it is.
 *
 * Shapes: N images of sizes Hi x Wi; batch [N, H, W, 3] (resized, padded to a multiple of 32);
 * FPN levels '0'..'pool' [N, H/4 .. H/64, W/4 .. W/64, C] (C = fpnChannels, 256); P proposals per image;
 * D detections per image (boxes [D, 4] in original pixels); masks one crop per detection.
 *
 * Inference ({@link MaskRCNN.forward}, {@link MaskRCNN.stages}) and training
 * ({@link MaskRCNN.trainingForward}) run the same stage objects: `backbone`, `rpn`, `roiHeads`.
 */
import * as tf from '@tensorflow/tfjs';
import { BackboneWithFpn } from '../backbone/backbone_with_fpn';
import type { ResNetDepth } from '../backbone/resnet';
import type { BackboneNorm } from '../backbone/batch_norm';
import type { FpnFeatures } from '../fpn/feature_pyramid_network';
import { RoIHeads } from '../heads/roi_heads';
import { TorchLayer, TorchLayerArgs, withInitializationSeed } from '../nn/torch_layer';
import { DetectionOptions, disposeDetections, ImageDetections } from '../postprocess/detections';
import { MaskCrop, pasteMasks } from '../postprocess/paste_masks';
import { resizeBoxes } from '../postprocess/resize_boxes';
import type { MultiScaleRoIAlign } from '../roi/multi_scale_roi_align';
import { RegionProposalNetwork, RegionProposalNetworkOptions } from '../rpn/region_proposal_network';
import { GeneralizedRCNNTransform, TransformedBatch, TransformOptions } from '../transform/generalized_rcnn_transform';
import { StageClock } from './stage_clock';
import type { StageRecorder } from './stage_recorder';
import {
  checkGivenProposals,
  checkTrainingBatch,
  trainingSamplers,
  type TrainingBatch,
  type TrainingForward,
  type TrainingForwardOptions,
  type TrainingTargets,
} from './training_forward';

/** Configuration of {@link MaskRCNN}; every field defaults to maskrcnn_resnet50_fpn's. */
export interface MaskRCNNConfig {
  /** Classes including the background; default 91 (COCO as torchvision numbers it). */
  numClasses?: number;
  /**
   * ResNet depth of the backbone: 50 (default) or 101 (bottleneck blocks), 18 or 34 (basic
   * blocks), as torchvision's `resnet_fpn_backbone(backbone_name=...)`.
   */
  depth?: ResNetDepth;
  /**
   * Channels of the FPN levels, and so of the RPN head, the box head's input and the mask head's
   * input (torchvision's `BackboneWithFPN(out_channels=...)`); default 256.
   */
  fpnChannels?: number;
  /** Units of the box head's two fully connected layers (`TwoMLPHead` representation_size); default 1024. */
  representationSize?: number;
  /** Output channels of the mask head's 3x3 convs (`MaskRCNNHeads` layers); default [256, 256, 256, 256]. */
  maskLayers?: readonly number[];
  /** Channels of the mask predictor's transposed conv (`MaskRCNNPredictor` dim_reduced); default 256. */
  maskDimReduced?: number;
  /** Trainable ResNet stages from the top, 0-5; default 3. */
  trainableBackboneLayers?: number;
  /**
   * The ResNet body's norm layers: `frozen` (default; FrozenBatchNorm2d, torchvision's choice for
   * a pretrained backbone) or `batch` (BatchNorm2d, torchvision's when the backbone trains from
   * scratch: batch statistics while training, running statistics otherwise). Inference is the
   * same function of the weights either way.
   */
  backboneNorm?: BackboneNorm;
  /** Preprocessing: minSize 800, maxSize 1333, ImageNet mean/std. */
  transform?: TransformOptions;
  /** RPN settings (anchor sizes, top-n, NMS). */
  rpn?: Omit<RegionProposalNetworkOptions, 'name'>;
  /** Box post-processing: scoreThresh 0.05, nmsThresh 0.5, detectionsPerImg 100. */
  detection?: DetectionOptions;
  /**
   * Seed of the random initialisation: the same seed and config give bit-identical initial
   * weights. Default unseeded (tfjs seeds each initializer from `Math.random`).
   */
  initSeed?: number;
}

/** One image's detections in its original pixel coordinates; the caller owns the tensors. */
export interface MaskRCNNDetections {
  /** `[D, 4]` xyxy boxes in original-image pixels, by decreasing score. */
  readonly boxes: tf.Tensor2D;
  /** `[D]` scores. */
  readonly scores: tf.Tensor1D;
  /** `[D]` int32 labels in 1 .. numClasses - 1. */
  readonly labels: tf.Tensor1D;
  /** One pasted probability crop per detection (torchvision's paste_masks_in_image). */
  readonly masks: MaskCrop[];
  /** `[height, width]` of the original image. */
  readonly imageSize: [number, number];
}

/** What {@link MaskRCNN.forward} can also hand back for inspection, stage by stage. */
export interface MaskRCNNStages {
  readonly batch: TransformedBatch;
  readonly features: FpnFeatures;
  /** `[P, 4]` proposals per image, resized-image pixels. */
  readonly proposals: tf.Tensor2D[];
  /** Detections in resized-image pixels, before mapping back. */
  readonly detections: ImageDetections[];
  /** `[D, 28, 28]` mask probabilities of all images' detections, in order. */
  readonly maskProbs: tf.Tensor3D;
}

/**
 * The full model.
 *
 * @example
 * ```ts
 * const model = new MaskRCNN();
 * loadStateDict(model, await readTorchStateDict('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth'));
 * const [dets] = await model.forward([image]); // image: tf.Tensor3D [H, W, 3] int32 0-255
 * ```
 */
export class MaskRCNN extends TorchLayer {
  static override readonly className = 'MaskRCNN';
  readonly config: MaskRCNNConfig;
  readonly transform: GeneralizedRCNNTransform;
  readonly backbone: BackboneWithFpn;
  readonly rpn: RegionProposalNetwork;
  readonly roiHeads: RoIHeads;

  constructor(config: MaskRCNNConfig = {}, args: TorchLayerArgs = {}) {
    super({ name: args.name });
    this.config = config;
    this.transform = new GeneralizedRCNNTransform(config.transform);
    const layers = () => {
      const channels = config.fpnChannels ?? 256;
      const backbone = new BackboneWithFpn({ depth: config.depth, trainableLayers: config.trainableBackboneLayers, norm: config.backboneNorm, outChannels: channels });
      const rpn = new RegionProposalNetwork({ ...config.rpn, inChannels: channels });
      const roiHeads = new RoIHeads({
        numClasses: config.numClasses,
        inChannels: channels,
        representationSize: config.representationSize,
        maskLayers: config.maskLayers,
        maskDimReduced: config.maskDimReduced,
        detection: config.detection,
      });
      // Weights made lazily in build() must be made inside a seeded scope too.
      if (config.initSeed !== undefined) for (const l of [backbone, rpn, roiHeads]) l.ensureBuilt();
      return { backbone, rpn, roiHeads };
    };
    const made = config.initSeed === undefined ? layers() : withInitializationSeed(config.initSeed, layers);
    this.backbone = this.child('backbone', made.backbone);
    this.rpn = this.child('rpn', made.rpn);
    this.roiHeads = this.child('roi_heads', made.roiHeads);
  }

  /** Classes including the background. */
  get numClasses(): number {
    return this.roiHeads.numClasses;
  }

  /** RoIAlign of the box branch (the RoI heads'). */
  get boxRoiPool(): MultiScaleRoIAlign {
    return this.roiHeads.boxRoiPool;
  }

  /** RoIAlign of the mask branch (the RoI heads'). */
  get maskRoiPool(): MultiScaleRoIAlign {
    return this.roiHeads.maskRoiPool;
  }

  /**
   * A training step's forward, as torchvision's `model.train(); model(images, targets)`: the five
   * losses from one pass through the same stages as inference (see `training_forward.ts`). The
   * batch is already transformed (`toTrainingBatch`). Synchronous: call it inside
   * `tf.variableGrads` to get gradients, or alone for a validation loss. The RPN uses its
   * training settings (`rpn.selection(true)`); the samplers draw from `options.rng`, the RPN's
   * for every image, then the RoI heads' (torchvision's order).
   *
   * @returns The losses (the caller owns the scalars) and the targets, as data.
   *
   * @example
   * ```ts
   * const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(model.trainingForward(batch, { rng }).losses)) as tf.Scalar);
   * ```
   */
  trainingForward(batch: TrainingBatch, options: TrainingForwardOptions = {}): TrainingForward {
    const where = 'MaskRCNN.trainingForward';
    checkTrainingBatch(batch, where);
    const [n, height, width] = batch.images.shape;
    if (options.proposals !== undefined) checkGivenProposals(options.proposals, n, where);
    const samplers = trainingSamplers(options);
    let targets: TrainingTargets | undefined;
    const losses = tf.tidy(() => {
      const features = this.backbone.forward(batch.images); // C2-C5 -> P2-P6, once per step
      const rpn = this.rpn.trainingForward(features, batch.imageSizes, [height, width], batch.targets, {
        sampler: samplers.rpn,
        rng: options.rng,
        selectProposals: options.proposals === undefined,
      }); // head, detached proposals, anchor targets, two losses
      const proposals = options.proposals ?? (rpn.proposals ?? []).map((p) => p.boxes);
      const roi = this.roiHeads.trainingForward(features, proposals, batch.imageSizes, batch.targets, { sampler: samplers.roi, rng: options.rng }); // samples, heads, three losses
      targets = {
        gridSizes: rpn.gridSizes,
        levelAnchors: rpn.levelAnchors,
        images: roi.images.map((r, i) => ({ ...r, rpn: rpn.images[i].targets, rpnSampledLabels: rpn.images[i].sampledLabels, proposals: proposals[i] })),
      };
      return { ...rpn.losses, ...roi.losses };
    });
    return { losses, targets: targets as TrainingTargets };
  }

  /**
   * Inference, as torchvision's `model.eval()(images)`. Images are `[H, W, 3]` tensors, int32
   * 0-255 or float32 0-1, of any sizes. A `recorder` sees each stage's outputs on the way
   * (see {@link StageRecorder}); it changes nothing of the result.
   */
  async forward(
    images: readonly tf.Tensor3D[],
    detection: DetectionOptions = {},
    clock?: StageClock,
    recorder?: StageRecorder,
  ): Promise<MaskRCNNDetections[]> {
    const stages = await this.stages(images, detection, clock, recorder);
    try {
      return await this.postprocess(stages, recorder);
    } finally {
      disposeStages(stages);
      clock?.lap('postprocess');
    }
  }

  /**
   * Runs every stage and returns all of their outputs (for notebooks and parity tests); the
   * caller frees them with {@link disposeStages}. A `clock` gets the time of each stage, a
   * `recorder` sees what each computes (see {@link StageRecorder}).
   */
  async stages(
    images: readonly tf.Tensor3D[],
    detection: DetectionOptions = {},
    clock?: StageClock,
    recorder?: StageRecorder,
  ): Promise<MaskRCNNStages> {
    const r = recorder ?? {};
    const batch = this.transform.forward(images); // normalise, resize, pad to 32
    r.transform?.(batch);
    clock?.lap('transform');
    const [, height, width] = batch.images.shape;
    const live: tf.Tensor[] = [batch.images];
    try {
      const features = this.backbone.forward(batch.images, r.body?.bind(r)); // C2-C5 -> P2-P6
      live.push(...Object.values(features));
      r.features?.(features);
      clock?.lap('backbone');
      const rpn = await this.rpn.forward(features, batch.imageSizes, [height, width], r.rpn); // proposals
      tf.dispose([rpn.scores, rpn.objectness, rpn.deltas]);
      live.push(...rpn.proposals);
      r.proposals?.(rpn.proposals);
      clock?.lap('rpn');
      const boxFeatures = this.boxRoiPool.forward(features, rpn.proposals, batch.imageSizes, {}, r.roiLevels?.bind(r)); // [R, 7, 7, C]
      const detections = await this.roiHeads
        .detect(boxFeatures, rpn.proposals, batch.imageSizes, detection, r.detection) // classify, regress, NMS
        .finally(() => boxFeatures.dispose());
      live.push(...detections.flatMap((d) => [d.predBoxes, d.predScores, d.predLabels]));
      clock?.lap('box_head');
      const maskProbs = tf.tidy(() => {
        const boxes = detections.map((d) => d.predBoxes);
        const maskFeatures = this.maskRoiPool.forward(features, boxes, batch.imageSizes); // [D, 14, 14, C]
        const labels = tf.concat(detections.map((d) => d.predLabels)) as tf.Tensor1D;
        return this.roiHeads.segment(maskFeatures, labels); // [D, 28, 28]
      });
      live.push(maskProbs);
      r.maskProbs?.(maskProbs);
      clock?.lap('mask_head');
      return { batch, features, proposals: rpn.proposals, detections, maskProbs };
    } catch (e) {
      tf.dispose(live);
      throw e;
    }
  }

  /** Maps detections back to each original image: boxes rescaled, masks pasted. */
  private async postprocess(s: MaskRCNNStages, recorder?: StageRecorder): Promise<MaskRCNNDetections[]> {
    const counts = s.detections.map((d) => d.predBoxes.shape[0]);
    const perImageProbs = tf.split(s.maskProbs, counts.length > 0 ? counts : [0]) as tf.Tensor3D[];
    try {
      const out: MaskRCNNDetections[] = [];
      for (let i = 0; i < s.detections.length; i++) {
        const d = s.detections[i];
        const original = s.batch.originalSizes[i];
        const boxes = resizeBoxes(d.predBoxes, s.batch.imageSizes[i], original);
        const masks = await pasteMasks(perImageProbs[i], boxes, original);
        recorder?.pastedMasks?.(i, masks);
        out.push({ boxes, scores: d.predScores.clone(), labels: d.predLabels.clone(), masks, imageSize: [...original] });
      }
      return out;
    } finally {
      tf.dispose(perImageProbs);
    }
  }
}

/** Frees everything {@link MaskRCNN.stages} returned. */
export function disposeStages(s: MaskRCNNStages): void {
  tf.dispose([s.batch.images, ...Object.values(s.features), ...s.proposals, s.maskProbs]);
  disposeDetections(s.detections);
}

/** Frees the tensors of {@link MaskRCNN.forward}'s results. */
export function disposeMaskRCNNDetections(results: readonly MaskRCNNDetections[]): void {
  for (const r of results) tf.dispose([r.boxes, r.scores, r.labels]);
}
