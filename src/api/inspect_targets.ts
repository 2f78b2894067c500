/**
 * What Mask R-CNN is trained on, for one image: the transformed image, every anchor's label, the
 * anchors the RPN sampler drew, the proposals and the box-head samples with their targets, the
 * mask targets, and the five losses. It runs the trainer's own code: the loader's
 * `applyTrainTransforms`, `toTrainingBatch` and `MaskRCNN.trainingForward` (the step's forward,
 * whose targets it shows), so the losses are those of a training step on a batch of that one
 * image with the same seed.
 *
 * Shapes: G annotations; H x W the resized image (padded to Hp x Wp, multiples of 32); L = 5 FPN
 * levels, level l a Hl x Wl grid with Al = Hl * Wl * A anchors, T = sum Al; R proposals from the
 * RPN, R' = R + G' candidates (G' non-crowd GT boxes appended); S box-head samples; P positive
 * samples; M = 28 mask side.
 */
import * as tf from '@tensorflow/tfjs';
import type { MaskRCNNModel } from './model';
import { applyTrainTransforms, sampleTransformParams, type TrainTransformOptions } from '../data/transforms';
import type { CocoTarget } from '../data/coco_dataset';
import type { DecodedImage } from '../data/image_io';
import { fromMaskRowMajor } from '../data/mask/encode';
import type { Rle } from '../data/mask/rle';
import { FPN_LEVELS, type FpnLevel } from '../fpn/feature_pyramid_network';
import { LOSS_NAMES, type LossName } from '../losses/names';
import { nonCrowdIndices, pickBoxes } from '../targets/ground_truth';
import { MASK_TARGET_SIZE } from '../targets/mask_targets';
import { toTrainingBatch } from '../data/training_batch';
import { Rng } from '../util/random';
import { MaskRCNN } from '../model/mask_rcnn';
import type { TrainingForwardOptions, TrainingTargets } from '../model/training_forward';

const WHERE = 'inspectTargets';

/**
 * The ground truth of one image, in its original pixels (as a COCO dataset holds it).
 *
 * @example
 * ```ts
 * const annotations: TargetAnnotations = { boxes: [[12, 30, 60, 75]], labels: [1], masks: maskBytes }; // [1 * H0 * W0]
 * const fromDataset: TargetAnnotations = { boxes: t.gtBoxes, labels: t.gtLabels, masks: t.gtMasks, crowd: t.gtCrowd }; // t = ds.target(i)
 * ```
 */
export interface TargetAnnotations {
  /** `[G * 4]` or G rows of xyxy boxes in original pixels; clipped to the image as the dataset does. */
  readonly boxes: Float32Array | ReadonlyArray<readonly number[]>;
  /** `[G]` classes in `1 .. numClasses - 1`. */
  readonly labels: Int32Array | readonly number[];
  /**
   * The G masks of the original image: COCO RLEs (column-major, `h` x `w` = the image), as
   * `CocoDataset` gives the trainer, or `[G * H0 * W0]` row-major 0/1 bytes.
   */
  readonly masks: readonly Rle[] | Uint8Array;
  /** `[G]` non-zero for crowd regions (never positives, as in training). Default none. */
  readonly crowd?: Uint8Array | readonly number[];
}

/**
 * Random training augmentation, off unless given; drawn as the loader draws it.
 *
 * @example
 * ```ts
 * await inspectTargets(model, image, annotations, { augment: { seed: 3, flipProbability: 1 } }); // always flipped
 * ```
 */
export interface InspectAugmentation {
  /** Seed of the transform's random choices (size, jitter, flip), `new Rng(seed)`. */
  readonly seed: number;
  /** Short-side sizes, one picked per call. Default `[minSize]`. */
  readonly minSizes?: readonly number[];
  /** Probability of a horizontal flip. Default 0.5. */
  readonly flipProbability?: number;
  /** Scale jitter `[lo, hi]`, see `TrainTransformOptions.scaleJitter`. Default none. */
  readonly scaleJitter?: readonly [number, number];
}

