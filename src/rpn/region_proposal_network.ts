/**
 * The Region Proposal Network of torchvision 0.14's maskrcnn_resnet50_fpn, inference path.
 *
 * Shapes: N images in a batch padded to H x W; L = 5 FPN levels ('0', '1', '2', '3', 'pool'),
 * level l is Hl x Wl with C = 256 channels; A = 3 anchors per location; P proposals per image.
 *
 *   features[l]  [N, Hl, Wl, C]  --RPNHead-->  objectness [N, Hl, Wl, A], deltas [N, Hl, Wl, A*4]
 *   anchors      [Hl*Wl*A, 4] per level, shared by the batch
 *   proposals    [P, 4] per image (xyxy, resized-image pixels), P <= postNmsTopN
 *
 * In training ({@link RegionProposalNetwork.trainingForward}) the same head and anchors also give
 * each anchor's target, a balanced sample per image and the two RPN losses; T = sum Hl*Wl*A.
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { BoxCoder, RPN_BOX_CODER_WEIGHTS } from '../boxes/box_coder';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';
import { AnchorGenerator, DEFAULT_ANCHOR_SIZES, DEFAULT_ASPECT_RATIOS } from './anchor_generator';
import { checkProposalSelection, selectProposals, selectProposalsAsData, type ProposalData, type ProposalRecorder, type ProposalSelection } from './proposals';
import { RPNHead } from './rpn_head';
import { FPN_LEVELS, type FpnFeatures } from '../fpn/feature_pyramid_network';
import { rpnLosses } from '../losses/rpn_losses';
import type { Losses } from '../losses/names';
import { checkSamplerOptions, RPN_SAMPLER_OPTIONS, type SamplerOptions } from '../targets/balanced_sampler';
import { concatTargets } from '../targets/concat';
import type { GroundTruth } from '../targets/ground_truth';
import { assignRpnTargets, sampleRpnLabels, type RpnTargets } from '../targets/rpn_targets';
import type { Rng } from '../util/random';


/** A setting with one value while training and another while testing (torchvision's dicts). */
export interface TrainTest<T> {
  readonly training: T;
  readonly testing: T;
}

/** Options of {@link RegionProposalNetwork}; every field has torchvision's default. */
export interface RegionProposalNetworkOptions extends TorchLayerArgs {
  /** Channels of the FPN features. Default 256. */
  readonly inChannels?: number;
  /** Anchor sizes per level. Default `[[32], [64], [128], [256], [512]]`. */
  readonly anchorSizes?: ReadonlyArray<readonly number[]>;
  /** Aspect ratios (height / width) per level. Default `[0.5, 1, 2]` on each level. */
  readonly aspectRatios?: ReadonlyArray<readonly number[]>;
  /** Anchors kept per level before NMS. Default `{ training: 2000, testing: 1000 }`. */
  readonly preNmsTopN?: TrainTest<number>;
  /** Proposals kept per image after NMS. Default `{ training: 2000, testing: 1000 }`. */
  readonly postNmsTopN?: TrainTest<number>;
  /** NMS IoU threshold (per level). Default 0.7. */
  readonly nmsThresh?: number;
  /** Minimum sigmoid objectness kept. Default 0.0. */
  readonly scoreThresh?: number;
  /** Minimum side of a kept proposal in pixels. Default 1e-3. */
  readonly minSize?: number;
  /** Start in training mode (selects the `training` values). Default false. */
  readonly training?: boolean;
}

/** The defaults of maskrcnn_resnet50_fpn's RPN. */
export const DEFAULT_RPN_OPTIONS = {
  inChannels: 256,
  anchorSizes: DEFAULT_ANCHOR_SIZES,
  aspectRatios: FPN_LEVELS.map(() => DEFAULT_ASPECT_RATIOS),
  preNmsTopN: { training: 2000, testing: 1000 },
  postNmsTopN: { training: 2000, testing: 1000 },
  nmsThresh: 0.7,
  scoreThresh: 0.0,
  minSize: 1e-3,
  training: false,
} as const;

/**
 * Result of {@link RegionProposalNetwork.forward}; free it with `tf.dispose(result)`.
 * (A type alias rather than an interface so that it is a `tf.TensorContainer`.)
 */
export type RpnResult = {
  /** `[P, 4]` xyxy proposals per image, by decreasing objectness. */
  readonly proposals: tf.Tensor2D[];
  /** `[P]` sigmoid objectness of each proposal, per image. */
  readonly scores: tf.Tensor1D[];
  /** `[N, Hl, Wl, A]` objectness logits per level, in {@link FPN_LEVELS} order. */
  readonly objectness: tf.Tensor4D[];
  /** `[N, Hl, Wl, A*4]` box deltas per level, in {@link FPN_LEVELS} order. */
  readonly deltas: tf.Tensor4D[];
};

