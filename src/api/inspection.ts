/**
 * What {@link MaskRCNNModel.inspect} returns: every stage's outputs for one image, recorded on
 * predict's own code path (a {@link StageRecorder} handed down the stages), so that the
 * `prediction` inside is exactly what predict returns.
 *
 * Frames: everything is in the resized image's pixels (the image torchvision's transform makes,
 * short side minSize) unless said otherwise; feature maps and anchors cover the padded image
 * `[Hp, Wp]` (a multiple of 32), of which the resized image is the top-left `[h, w]`; the
 * prediction and the pasted masks are in the original image's pixels `[H0, W0]`.
 *
 * Shapes: A = Hl*Wl*a anchors of FPN level l (a per location); T pre-NMS candidates (sum over
 * levels of min(preNmsTopN, A)); P proposals; K classes with the background; C = P*(K-1) per-class
 * candidates; D detections.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResNetFeatures } from '../backbone/resnet';
import { FPN_LEVELS, type FpnFeatures, type FpnLevel } from '../fpn/feature_pyramid_network';
import type { StageRecorder } from '../model/stage_recorder';
import type { DetectionCandidates, DetectionRecorder } from '../postprocess/detections';
import type { MaskCrop } from '../postprocess/paste_masks';
import type { ProposalCandidates } from '../rpn/proposals';
import type { RpnLevelOutputs, RpnRecorder } from '../rpn/region_proposal_network';
import type { TransformedBatch } from '../transform/generalized_rcnn_transform';
import type { DetectionMask } from './detection_masks';
import type { Prediction } from './model';

/**
 * A ResNet body output: C2 (stride 4) to C5 (stride 32), torchvision's `body` keys '0' to '3'.
 *
 * @example
 * ```ts
 * const ins = await model.inspect('street.jpg', { bodyLevels: ['C5'] });
 * ins.backbone.body.C5?.shape; // [Hp/32, Wp/32, 2048] for ResNet-50
 * ```
 */
export type BodyLevel = 'C2' | 'C3' | 'C4' | 'C5';

/**
 * The body levels in order of stride.
 *
 * @example
 * ```ts
 * BODY_LEVELS.indexOf('C4'); // 2: body key '2'
 * ```
 */
export const BODY_LEVELS: readonly BodyLevel[] = ['C2', 'C3', 'C4', 'C5'];

/**
 * The preprocessing of the image (torchvision's GeneralizedRCNNTransform).
 *
 * @example
 * ```ts
 * const { originalSize, resizedSize, scale } = ins.transform; // [480, 640], [800, 1067], [1.667, 1.667]
 * ```
 */
export interface InspectionTransform {
  /** `[h, w, 3]` the normalised ((x - mean) / std), resized image, without the padding. */
  readonly image: tf.Tensor3D;
  /** `[Hp, Wp]` of the padded batch the backbone ran on (multiples of 32). */
  readonly paddedSize: [number, number];
  /** `[h, w]` after resizing. */
  readonly resizedSize: [number, number];
  /** `[H0, W0]` as given. */
  readonly originalSize: [number, number];
  /** `[h / H0, w / W0]`: original pixels times this are resized pixels. */
  readonly scale: [number, number];
}

/**
 * The backbone's outputs, the batch dimension dropped; padded-image frame.
 *
 * @example
 * ```ts
 * ins.backbone.fpn['0'].shape;  // [Hp/4, Wp/4, 256]
 * ins.backbone.fpn.pool.shape;  // [Hp/64, Wp/64, 256] (rounded up)
 * ```
 */
export interface InspectionBackbone {
  /** The body levels asked for (`bodyLevels`, default all): `[Hp/s, Wp/s, Cs]`, s = 4 .. 32. */
  readonly body: Partial<Record<BodyLevel, tf.Tensor3D>>;
  /** The FPN levels '0' to '3' and 'pool': `[Hl, Wl, C]`, strides 4, 8, 16, 32, 64. */
  readonly fpn: Record<FpnLevel, tf.Tensor3D>;
}