/**
 * Options of {@link inspectTargets}; sampler sizes default to torchvision's (256 / 0.5, 512 / 0.25).
 *
 * @example
 * ```ts
 * const options: InspectTargetsOptions = { seed: 7, minSize: 640, rpnBatchSizePerImage: 64, roiBatchSizePerImage: 128 };
 * ```
 */
export interface InspectTargetsOptions {
  /** Seed of both samplers, `new Rng(seed)` drawn as the trainer draws its rng. Default 0. */
  readonly seed?: number;
  /** A random source to draw from instead of `seed` (e.g. a trainer's, restored); it advances. */
  readonly rng?: Rng;
  /** Short side of the resized image. Default the model's `transform.minSize`. */
  readonly minSize?: number;
  /** Cap on the long side. Default the model's `transform.maxSize`. */
  readonly maxSize?: number;
  /** Random flip / multi-scale / jitter as in training. Default none (deterministic resize). */
  readonly augment?: InspectAugmentation;
  readonly rpnBatchSizePerImage?: number;
  readonly rpnPositiveFraction?: number;
  readonly roiBatchSizePerImage?: number;
  readonly roiPositiveFraction?: number;
}

/**
 * The anchors of one FPN level and their RPN targets. Anchor a of the level is row a.
 *
 * @example
 * ```ts
 * const [p2] = (await inspectTargets(model, image, annotations)).anchors;
 * p2.labels.dataSync().filter((l) => l === 1).length; // positive anchors of level '0'
 * ```
 */
export interface InspectedAnchorLevel {
  readonly level: FpnLevel;
  /** `[Hl, Wl]` feature grid. */
  readonly gridSize: readonly [number, number];
  /** Row of the level's first anchor in the image's T anchors (levels are concatenated in order). */
  readonly offset: number;
  /** `[Al, 4]` xyxy anchors in resized-image pixels. */
  readonly anchors: tf.Tensor2D;
  /**
   * `[Al]` int32 matcher label (thresholds 0.7 / 0.3, low-quality matches allowed): 1 positive,
   * 0 negative, -1 ignored (between the thresholds).
   */
  readonly labels: tf.Tensor1D;
  /** `[Al]` int32 matched annotation index, or -1 (below 0.3) / -2 (between 0.3 and 0.7). */
  readonly matchedGtIndex: tf.Tensor1D;
  /** `[Al, 4]` box deltas (weights 1, 1, 1, 1) to the matched box on positives, 0 elsewhere. */
  readonly regressionTargets: tf.Tensor2D;
  /** `[Al]` int32 after the RPN sampler: 1 drawn positive, 0 drawn negative, -1 not drawn. */
  readonly sampled: tf.Tensor1D;
}

/**
 * The box head's inputs and samples.
 *
 * @example
 * ```ts
 * const { roi } = await inspectTargets(model, image, annotations);
 * roi.labels.dataSync(); // Int32Array [S]: class per drawn RoI, 0 background
 * ```
 */
export interface InspectedRoiTargets {
  /** `[R, 4]` proposals the RPN selected with its training settings (pre/post NMS top-n). */
  readonly proposals: tf.Tensor2D;
  /** `[R', 4]` the proposals, then the non-crowd GT boxes appended (torchvision's add_gt_proposals). */
  readonly candidates: tf.Tensor2D;
  /** `[S]` int32 rows of `candidates` drawn by the sampler, increasing. */
  readonly sampledIndices: tf.Tensor1D;
  /** `[S, 4]` the drawn boxes. */
  readonly boxes: tf.Tensor2D;
  /** `[S]` int32 class of the matched annotation (IoU >= 0.5), 0 for background. */
  readonly labels: tf.Tensor1D;
  /** `[S]` int32 matched annotation; meaningless on background rows (torchvision's clamp to 0). */
  readonly matchedGtIndex: tf.Tensor1D;
  /** `[S, 4]` box deltas (weights 10, 10, 5, 5) on positive rows, 0 on background. */
  readonly regressionTargets: tf.Tensor2D;
}