/**
 * What {@link RegionProposalNetwork.forward} shows a recorder (for inspection), per FPN level in
 * {@link FPN_LEVELS} order. The tensors are the RPN's: valid during the call only
 * (`tf.keep(t.clone())` to hold one).
 *
 * @example
 * ```ts
 * const rec: RpnRecorder = { levels: (l) => console.log(l.gridSizes), candidates: (i, c) => console.log(c.fates) };
 * ```
 */
export interface RpnRecorder {
  /** Head outputs and anchors of every level. */
  levels?(levels: RpnLevelOutputs): void;
  /** Every pre-NMS candidate of image `image` and its fate. */
  candidates?: ProposalRecorder;
}

/**
 * Per-level outputs of the RPN before proposal selection (see {@link RpnRecorder}).
 *
 * @example
 * ```ts
 * levels.anchors[0].length / 4; // Hl*Wl*A anchors of level '0'
 * ```
 */
export interface RpnLevelOutputs {
  /** `[N, Hl, Wl, A]` objectness logits. */
  readonly objectness: readonly tf.Tensor4D[];
  /** `[N, Hl, Wl, A*4]` box deltas. */
  readonly deltas: readonly tf.Tensor4D[];
  /** `[Hl*Wl*A*4]` xyxy anchors (padded-batch pixels), in the head's flattening order. */
  readonly anchors: readonly Float32Array[];
  /** `[Hl, Wl]` of each level. */
  readonly gridSizes: ReadonlyArray<readonly [number, number]>;
}

/**
 * Options of {@link RegionProposalNetwork.trainingForward}; defaults are torchvision's.
 *
 * @example
 * ```ts
 * const o: RpnTrainingOptions = { sampler: { batchSizePerImage: 256, positiveFraction: 0.5 }, rng: new Rng(1) };
 * ```
 */
export interface RpnTrainingOptions {
  /** Anchors drawn per image and their largest foreground fraction. Default 256, 0.5. */
  readonly sampler?: SamplerOptions;
  /** Random source of the sampler; needed unless every candidate fits in the draw. */
  readonly rng?: Rng;
  /** Whether to select proposals (false when the RoI heads train on given ones). Default true. */
  readonly selectProposals?: boolean;
}

/**
 * One image's RPN targets in a training step.
 *
 * @example
 * ```ts
 * image.sampledLabels.filter((l) => l === 1).length; // foreground anchors drawn
 * ```
 */
export interface RpnImageTargets {
  /** Every anchor's matcher label, matched GT and regression target, before sampling (`[T]`). */
  readonly targets: RpnTargets;
  /** `[T]` after the sampler: 1 drawn foreground, 0 drawn background, -1 not drawn. */
  readonly sampledLabels: Float32Array;
}

/**
 * What {@link RegionProposalNetwork.trainingForward} gives: the losses (tensors, the caller's)
 * and everything else as data.
 *
 * @example
 * ```ts
 * const { losses, proposals } = rpn.trainingForward(features, sizes, [h, w], gts, { rng });
 * ```
 */
export interface RpnTrainingOutputs {
  /** `loss_objectness` and `loss_rpn_box_reg`. */
  readonly losses: Losses<'loss_objectness' | 'loss_rpn_box_reg'>;
  /** Per image the proposals with the training settings, detached; undefined when not selected. */
  readonly proposals: readonly ProposalData[] | undefined;
  /** `[Hl, Wl]` of each level. */
  readonly gridSizes: ReadonlyArray<readonly [number, number]>;
  /** Per level `[Al * 4]` xyxy anchors (the same for every image); T = sum Al, level-major. */
  readonly levelAnchors: readonly Float32Array[];
  /** One entry per image. */
  readonly images: readonly RpnImageTargets[];
}

/**
 * RPN: head, anchors, decoding and proposal selection. Its state dict holds the head's weights
 * under `head.` (`rpn.head.` in the full model).
 *
 * @example
 * ```ts
 * const rpn = new RegionProposalNetwork();          // eval settings (1000 / 1000)
 * const out = await rpn.forward(features, [[800, 1066]], [800, 1088]);
 * out.proposals[0].shape;                           // [P, 4], P <= 1000
 * tf.dispose(out);
 * rpn.dispose();
 * ```
 */