/**
 * The RPN head's outputs on one FPN level, flattened in the anchors' order (location y-major,
 * then x, then anchor).
 *
 * @example
 * ```ts
 * const l0 = ins.rpn.levels[0]; // level '0'
 * l0.anchors.shape[0] === l0.featureSize[0] * l0.featureSize[1] * l0.anchorsPerLocation; // true
 * ```
 */
export interface InspectionRpnLevel {
  /** The FPN level, '0' .. '3' or 'pool'. */
  readonly level: FpnLevel;
  /** `[Hl, Wl]` of the level. */
  readonly featureSize: [number, number];
  /** Anchors per location, a (3 by default). */
  readonly anchorsPerLocation: number;
  /** `[A, 4]` xyxy anchors (padded-image pixels). */
  readonly anchors: tf.Tensor2D;
  /** `[A]` objectness logits (sigmoid gives the score). */
  readonly objectness: tf.Tensor1D;
  /** `[A, 4]` box deltas (dx, dy, dw, dh) relative to the anchors. */
  readonly deltas: tf.Tensor2D;
}

/**
 * The RPN: per-level outputs, every pre-NMS candidate with its fate, and the proposals.
 *
 * @example
 * ```ts
 * const c = ins.rpn.candidates;
 * const nms = c.fates.filter((f) => f === 'nms').length; // suppressed by NMS
 * ```
 */
export interface InspectionRpn {
  /** One entry per FPN level, in {@link FPN_LEVELS} order. */
  readonly levels: InspectionRpnLevel[];
  /**
   * The T pre-NMS top-k anchors of every level (level by level, by decreasing objectness),
   * decoded and clipped, with their score, level (index into `levels`), anchor row and
   * {@link ProposalFate}; `proposalIndices` gives the row of each kept one in `proposals`.
   */
  readonly candidates: ProposalCandidates;
  /** `[P, 4]` xyxy proposals by decreasing objectness: exactly what the box head sees. */
  readonly proposals: tf.Tensor2D;
}

/**
 * The box head on the proposals, before post-processing.
 *
 * @example
 * ```ts
 * const probs = await ins.boxHead.classProbs.array(); // [P][K]
 * ins.boxHead.roiLevels[0];                           // 0 .. 3: FPN level of proposal 0
 * ```
 */
export interface InspectionBoxHead {
  /** `[P]` FPN level each proposal is pooled from (0 .. 3 for '0' .. '3'), LevelMapper's choice. */
  readonly roiLevels: Int32Array;
  /** `[P, K]` softmax class probabilities (column 0 is the background). */
  readonly classProbs: tf.Tensor2D;
  /** `[P, K, 4]` the proposals refined for every class, clipped to the resized image. */
  readonly refinedBoxes: tf.Tensor3D;
}

/**
 * Box post-processing: every per-class candidate and its {@link DetectionFate}.
 *
 * @example
 * ```ts
 * const { fates, detectionIndices } = ins.detections.candidates;
 * const low = fates.filter((f) => f === 'lowScore').length;
 * ```
 */
export interface InspectionDetections {
  /**
   * The C = P*(K-1) candidates (row `p*(K-1) + k-1` is class k of proposal p), their box and
   * score; `detectionIndices` gives the row of each kept one among the detections.
   */
  readonly candidates: DetectionCandidates;
}

/**
 * The mask branch on the detections.
 *
 * @example
 * ```ts
 * ins.masks.probs.shape;   // [D, 28, 28]
 * ins.masks.pasted[0].probs; // probabilities in the window of the original image it covers
 * ```
 */
export interface InspectionMasks {
  /** `[D, 28, 28]` mask probabilities of each detection's class, in the box's frame. */
  readonly probs: tf.Tensor3D;
  /** The same masks pasted into the original image, as predict pastes them (original pixels). */
  readonly pasted: MaskCrop[];
}

/**
 * Every stage of Mask R-CNN on one image (see {@link MaskRCNNModel.inspect}); the Inspection owns
 * its tensors: free them with `dispose()`.
 *
 * @example
 * ```ts
 * const ins = await model.inspect('street.jpg', { scoreThreshold: 0.5 });
 * console.log(ins.rpn.proposals.shape, ins.prediction.detections.length);
 * ins.dispose();
 * ```
 */