/**
 * The mask branch's inputs and targets: the positive box-head samples.
 *
 * @example
 * ```ts
 * const { mask } = await inspectTargets(model, image, annotations);
 * mask.targets.shape; // [P, 28, 28]
 * ```
 */
export interface InspectedMaskTargets {
  /** `[P]` int32 rows of the box-head samples that are positive. */
  readonly sampleRows: tf.Tensor1D;
  /** `[P, 4]` their boxes. */
  readonly boxes: tf.Tensor2D;
  /** `[P]` int32 their classes (the mask channel the loss reads). */
  readonly labels: tf.Tensor1D;
  /** `[P]` int32 their annotation. */
  readonly matchedGtIndex: tf.Tensor1D;
  /** `[P, M, M]` the annotation's mask cropped to the box and resized (RoIAlign), in [0, 1]. */
  readonly targets: tf.Tensor3D;
}

/**
 * What {@link inspectTargets} returns. Its tensors belong to it; free them with `dispose()`.
 *
 * @example
 * ```ts
 * const t: InspectedTargets = await inspectTargets(model, image, annotations, { seed: 1 });
 * console.log(t.losses.loss_objectness, t.rpnSampledPositives.shape);
 * t.dispose();
 * ```
 */
export interface InspectedTargets {
  /** `[1, Hp, Wp, 3]` the transformed image the losses saw: normalised, resized, padded. */
  readonly image: tf.Tensor4D;
  /** `[H, W]` the resized image before padding. */
  readonly imageSize: readonly [number, number];
  /** `[H0, W0]` the input image. */
  readonly originalSize: readonly [number, number];
  /** `[H / H0, W / W0]` in float32: the factors boxes were multiplied by. */
  readonly scale: readonly [number, number];
  /** Whether augmentation flipped the image (never without `augment`). */
  readonly flipped: boolean;
  /** `[G, 4]` the annotations' boxes in resized pixels. */
  readonly gtBoxes: tf.Tensor2D;
  /** `[G]` int32 their classes. */
  readonly gtLabels: tf.Tensor1D;
  /** One entry per FPN level, in {@link FPN_LEVELS} order. */
  readonly anchors: readonly InspectedAnchorLevel[];
  /** `[Pa]` int32 rows (of all T anchors) the RPN sampler drew as positives. */
  readonly rpnSampledPositives: tf.Tensor1D;
  /** `[Na]` int32 rows drawn as negatives. */
  readonly rpnSampledNegatives: tf.Tensor1D;
  readonly roi: InspectedRoiTargets;
  readonly mask: InspectedMaskTargets;
  /** The five losses of this image, as a training step on it alone computes them. */
  readonly losses: Readonly<Record<LossName, number>>;
  /** Frees every tensor above. */
  dispose(): void;
}

function toFloat32Boxes(boxes: TargetAnnotations['boxes']): Float32Array {
  if (boxes instanceof Float32Array) return boxes;
  if (!Array.isArray(boxes)) throw new Error(`Error in ${WHERE}: annotations.boxes must be a Float32Array [G * 4] or rows of 4 numbers`);
  boxes.forEach((b, i) => {
    if (!Array.isArray(b) || b.length !== 4) throw new Error(`Error in ${WHERE}: annotations.boxes[${i}] must be [x0, y0, x1, y1]`);
  });
  return Float32Array.from(boxes.flat());
}