export class RegionProposalNetwork extends TorchLayer {
  static override readonly className = 'RegionProposalNetwork';
  readonly head: RPNHead;
  readonly anchorGenerator: AnchorGenerator;
  readonly boxCoder = new BoxCoder(RPN_BOX_CODER_WEIGHTS);
  readonly preNmsTopN: TrainTest<number>;
  readonly postNmsTopN: TrainTest<number>;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize: number;
  /** Picks the `training` or `testing` value of each paired setting. */
  training: boolean;

  constructor(options: RegionProposalNetworkOptions = {}) {
    super({ name: options.name });
    const o = { ...DEFAULT_RPN_OPTIONS, ...stripUndefined(options) };
    this.anchorGenerator = new AnchorGenerator({ sizes: o.anchorSizes, aspectRatios: o.aspectRatios });
    if (this.anchorGenerator.numLevels !== FPN_LEVELS.length) {
      throw new Error(
        `Error in RegionProposalNetwork: anchorSizes must list ${FPN_LEVELS.length} levels (${FPN_LEVELS.join(', ')}), got ${this.anchorGenerator.numLevels}`,
      );
    }
    const perLocation = this.anchorGenerator.numAnchorsPerLocation();
    if (perLocation.some((a) => a !== perLocation[0])) {
      throw new Error(
        `Error in RegionProposalNetwork: every level needs the same number of anchors per location (the head is shared), got [${perLocation}]`,
      );
    }
    this.head = this.child('head', new RPNHead({ inChannels: o.inChannels, numAnchors: perLocation[0] }));
    this.preNmsTopN = o.preNmsTopN;
    this.postNmsTopN = o.postNmsTopN;
    this.nmsThresh = o.nmsThresh;
    this.scoreThresh = o.scoreThresh;
    this.minSize = o.minSize;
    this.training = o.training;
    // Validate the resolved settings now rather than at the first forward.
    for (const training of [true, false]) checkProposalSelection(this.selection(training), 'RegionProposalNetwork');
  }

  /** The proposal settings for training or testing. */
  selection(training: boolean = this.training): ProposalSelection {
    const pick = training ? 'training' : 'testing';
    return {
      preNmsTopN: this.preNmsTopN[pick],
      postNmsTopN: this.postNmsTopN[pick],
      nmsThresh: this.nmsThresh,
      scoreThresh: this.scoreThresh,
      minSize: this.minSize,
    };
  }

  /**
   * Runs the head on every level and selects each image's proposals.
   *
   * @param features `[N, Hl, Wl, C]` per FPN level.
   * @param imageSizes `[height, width]` of each resized image before padding (proposals are clipped to it).
   * @param batchShape `[H, W]` of the padded batch (anchor strides are `H // Hl`, `W // Wl`).
   * @param recorder Optional hooks that see the head outputs, anchors and candidates; absent,
   *   nothing more is computed.
   * @returns Proposals and scores per image, head outputs per level; the caller owns every tensor.
   */
  async forward(
    features: FpnFeatures,
    imageSizes: ReadonlyArray<readonly [number, number]>,
    batchShape: readonly [number, number],
    recorder?: RpnRecorder,
  ): Promise<RpnResult> {
    const levels = this.checkInputs(features, imageSizes, batchShape);
    const { objectness, deltas } = this.head.forward(levels);
    try {
      const gridSizes = levels.map((f) => [f.shape[1], f.shape[2]] as [number, number]);
      const anchors = this.anchorGenerator.anchors(gridSizes, batchShape);
      recorder?.levels?.({ objectness, deltas, anchors, gridSizes });
      const { boxes, scores } = await selectProposals(
        objectness,
        deltas,
        anchors,
        imageSizes,
        this.selection(),
        this.boxCoder,
        recorder?.candidates,
      );
      return { proposals: boxes, scores, objectness, deltas };
    } catch (e) {
      tf.dispose([objectness, deltas]);
      throw e;
    }
  }

