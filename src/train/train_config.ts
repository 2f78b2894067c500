/**
 * The training configuration (`train.json`): what to train on, which model, the schedule and
 * the bookkeeping. {@link resolveTrainConfig} checks a parsed JSON object completely, or throws
 * one Error listing every bad field, and fills the defaults from {@link TRAIN_CONFIG_DEFAULTS}:
 * the one table of them, taken from torchvision's detection reference script. Docs read that
 * table (docs/training.md's defaults table is checked against it by
 * test/train/train_config_defaults.test.ts); the defaults that depend on the dataset or the
 * model are described in {@link TRAIN_CONFIG_DEFAULT_NOTES}.
 */
import type { ResNetDepth } from '../backbone/resnet';
import type { BackboneNorm } from '../backbone/batch_norm';
import { DEFAULT_HEAP_LIMIT_BYTES } from './heap_guard';
import type { OptimizerKind } from './optim';

/** A COCO-format dataset folder: an instances file and the images it names. */
export interface DatasetPaths {
  /** COCO instances json. */
  readonly annotationFile: string;
  /** Folder holding the `file_name`s of the instances file. */
  readonly imagesDir: string;
}

/**
 * The training configuration as written in `train.json`. Optional fields take their defaults from
 * {@link TRAIN_CONFIG_DEFAULTS}, or, where the dataset or the model decides, as
 * {@link TRAIN_CONFIG_DEFAULT_NOTES} says.
 *
 * @example
 * ```json
 * { "train": { "annotationFile": "shapes/instances.json", "imagesDir": "shapes/images" },
 *   "outputDir": "runs/shapes", "minSizes": [160], "maxSize": 256, "lr": 0.01, "maxSteps": 500 }
 * ```
 */
export interface TrainConfig {
  /** Training set. */
  readonly train: DatasetPaths;
  /** Held-out set evaluated every `evalEvery` steps and at the end (box and mask AP). */
  readonly val?: DatasetPaths;
  /** Evaluate only the first N held-out images. */
  readonly evalMaxImages?: number;
  /** Torchvision `.pth` to fine-tune from (loaded non-strictly: new predictor layers). */
  readonly init?: string;
  /** ResNet depth: 18, 34 (basic blocks), 50 or 101. */
  readonly depth?: ResNetDepth;
  /** FPN channels (and so RPN head, box head and mask head inputs). */
  readonly fpnChannels?: number;
  /** Units of the box head's fc6 / fc7. */
  readonly representationSize?: number;
  /** Output channels of the mask head's 3x3 convs, one per conv. */
  readonly maskLayers?: readonly number[];
  /** Channels of the mask predictor's transposed conv. */
  readonly maskDimReduced?: number;
  /** Trainable ResNet stages from the top, 0-5. */
  readonly trainableBackboneLayers?: number;
  /**
   * The ResNet body's norms: `frozen` (FrozenBatchNorm2d) or `batch` (BatchNorm2d with
   * batch statistics while training, as torchvision builds a backbone trained from scratch).
   */
  readonly backboneNorm?: BackboneNorm;
  /** RPN proposals kept per level before NMS while training. */
  readonly rpnPreNmsTopN?: number;
  /** RPN proposals kept per image after NMS while training. */
  readonly rpnPostNmsTopN?: number;
  /** Anchors sampled per image for the RPN losses. */
  readonly rpnBatchSizePerImage?: number;
  /** Proposals sampled per image for the box head. */
  readonly roiBatchSizePerImage?: number;
  /** Largest share of positives among the anchors sampled for the RPN losses. */
  readonly rpnPositiveFraction?: number;
  /** Largest share of positives among the proposals sampled for the box head. */
  readonly roiPositiveFraction?: number;
  /** 'sgd', 'adam' or 'adamw'. */
  readonly optimizer?: OptimizerKind;
  /** Base learning rate. */
  readonly lr?: number;
  /** SGD momentum. */
  readonly momentum?: number;
  /** Weight decay. */
  readonly weightDecay?: number;
  /** Warmup iterations. */
  readonly warmupIters?: number;
  /** Warmup start factor in (0, 1]. */
  readonly warmupFactor?: number;
  /** Iterations (optimizer steps) at which the lr is multiplied by `gamma`. */
  readonly milestones?: readonly number[];
  /** Decay factor at each milestone. */
  readonly gamma?: number;
  /** Clip the global gradient norm to this value. */
  readonly clipGradNorm?: number;
  /** Steps to train (give this or `epochs`). */
  readonly maxSteps?: number;
  /** Epochs to train (give this or `maxSteps`). */
  readonly epochs?: number;
  /** Images per step. */
  readonly batchSize?: number;
  /** Short-side sizes, one drawn per image. */
  readonly minSizes?: readonly number[];
  /** Cap on the long side. */
  readonly maxSize?: number;
  /** Horizontal flip probability. */
  readonly flipProbability?: number;
  /** Seed of shuffling, transforms, sampling and the initial weights. */
  readonly seed?: number;
  /** Where checkpoints and the final model go. */
  readonly outputDir: string;
  /** Save a checkpoint every N steps (and at the end). */
  readonly checkpointEvery?: number;
  /** Checkpoints kept. */
  readonly keep?: number;
  /** Evaluate on `val` every N steps; 0: only at the end (when `val` is given). */
  readonly evalEvery?: number;
  /** Report progress every N steps. */
  readonly logEvery?: number;
  /** Stop when the wasm heap passes this many GiB. */
  readonly heapLimitGiB?: number;
}