/** The annotations as the dataset's target: boxes clipped and checked, masks as RLE. */
function toCocoTarget(a: TargetAnnotations, height: number, width: number, numClasses: number): CocoTarget {
  const raw = toFloat32Boxes(a.boxes);
  if (raw.length % 4 !== 0) throw new Error(`Error in ${WHERE}: annotations.boxes must hold 4 numbers per box, got ${raw.length}`);
  const g = raw.length / 4;
  const boxes = new Float32Array(raw.length);
  for (let i = 0; i < g; i++) {
    const [x0, y0, x1, y1] = raw.subarray(4 * i, 4 * i + 4);
    if (![x0, y0, x1, y1].every(Number.isFinite)) throw new Error(`Error in ${WHERE}: annotations.boxes[${i}] is not finite`);
    // CocoDataset clips to the image; a box with no area left is an error, not a silent drop.
    const c = [Math.min(Math.max(x0, 0), width), Math.min(Math.max(y0, 0), height), Math.min(Math.max(x1, 0), width), Math.min(Math.max(y1, 0), height)];
    if (!(c[2] > c[0] && c[3] > c[1])) {
      throw new Error(`Error in ${WHERE}: annotations.boxes[${i}] = [${x0}, ${y0}, ${x1}, ${y1}] has no area inside the ${height}x${width} image`);
    }
    boxes.set(c, 4 * i);
  }
  const labels = Int32Array.from(a.labels);
  if (labels.length !== g || !Array.from(a.labels).every((l) => Number.isInteger(l) && l >= 1 && l < numClasses)) {
    throw new Error(`Error in ${WHERE}: annotations.labels must be ${g} integers in 1..${numClasses - 1} (one per box, 0 is background)`);
  }
  const crowd = a.crowd === undefined ? new Uint8Array(g) : Uint8Array.from(a.crowd, (c) => (c ? 1 : 0));
  if (crowd.length !== g) throw new Error(`Error in ${WHERE}: annotations.crowd must have ${g} entries, got ${crowd.length}`);
  let masks: Rle[];
  if (a.masks instanceof Uint8Array) {
    const size = height * width;
    if (a.masks.length !== g * size) {
      throw new Error(`Error in ${WHERE}: annotations.masks as bytes must be [G * H0 * W0] = ${g * size} (${g} masks of ${height}x${width}), got ${a.masks.length}`);
    }
    masks = Array.from({ length: g }, (_, i) => fromMaskRowMajor((a.masks as Uint8Array).subarray(i * size, (i + 1) * size), height, width));
  } else {
    masks = [...a.masks];
    if (masks.length !== g || !masks.every((m) => m.h === height && m.w === width)) {
      throw new Error(`Error in ${WHERE}: annotations.masks must be ${g} RLEs of the ${height}x${width} image (or [G * H0 * W0] bytes)`);
    }
  }
  return {
    imageId: 0,
    fileName: WHERE,
    filePath: WHERE,
    height,
    width,
    annotationIds: Int32Array.from({ length: g }, (_, i) => i),
    gtBoxes: boxes,
    gtLabels: labels,
    gtCrowd: crowd,
    gtMasks: masks,
  };
}

function toDecodedImage(image: DecodedImage | tf.Tensor3D): DecodedImage {
  if (image instanceof tf.Tensor) {
    if (image.rank !== 3 || image.shape[2] !== 3 || image.dtype !== 'int32') {
      throw new Error(`Error in ${WHERE}: an image tensor must be int32 [H, W, 3] with values 0..255, got ${image.dtype} [${image.shape}]`);
    }
    const values = image.dataSync();
    if (!values.every((v) => v >= 0 && v <= 255)) throw new Error(`Error in ${WHERE}: image values must be in 0..255`);
    return { data: Uint8Array.from(values), height: image.shape[0], width: image.shape[1] };
  }
  const { data, height, width } = image;
  if (!(data instanceof Uint8Array) || !Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0 || data.length !== height * width * 3) {
    throw new Error(`Error in ${WHERE}: image must be { data: Uint8Array [H * W * 3] RGB, height, width } or an int32 tensor [H, W, 3]`);
  }
  return image;
}