export interface Inspection<M extends DetectionMask = DetectionMask> {
  readonly transform: InspectionTransform;
  readonly backbone: InspectionBackbone;
  readonly rpn: InspectionRpn;
  readonly boxHead: InspectionBoxHead;
  readonly detections: InspectionDetections;
  readonly masks: InspectionMasks;
  /** Exactly what {@link MaskRCNNModel.predict} returns for the same image and options. */
  readonly prediction: Prediction<M>;
  /** Frees every tensor of the inspection; a second call does nothing. */
  dispose(): void;
}

/** Keeps the tensor `f` makes beyond any enclosing tidy (hooks may run inside one). */
function hold<T extends tf.Tensor>(f: () => T): T {
  return tf.keep(tf.tidy(f));
}

/**
 * A {@link StageRecorder} that copies what one image's run shows into an {@link Inspection}.
 * Not reusable: one recorder per run. Until `finish` hands its tensors over, `dispose` frees them.
 * (What {@link MaskRCNNModel.inspect} does; not part of the package's exports.)
 *
 * @example
 * ```ts
 * const recorder = new InspectionRecorder(BODY_LEVELS);
 * const [dets] = await network.forward([image], {}, undefined, recorder);
 * const inspection = recorder.finish(prediction, network.numClasses);
 * ```
 */
export class InspectionRecorder implements StageRecorder {
  private readonly tensors: tf.Tensor[] = [];
  private transformRecord?: Omit<InspectionTransform, 'originalSize' | 'scale'> & { originalSize: [number, number] };
  private bodyRecord: Partial<Record<BodyLevel, tf.Tensor3D>> = {};
  private fpnRecord?: Record<FpnLevel, tf.Tensor3D>;
  private rpnLevels: InspectionRpnLevel[] = [];
  private rpnCandidates?: ProposalCandidates;
  private proposalsRecord?: tf.Tensor2D;
  private roiLevelsRecord?: Int32Array;
  private classProbs?: tf.Tensor2D;
  private refinedBoxes?: tf.Tensor3D;
  private detectionCandidates?: DetectionCandidates;
  private maskProbsRecord?: tf.Tensor3D;
  private pasted: MaskCrop[] = [];
  readonly rpn: RpnRecorder;
  readonly detection: DetectionRecorder;

  /** @param bodyLevels the ResNet body outputs to keep. */
  constructor(private readonly bodyLevels: readonly BodyLevel[]) {
    this.rpn = {
      levels: (l) => this.recordRpnLevels(l),
      candidates: (i, c) => {
        if (i === 0) this.rpnCandidates = c;
      },
    };
    this.detection = {
      boxes: (i, probs, boxes) => {
        if (i !== 0) return;
        this.classProbs = this.own(hold(() => probs.clone()));
        this.refinedBoxes = this.own(hold(() => boxes.clone()));
      },
      candidates: (i, c) => {
        if (i === 0) this.detectionCandidates = c;
      },
    };
  }

  private own<T extends tf.Tensor>(t: T): T {
    this.tensors.push(t);
    return t;
  }

  transform(batch: TransformedBatch): void {
    const [, hp, wp] = batch.images.shape;
    const [h, w] = batch.imageSizes[0];
    // [1, Hp, Wp, 3] -> [h, w, 3], the padding cut off
    const image = this.own(hold(() => tf.reshape(tf.slice(batch.images, [0, 0, 0, 0], [1, h, w, 3]), [h, w, 3]) as tf.Tensor3D));
    this.transformRecord = { image, paddedSize: [hp, wp], resizedSize: [h, w], originalSize: [...batch.originalSizes[0]] };
  }

  body(features: ResNetFeatures): void {
    BODY_LEVELS.forEach((name, i) => {
      if (!this.bodyLevels.includes(name)) return;
      const c = features[String(i) as keyof ResNetFeatures];
      this.bodyRecord[name] = this.own(hold(() => tf.squeeze<tf.Tensor3D>(c, [0]))); // [1, Hl, Wl, Cl] -> [Hl, Wl, Cl]
    });
  }