/**
 * A checked configuration with every default filled in, except those that depend on the dataset
 * (lr, warmupIters, the length) and the optional features. Resolving it again gives it back.
 */
export type ResolvedTrainConfig = Required<Omit<TrainConfig, TrainConfigOptionalField>> & Pick<TrainConfig, TrainConfigOptionalField>;

/**
 * Fields left undefined by {@link resolveTrainConfig} when not given (the model's defaults apply).
 *
 * @example
 * ```ts
 * const field: TrainConfigOptionalField = 'fpnChannels';
 * ```
 */
export type TrainConfigOptionalField =
  | 'val' | 'init' | 'evalMaxImages' | 'lr' | 'warmupIters' | 'clipGradNorm' | 'maxSteps' | 'epochs'
  | 'fpnChannels' | 'representationSize' | 'maskLayers' | 'maskDimReduced';

/** Fields that {@link resolveTrainConfig} fills from {@link TRAIN_CONFIG_DEFAULTS} when not given. */
export type TrainConfigDefaultedField = Exclude<keyof TrainConfig, TrainConfigOptionalField | 'train' | 'outputDir'>;

/**
 * The defaults of `train.json`, the one table of them: {@link resolveTrainConfig} fills every
 * field not given from here, and the docs read it (docs/training.md's table is checked against
 * it). The model and optimizer values are torchvision's (`maskrcnn_resnet50_fpn`'s and the
 * detection reference script's: SGD, momentum 0.9, weight decay 1e-4, warmup factor 1/1000,
 * gamma 0.1, 2 images per step); `milestones` (none, where the script decays at epochs 16 and
 * 22), `seed` and the bookkeeping fields are this library's, `heapLimitGiB` heap_guard.ts's.
 *
 * @example
 * ```ts
 * TRAIN_CONFIG_DEFAULTS.momentum; // 0.9
 * resolveTrainConfig({ train, outputDir: 'runs/a' }).keep === TRAIN_CONFIG_DEFAULTS.keep; // true
 * ```
 */
export const TRAIN_CONFIG_DEFAULTS: { readonly [K in TrainConfigDefaultedField]-?: NonNullable<TrainConfig[K]> } = Object.freeze({
  depth: 50,
  trainableBackboneLayers: 3,
  backboneNorm: 'frozen',
  rpnPreNmsTopN: 2000,
  rpnPostNmsTopN: 2000,
  rpnBatchSizePerImage: 256,
  roiBatchSizePerImage: 512,
  rpnPositiveFraction: 0.5,
  roiPositiveFraction: 0.25,
  optimizer: 'sgd',
  momentum: 0.9,
  weightDecay: 1e-4,
  warmupFactor: 0.001,
  milestones: Object.freeze([]),
  gamma: 0.1,
  batchSize: 2,
  minSizes: Object.freeze([800]),
  maxSize: 1333,
  flipProbability: 0.5,
  seed: 0,
  checkpointEvery: 500,
  keep: 3,
  evalEvery: 0,
  logEvery: 20,
  // The guard's own default, so that the two cannot disagree.
  heapLimitGiB: DEFAULT_HEAP_LIMIT_BYTES / 1024 ** 3,
});