function checkSeed(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isInteger(v)) throw new Error(`Error in ${WHERE}: ${name} must be an integer, got ${v}`);
}

const int1d = (a: ArrayLike<number>): tf.Tensor1D => tf.tensor1d(Int32Array.from(a), 'int32');
const boxes2d = (a: Float32Array): tf.Tensor2D => tf.tensor2d(a, [a.length / 4, 4]); // [n * 4] -> [n, 4]

/**
 * The training targets and losses of one image, computed by the trainer's own code: inspect what
 * the RPN and the RoI heads are asked to learn, or why a loss is what it is.
 *
 * The image is transformed as the training loader does (normalised with the model's mean and
 * std, resized so the short side is `minSize`, long side at most `maxSize`, padded to 32), with no
 * random augmentation unless `options.augment` asks. The samplers draw from `new Rng(seed)`, so
 * with the same seed and weights `losses` equals `network.trainingForward` (and a trainer step with
 * `seed`) on a batch of this image alone, bit for bit. Batch norms (`backboneNorm: 'batch'`) use
 * batch statistics as in a training step, and their running statistics do not move.
 *
 * @param model a `MaskRCNNModel` or its `network`.
 * @param image `{ data, height, width }` RGB bytes (what `readImage` gives) or an int32 `[H0, W0, 3]` tensor.
 * @param annotations boxes (xyxy, original pixels), labels and masks; may be empty.
 * @param options seed, resize, augmentation and sampler sizes.
 * @returns typed fields (see {@link InspectedTargets}); the caller disposes it.
 *
 * @example
 * ```ts
 * const t = await inspectTargets(model, await readImage('cat.jpg'), {
 *   boxes: [[12, 30, 200, 180]], labels: [17], masks: catMaskBytes, // [1 * H0 * W0] 0/1
 * }, { seed: 1 });
 * console.log(t.losses.loss_mask, t.anchors[0].labels.shape, t.mask.targets.shape); // [P, 28, 28]
 * t.dispose();
 * ```
 */