  features(features: FpnFeatures): void {
    const out: Partial<Record<FpnLevel, tf.Tensor3D>> = {};
    for (const l of FPN_LEVELS) out[l] = this.own(hold(() => tf.squeeze<tf.Tensor3D>(features[l], [0]))); // [1, Hl, Wl, C] -> [Hl, Wl, C]
    this.fpnRecord = out as Record<FpnLevel, tf.Tensor3D>;
  }

  private recordRpnLevels(l: RpnLevelOutputs): void {
    this.rpnLevels = FPN_LEVELS.map((level, i) => {
      const [, hl, wl, a] = l.objectness[i].shape;
      const m = hl * wl * a;
      return {
        level,
        featureSize: [hl, wl],
        anchorsPerLocation: a,
        anchors: this.own(tf.tensor2d(l.anchors[i].slice(), [m, 4])),
        objectness: this.own(hold(() => tf.reshape<tf.Rank.R1>(tf.slice(l.objectness[i], [0, 0, 0, 0], [1, hl, wl, a]), [m]))), // [1, Hl, Wl, a] -> [A]
        deltas: this.own(hold(() => tf.reshape<tf.Rank.R2>(tf.slice(l.deltas[i], [0, 0, 0, 0], [1, hl, wl, 4 * a]), [m, 4]))), // [1, Hl, Wl, a*4] -> [A, 4]
      };
    });
  }

  proposals(proposals: readonly tf.Tensor2D[]): void {
    this.proposalsRecord = this.own(hold(() => proposals[0].clone()));
  }

  roiLevels(levels: Int32Array): void {
    // All images' proposals in order; image 0's come first.
    this.roiLevelsRecord = levels.slice(0, this.proposalsRecord?.shape[0] ?? 0);
  }

  maskProbs(probs: tf.Tensor3D): void {
    this.maskProbsRecord = this.own(hold(() => probs.clone()));
  }

  pastedMasks(image: number, masks: readonly MaskCrop[]): void {
    if (image === 0) this.pasted = [...masks];
  }

  /**
   * The inspection of the run's image, with `prediction` (predict's result for it); `numClasses`
   * shapes the empty box-head outputs of an image without proposals. The recorder hands its
   * tensors over to the result.
   */
  finish<M extends DetectionMask>(prediction: Prediction<M>, numClasses: number): Inspection<M> {
    const t = this.transformRecord;
    if (t === undefined || this.fpnRecord === undefined || this.proposalsRecord === undefined || this.rpnCandidates === undefined) {
      throw new Error('Error in inspect: the run did not reach every stage');
    }
    const [h0, w0] = t.originalSize;
    const tensors = this.tensors;
    let disposed = false;
    const inspection: Inspection<M> = {
      transform: { ...t, scale: [t.resizedSize[0] / h0, t.resizedSize[1] / w0] },
      backbone: { body: this.bodyRecord, fpn: this.fpnRecord },
      rpn: { levels: this.rpnLevels, candidates: this.rpnCandidates, proposals: this.proposalsRecord },
      boxHead: {
        roiLevels: this.roiLevelsRecord ?? new Int32Array(0),
        classProbs: this.classProbs ?? this.own(tf.zeros<tf.Rank.R2>([0, numClasses])),
        refinedBoxes: this.refinedBoxes ?? this.own(tf.zeros<tf.Rank.R3>([0, numClasses, 4])),
      },
      detections: { candidates: this.detectionCandidates ?? emptyDetectionCandidates() },
      masks: { probs: this.maskProbsRecord ?? this.own(tf.zeros<tf.Rank.R3>([0, 28, 28])), pasted: this.pasted },
      prediction,
      dispose: () => {
        if (disposed) return;
        disposed = true;
        tf.dispose(tensors);
      },
    };
    return inspection;
  }

  /** Frees what was recorded (a run that failed). */
  dispose(): void {
    tf.dispose(this.tensors);
    this.tensors.length = 0;
  }
}

function emptyDetectionCandidates(): DetectionCandidates {
  return {
    proposalIndices: new Int32Array(0),
    labels: new Int32Array(0),
    scores: new Float32Array(0),
    boxes: new Float32Array(0),
    fates: [],
    detectionIndices: new Int32Array(0),
  };
}