/**
 * What happens when an optional field that has no value in {@link TRAIN_CONFIG_DEFAULTS} is not
 * given: the trainer works it out from the dataset, or the model keeps its own default. Words for
 * the docs, not values: {@link resolveTrainConfig} leaves these fields undefined.
 *
 * @example
 * ```ts
 * TRAIN_CONFIG_DEFAULT_NOTES.lr; // '0.02 * batchSize / 16 (the reference\'s linear scaling rule)'
 * ```
 */
export const TRAIN_CONFIG_DEFAULT_NOTES: Readonly<Record<TrainConfigOptionalField, string>> = Object.freeze({
  val: 'none: no evaluation',
  evalMaxImages: 'every held-out image',
  init: 'none: trained from scratch',
  lr: "0.02 * batchSize / 16 (the reference's linear scaling rule)",
  warmupIters: 'min(1000, batches per epoch - 1), at least 1',
  clipGradNorm: 'none: no clipping',
  maxSteps: 'epochs * batches per epoch',
  epochs: '1, when maxSteps is not given',
  fpnChannels: "the model's (MaskRCNNConfig)",
  representationSize: "the model's (MaskRCNNConfig)",
  maskLayers: "the model's (MaskRCNNConfig)",
  maskDimReduced: "the model's (MaskRCNNConfig)",
});

/**
 * The defaults that depend on the dataset, computed as {@link TRAIN_CONFIG_DEFAULT_NOTES} says:
 * total steps, base learning rate and warmup length of a run whose loader has `batchesPerEpoch`.
 *
 * @example
 * ```ts
 * const { totalSteps, lr, warmupIters } = datasetDefaults(resolveTrainConfig(config), loader.numBatches);
 * ```
 */
export function datasetDefaults(c: ResolvedTrainConfig, batchesPerEpoch: number): { totalSteps: number; lr: number; warmupIters: number } {
  return {
    totalSteps: c.maxSteps ?? (c.epochs ?? 1) * batchesPerEpoch,
    lr: c.lr ?? (0.02 * c.batchSize) / 16,
    warmupIters: c.warmupIters ?? Math.max(1, Math.min(1000, batchesPerEpoch - 1)),
  };
}

/** Every field a `train.json` may hold. */
export const TRAIN_CONFIG_FIELDS: readonly (keyof TrainConfig)[] = [
  'train', 'val', 'evalMaxImages', 'init', 'depth', 'fpnChannels', 'representationSize', 'maskLayers', 'maskDimReduced', 'trainableBackboneLayers', 'backboneNorm', 'rpnPreNmsTopN', 'rpnPostNmsTopN',
  'rpnBatchSizePerImage', 'roiBatchSizePerImage', 'rpnPositiveFraction', 'roiPositiveFraction', 'optimizer', 'lr', 'momentum', 'weightDecay', 'warmupIters',
  'warmupFactor', 'milestones', 'gamma', 'clipGradNorm', 'maxSteps', 'epochs', 'batchSize', 'minSizes', 'maxSize',
  'flipProbability', 'seed', 'outputDir', 'checkpointEvery', 'keep', 'evalEvery', 'logEvery', 'heapLimitGiB',
];

const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'adam', 'adamw'];

type Check = (v: unknown) => string | undefined;

const describe = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v) ?? String(v));

const integer = (lo: number, hi = Number.MAX_SAFE_INTEGER): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `must be an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? 'inf' : hi}]`;

const number = (lo: number, hi: number, openLo = false): Check => (v) =>
  typeof v === 'number' && Number.isFinite(v) && (openLo ? v > lo : v >= lo) && v <= hi
    ? undefined
    : `must be a number in ${openLo ? '(' : '['}${lo}, ${hi === Infinity ? 'inf)' : `${hi}]`}`;

const nonEmptyString: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'must be a non-empty string (a path)');

const dataset: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object { "annotationFile": ..., "imagesDir": ... }';
  const o = v as Record<string, unknown>;
  const bad = ['annotationFile', 'imagesDir'].filter((k) => nonEmptyString(o[k]) !== undefined);
  const extra = Object.keys(o).filter((k) => k !== 'annotationFile' && k !== 'imagesDir');
  if (bad.length > 0) return `needs non-empty string paths ${bad.join(', ')}`;
  if (extra.length > 0) return `has unknown fields ${extra.join(', ')} (expected annotationFile, imagesDir)`;
  return undefined;
};