export async function inspectTargets(
  model: MaskRCNNModel | MaskRCNN,
  image: DecodedImage | tf.Tensor3D,
  annotations: TargetAnnotations,
  options: InspectTargetsOptions = {},
): Promise<InspectedTargets> {
  if (!(model instanceof MaskRCNN) && model.isDisposed) throw new Error(`Error in ${WHERE}: this MaskRCNNModel was disposed`);
  const network = model instanceof MaskRCNN ? model : model.network;
  checkSeed('options.seed', options.seed);
  checkSeed('options.augment.seed', options.augment?.seed);
  const decoded = toDecodedImage(image);
  const target = toCocoTarget(annotations, decoded.height, decoded.width, network.numClasses);

  const t = network.transform;
  const minSize = options.minSize ?? t.minSize;
  const maxSize = options.maxSize ?? t.maxSize;
  const aug = options.augment;
  const transform: TrainTransformOptions = {
    minSizes: aug?.minSizes ?? [minSize],
    maxSize,
    flipProbability: aug === undefined ? 0 : (aug.flipProbability ?? 0.5),
    scaleJitter: aug?.scaleJitter,
    // The model's own transform normalises before resizing; the trainer's loader does the same.
    normalize: { mean: t.imageMean, std: t.imageStd },
  };
  // Without augmentation nothing is drawn (one size, no flip, no jitter): any rng will do.
  const params = sampleTransformParams(new Rng(aug?.seed ?? 0), decoded.height, decoded.width, transform);
  const sample = applyTrainTransforms(decoded, target, params, transform);

  const samplers: TrainingForwardOptions = {
    rng: options.rng ?? new Rng(options.seed ?? 0),
    rpnBatchSizePerImage: options.rpnBatchSizePerImage,
    rpnPositiveFraction: options.rpnPositiveFraction,
    roiBatchSizePerImage: options.roiBatchSizePerImage,
    roiPositiveFraction: options.roiPositiveFraction,
  };
  const batch = toTrainingBatch([sample]); // images [1, Hp, Wp, 3]
  const body = network.backbone.body;
  let losses: Record<LossName, number>;
  let detail: TrainingTargets;
  // As the trainer's step: batch norms on batch statistics, nothing committed.
  body.setBatchNormTraining(true);
  try {
    const step = network.trainingForward(batch, samplers);
    detail = step.targets;
    const l = step.losses;
    losses = {} as Record<LossName, number>;
    for (const k of LOSS_NAMES) losses[k] = l[k].dataSync()[0];
    tf.dispose(Object.values(l));
  } catch (e) {
    batch.images.dispose();
    throw e;
  } finally {
    body.setBatchNormTraining(false);
  }

  const d = detail.images[0];
  const owned: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(x: T): T => {
    owned.push(x);
    return x;
  };
  own(batch.images);
  let offset = 0;
  const anchors = detail.levelAnchors.map((levelAnchors, l): InspectedAnchorLevel => {
    const n = levelAnchors.length / 4;
    const rows = (a: Float32Array | Int32Array, width = 1) => a.subarray(offset * width, (offset + n) * width);
    const level: InspectedAnchorLevel = {
      level: FPN_LEVELS[l],
      gridSize: detail.gridSizes[l],
      offset,
      anchors: own(boxes2d(levelAnchors)),
      labels: own(int1d(rows(d.rpn.labels))),
      matchedGtIndex: own(int1d(rows(d.rpn.matchedGtIndex))),
      regressionTargets: own(boxes2d(rows(d.rpn.regressionTargets, 4) as Float32Array)),
      sampled: own(int1d(rows(d.rpnSampledLabels))),
    };
    offset += n;
    return level;
  });
  const positives: number[] = [];
  const negatives: number[] = [];
  d.rpnSampledLabels.forEach((v, i) => (v === 1 ? positives.push(i) : v === 0 ? negatives.push(i) : undefined));

  const keep = nonCrowdIndices({ boxes: sample.gtBoxes, labels: sample.gtLabels, crowd: sample.gtCrowd }, WHERE);
  const candidates = new Float32Array(d.proposals.length + keep.length * 4); // [R * 4] ++ [G' * 4] -> [R' * 4]
  candidates.set(d.proposals);
  candidates.set(pickBoxes(sample.gtBoxes, keep), d.proposals.length);
  const m = d.masks;
  const P = m.labels.length;
  return {
    image: batch.images,
    imageSize: [sample.height, sample.width],
    originalSize: [decoded.height, decoded.width],
    scale: [Math.fround(sample.height / decoded.height), Math.fround(sample.width / decoded.width)],
    flipped: sample.flipped,
    gtBoxes: own(boxes2d(sample.gtBoxes)),
    gtLabels: own(int1d(sample.gtLabels)),
    anchors,
    rpnSampledPositives: own(int1d(positives)),
    rpnSampledNegatives: own(int1d(negatives)),
    roi: {
      proposals: own(boxes2d(d.proposals)),
      candidates: own(boxes2d(candidates)),
      sampledIndices: own(int1d(d.roi.sampledIndices)),
      boxes: own(boxes2d(d.roi.proposals)),
      labels: own(int1d(d.roi.labels)),
      matchedGtIndex: own(int1d(d.roi.matchedGtIndex)),
      regressionTargets: own(boxes2d(d.roi.regressionTargets)),
    },
    mask: {
      sampleRows: own(int1d(m.sampleRows)),
      boxes: own(boxes2d(m.proposals)),
      labels: own(int1d(m.labels)),
      matchedGtIndex: own(int1d(m.matchedGtIndex)),
      targets: own(tf.tensor3d(m.targets, [P, MASK_TARGET_SIZE, MASK_TARGET_SIZE])), // [P * M * M] -> [P, M, M]
    },
    losses,
    dispose: () => tf.dispose(owned),
  };
}