  /**
   * The RPN of a training step (torchvision's `forward` with targets): the head runs once; the
   * proposals, selected with the training settings, are read back as data and so detached, as
   * torchvision detaches them; every anchor is matched to the ground truth, a balanced sample is
   * drawn per image (image by image, from `options.rng`), and the two RPN losses are computed on
   * it. Synchronous, so that it runs inside `tf.variableGrads` with the rest of the step.
   *
   * @param features `[N, Hl, Wl, C]` per FPN level.
   * @param imageSizes `[height, width]` of each resized image before padding.
   * @param batchShape `[H, W]` of the padded batch.
   * @param targets Each image's ground truth (boxes in resized-image pixels; crowd boxes dropped).
   * @returns The two losses (the caller owns them) and the targets and proposals as data.
   */
  trainingForward(
    features: FpnFeatures,
    imageSizes: ReadonlyArray<readonly [number, number]>,
    batchShape: readonly [number, number],
    targets: readonly GroundTruth[],
    options: RpnTrainingOptions = {},
  ): RpnTrainingOutputs {
    const levels = this.checkInputs(features, imageSizes, batchShape);
    const n = levels[0].shape[0];
    if (targets.length !== n) {
      throw new Error(`Error in RegionProposalNetwork.trainingForward: targets must have one entry per image (${n}), got ${targets.length}`);
    }
    const sampler = options.sampler ?? RPN_SAMPLER_OPTIONS;
    checkSamplerOptions(sampler, 'RegionProposalNetwork.trainingForward');
    const gridSizes = levels.map((f) => [f.shape[1], f.shape[2]] as [number, number]);
    const levelAnchors = this.anchorGenerator.anchors(gridSizes, batchShape);
    const { objectness, deltas } = this.head.forward(levels);
    try {
      const proposals =
        options.selectProposals === false
          ? undefined
          : selectProposalsAsData(objectness, deltas, levelAnchors, imageSizes, this.selection(true), this.boxCoder);
      const anchors = concatTargets(levelAnchors); // L x [Al * 4] -> [T * 4]
      const images = targets.map((gt): RpnImageTargets => {
        const t = assignRpnTargets(anchors, gt);
        return { targets: t, sampledLabels: sampleRpnLabels(t.labels, sampler, options.rng) };
      });
      const losses = tf.tidy(() => {
        // torchvision's concat_box_prediction_layers: image-major, then level, then (h, w, a).
        const logits = tf.concat(objectness.map((o) => tf.reshape(o, [n, -1])), 1); // [N, Hl, Wl, A] -> [N, Hl*Wl*A]; -> [N, T]
        const predicted = tf.concat(deltas.map((d) => tf.reshape(d, [n, -1, 4])), 1); // [N, Hl, Wl, A*4] -> [N, Hl*Wl*A, 4]; -> [N, T, 4]
        return rpnLosses(
          tf.reshape(logits, [-1]), // [N, T] -> [N*T]
          tf.reshape(predicted, [-1, 4]), // [N, T, 4] -> [N*T, 4]
          concatTargets(images.map((d) => d.sampledLabels)),
          concatTargets(images.map((d) => d.targets.regressionTargets)),
        );
      });
      return { losses, proposals, gridSizes, levelAnchors, images };
    } finally {
      tf.dispose([objectness, deltas]);
    }
  }

  private checkInputs(
    features: FpnFeatures,
    imageSizes: ReadonlyArray<readonly [number, number]>,
    batchShape: readonly [number, number],
  ): tf.Tensor4D[] {
    const fn = 'Error in RegionProposalNetwork.forward';
    const keys = Object.keys(features);
    const missing = FPN_LEVELS.filter((l) => !(features[l] instanceof tf.Tensor));
    const extra = keys.filter((k) => !(FPN_LEVELS as readonly string[]).includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `${fn}: features must have exactly the levels ${FPN_LEVELS.join(', ')}; missing [${missing}], unexpected [${extra}]`,
      );
    }
    const levels = FPN_LEVELS.map((l) => features[l]);
    const n = levels[0].shape[0];
    levels.forEach((f, i) => {
      if (f.rank !== 4 || f.shape[0] !== n) {
        throw new Error(`${fn}: features['${FPN_LEVELS[i]}'] must be [${n}, H, W, C], got [${f.shape}]`);
      }
    });
    const [bh, bw] = batchShape;
    if (!Number.isInteger(bh) || !Number.isInteger(bw) || bh <= 0 || bw <= 0) {
      throw new Error(`${fn}: batchShape must be two positive integers [H, W], got [${batchShape}]`);
    }
    if (imageSizes.length !== n) {
      throw new Error(`${fn}: imageSizes must have one [height, width] per image (${n}), got ${imageSizes.length}`);
    }
    imageSizes.forEach(([h, w], i) => {
      if (!(h > 0 && w > 0 && h <= bh && w <= bw)) {
        throw new Error(`${fn}: imageSizes[${i}] = [${h}, ${w}] must be positive and fit in batchShape [${bh}, ${bw}]`);
      }
    });
    return levels;
  }

  /** The RPN is asynchronous (NMS runs after `data()`): use {@link RegionProposalNetwork.forward}. */
  override call(_inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor[] {
    throw new Error('Error in RegionProposalNetwork.call: the RPN is asynchronous; use forward(features, imageSizes, batchShape)');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
