/**
 * The types and checks of Mask R-CNN's training forward ({@link MaskRCNN.trainingForward}),
 * torchvision 0.14's `GeneralizedRCNN.forward` with targets, after the transform.
 *
 * Shapes: N images padded to H x W (`[N, H, W, 3]`, already normalised); L = 5 FPN levels; T
 * anchors per image (all levels); Ri proposals of image i; Si drawn box-head samples of image i;
 * Pi positive samples of image i; M = 28 mask side; K classes.
 *
 * One pass through the same stage objects as inference: backbone and FPN once, the RPN head
 * once, proposals read back as data inside the step (detached, as torchvision detaches them),
 * targets assigned and sampled as data (detectron2 does it under `no_grad`), then RoIAlign of
 * the samples, box and mask heads and the five losses. The data reads happen inside the step,
 * so the whole forward is synchronous and runs inside `tf.variableGrads`.
 */
import * as tf from '@tensorflow/tfjs';
import type { RoiImageTargets } from '../heads/roi_heads';
import type { Losses } from '../losses/names';
import type { RpnImageTargets } from '../rpn/region_proposal_network';
import { ROI_SAMPLER_OPTIONS, RPN_SAMPLER_OPTIONS, type SamplerOptions } from '../targets/balanced_sampler';
import { checkBoxArray } from '../targets/ground_truth';
import type { TrainingBatch } from '../targets/training_batch';
import type { Rng } from '../util/random';

export type { TrainingBatch, TrainingTarget } from '../targets/training_batch';

/**
 * Options of {@link MaskRCNN.trainingForward}; defaults are torchvision's.
 *
 * @example
 * ```ts
 * const options: TrainingForwardOptions = { rng: new Rng(1), roiBatchSizePerImage: 128 };
 * ```
 */
export interface TrainingForwardOptions {
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
 * The targets of one image in a training step.
 *
 * @example
 * ```ts
 * const { targets: { images: [first] } } = model.trainingForward(batch, { rng });
 * first.roi.labels; // Int32Array [S0]: classes of the first image's box-head samples
 * ```
 */
export interface ImageTrainingTargets extends RoiImageTargets {
  /** Every anchor's matcher label, matched GT and regression target, before sampling (`[T]`). */
  readonly rpn: RpnImageTargets['targets'];
  /** `[T]` after the RPN sampler: 1 drawn foreground, 0 drawn background, -1 not drawn. */
  readonly rpnSampledLabels: Float32Array;
  /** `[Ri * 4]` proposals the RoI heads were trained on (the RPN's, or `options.proposals`). */
  readonly proposals: Float32Array;
}

/**
 * Everything a training step assigned, as data (nothing to dispose).
 *
 * @example
 * ```ts
 * const { targets } = model.trainingForward(batch, { rng });
 * targets.levelAnchors.map((a) => a.length / 4); // anchors per FPN level
 * ```
 */
export interface TrainingTargets {
  /** `[Hl, Wl]` feature grid of each FPN level. */
  readonly gridSizes: ReadonlyArray<readonly [number, number]>;
  /** Per level `[Al * 4]` xyxy anchors (the same for every image); T = sum Al, level-major. */
  readonly levelAnchors: readonly Float32Array[];
  /** One entry per image of the batch. */
  readonly images: readonly ImageTrainingTargets[];
}

/**
 * What {@link MaskRCNN.trainingForward} returns: the five losses (the caller owns the scalars)
 * and the targets they were computed on.
 *
 * @example
 * ```ts
 * const { losses } = model.trainingForward(batch, { rng });
 * tf.addN(Object.values(losses));
 * ```
 */
export interface TrainingForward {
  /** `loss_objectness`, `loss_rpn_box_reg`, `loss_classifier`, `loss_box_reg`, `loss_mask`. */
  readonly losses: Losses;
  readonly targets: TrainingTargets;
}

/** The two samplers' settings of `options`, with torchvision's defaults. */
export function trainingSamplers(options: TrainingForwardOptions): { rpn: SamplerOptions; roi: SamplerOptions } {
  return {
    rpn: {
      batchSizePerImage: options.rpnBatchSizePerImage ?? RPN_SAMPLER_OPTIONS.batchSizePerImage,
      positiveFraction: options.rpnPositiveFraction ?? RPN_SAMPLER_OPTIONS.positiveFraction,
    },
    roi: {
      batchSizePerImage: options.roiBatchSizePerImage ?? ROI_SAMPLER_OPTIONS.batchSizePerImage,
      positiveFraction: options.roiPositiveFraction ?? ROI_SAMPLER_OPTIONS.positiveFraction,
    },
  };
}

/** Throws a clear error unless `batch` is a transformed batch with one valid target per image. */
export function checkTrainingBatch(batch: TrainingBatch, where: string): void {
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

/** Throws unless `proposals` holds one `[Ri * 4]` box array per image of the batch. */
export function checkGivenProposals(proposals: readonly Float32Array[], n: number, where: string): void {
  if (proposals.length !== n) throw new Error(`Error in ${where}: options.proposals must have one array per image (${n}), got ${proposals.length}`);
  proposals.forEach((p, i) => checkBoxArray(p, where, `options.proposals[${i}]`));
}