const integerList = (lo: number, nonEmpty: boolean, ascending: boolean): Check => (v) => {
  const ok =
    Array.isArray(v) &&
    (!nonEmpty || v.length > 0) &&
    v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= lo) &&
    (!ascending || v.every((x, i) => i === 0 || (x as number) >= (v[i - 1] as number)));
  return ok ? undefined : `must be a${nonEmpty ? ' non-empty' : 'n'} ${ascending ? 'ascending ' : ''}list of integers >= ${lo}`;
};

const CHECKS: Record<keyof TrainConfig, Check> = {
  train: dataset,
  val: dataset,
  evalMaxImages: integer(1),
  init: nonEmptyString,
  depth: (v) => (v === 18 || v === 34 || v === 50 || v === 101 ? undefined : 'must be 18, 34, 50 or 101'),
  fpnChannels: integer(1, 8192),
  representationSize: integer(1, 8192),
  maskLayers: (v) => (Array.isArray(v) && v.length >= 1 && v.length <= 16 && v.every((x) => integer(1, 8192)(x) === undefined) ? undefined : 'must be a list of 1 to 16 integers in [1, 8192]'),
  maskDimReduced: integer(1, 8192),
  trainableBackboneLayers: integer(0, 5),
  backboneNorm: (v) => (v === 'frozen' || v === 'batch' ? undefined : "must be 'frozen' or 'batch'"),
  rpnPreNmsTopN: integer(1),
  rpnPostNmsTopN: integer(1),
  rpnBatchSizePerImage: integer(1),
  roiBatchSizePerImage: integer(1),
  rpnPositiveFraction: number(0, 1, true),
  roiPositiveFraction: number(0, 1, true),
  optimizer: (v) => (OPTIMIZERS.includes(v as OptimizerKind) ? undefined : `must be one of ${OPTIMIZERS.join(', ')}`),
  lr: number(0, Infinity, true),
  momentum: number(0, 1),
  weightDecay: number(0, Infinity),
  warmupIters: integer(1),
  warmupFactor: number(0, 1, true),
  milestones: integerList(1, false, true),
  gamma: number(0, Infinity, true),
  clipGradNorm: number(0, Infinity, true),
  maxSteps: integer(1),
  epochs: integer(1),
  batchSize: integer(1),
  minSizes: integerList(1, true, false),
  maxSize: integer(1),
  flipProbability: number(0, 1),
  seed: integer(0),
  outputDir: nonEmptyString,
  checkpointEvery: integer(1),
  keep: integer(1),
  evalEvery: integer(0),
  logEvery: integer(1),
  heapLimitGiB: number(0, 4, true),
};

/**
 * Checks a parsed `train.json` and fills the defaults.
 *
 * @param raw the parsed JSON.
 * @param source where it came from, for messages (a file path).
 * @throws Error listing every unknown, missing or invalid field with what it must be.
 *
 * @example
 * ```ts
 * const config = resolveTrainConfig(JSON.parse(fs.readFileSync('train.json', 'utf8')), 'train.json');
 * config.momentum; // 0.9
 * ```
 */
export function resolveTrainConfig(raw: unknown, source = 'training config'): ResolvedTrainConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`Error in ${source}: expected a JSON object of training settings, got ${describe(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o)) {
    if (!(TRAIN_CONFIG_FIELDS as readonly string[]).includes(k)) problems.push(`${k}: unknown field (valid fields: ${TRAIN_CONFIG_FIELDS.join(', ')})`);
  }
  for (const k of ['train', 'outputDir'] as const) if (o[k] === undefined) problems.push(`${k}: required`);
  for (const k of TRAIN_CONFIG_FIELDS) {
    if (o[k] === undefined) continue;
    const why = CHECKS[k](o[k]);
    if (why !== undefined) problems.push(`${k}: ${why}, got ${describe(o[k])}`);
  }
  if (o.maxSteps !== undefined && o.epochs !== undefined) problems.push('maxSteps, epochs: give one of them, not both');
  if (problems.length > 0) throw new Error(`Error in ${source}: invalid training config:\n  ${problems.join('\n  ')}`);
  // Fields given as undefined count as not given, so they take the default too.
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as unknown as TrainConfig;
  return { ...TRAIN_CONFIG_DEFAULTS, ...given };
}
