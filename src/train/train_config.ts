/**
 * The training configuration (`train.json`): what to train on, which model, the schedule and
 * the bookkeeping. {@link resolveTrainConfig} checks a parsed JSON object completely and fills
 * the defaults of torchvision's detection reference (SGD, momentum 0.9, weight decay 1e-4,
 * linear warmup with factor 1/1000, step decay by 0.1), or throws one Error listing every bad
 * field.
 */
import type { ResNetDepth } from '../backbone/resnet';
import type { BackboneNorm } from '../backbone/batch_norm';
import type { OptimizerKind } from './optim';

/** A COCO-format dataset folder: an instances file and the images it names. */
export interface DatasetPaths {
  /** COCO instances json. */
  readonly annotationFile: string;
  /** Folder holding the `file_name`s of the instances file. */
  readonly imagesDir: string;
}

/**
 * The training configuration as written in `train.json` (optional fields have defaults).
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
  /** Evaluate only the first N held-out images; default all. */
  readonly evalMaxImages?: number;
  /** Torchvision `.pth` to fine-tune from (loaded non-strictly: new predictor layers); default: from scratch. */
  readonly init?: string;
  /** ResNet depth: 18, 34 (basic blocks), 50 (default) or 101. */
  readonly depth?: ResNetDepth;
  /** FPN channels (and so RPN head, box head and mask head inputs); default 256. */
  readonly fpnChannels?: number;
  /** Units of the box head's fc6 / fc7; default 1024. */
  readonly representationSize?: number;
  /** Output channels of the mask head's 3x3 convs; default [256, 256, 256, 256]. */
  readonly maskLayers?: readonly number[];
  /** Channels of the mask predictor's transposed conv; default 256. */
  readonly maskDimReduced?: number;
  /** Trainable ResNet stages from the top, 0-5; default 3 (torchvision's default). */
  readonly trainableBackboneLayers?: number;
  /**
   * The ResNet body's norms: `frozen` (default, FrozenBatchNorm2d) or `batch` (BatchNorm2d with
   * batch statistics while training, as torchvision builds a backbone trained from scratch).
   */
  readonly backboneNorm?: BackboneNorm;
  /** RPN proposals kept per level before NMS while training; default 2000. */
  readonly rpnPreNmsTopN?: number;
  /** RPN proposals kept per image after NMS while training; default 2000. */
  readonly rpnPostNmsTopN?: number;
  /** Anchors sampled per image for the RPN losses; default 256. */
  readonly rpnBatchSizePerImage?: number;
  /** Proposals sampled per image for the box head; default 512. */
  readonly roiBatchSizePerImage?: number;
  /** Largest share of positives among the anchors sampled for the RPN losses; default 0.5. */
  readonly rpnPositiveFraction?: number;
  /** Largest share of positives among the proposals sampled for the box head; default 0.25. */
  readonly roiPositiveFraction?: number;
  /** 'sgd' (default), 'adam' or 'adamw'. */
  readonly optimizer?: OptimizerKind;
  /** Base learning rate; default 0.02 * batchSize / 16 (the reference's linear scaling rule). */
  readonly lr?: number;
  /** SGD momentum; default 0.9. */
  readonly momentum?: number;
  /** Weight decay; default 1e-4. */
  readonly weightDecay?: number;
  /** Warmup iterations; default min(1000, iterations per epoch - 1), at least 1. */
  readonly warmupIters?: number;
  /** Warmup start factor in (0, 1]; default 0.001. */
  readonly warmupFactor?: number;
  /** Iterations (optimizer steps) at which the lr is multiplied by `gamma`; default none. */
  readonly milestones?: readonly number[];
  /** Decay factor at each milestone; default 0.1. */
  readonly gamma?: number;
  /** Clip the global gradient norm to this value; default no clipping. */
  readonly clipGradNorm?: number;
  /** Steps to train; default `epochs` times the batches per epoch. */
  readonly maxSteps?: number;
  /** Epochs to train when `maxSteps` is not given; default 1. */
  readonly epochs?: number;
  /** Images per step; default 2. */
  readonly batchSize?: number;
  /** Short-side sizes, one drawn per image; default [800]. */
  readonly minSizes?: readonly number[];
  /** Cap on the long side; default 1333. */
  readonly maxSize?: number;
  /** Horizontal flip probability; default 0.5. */
  readonly flipProbability?: number;
  /** Seed of shuffling, transforms and sampling; default 0. */
  readonly seed?: number;
  /** Where checkpoints and the final model go. */
  readonly outputDir: string;
  /** Save a checkpoint every N steps (and at the end); default 500. */
  readonly checkpointEvery?: number;
  /** Checkpoints kept; default 3. */
  readonly keep?: number;
  /** Evaluate on `val` every N steps; default 0 (only at the end, when `val` is given). */
  readonly evalEvery?: number;
  /** Report progress every N steps; default 20. */
  readonly logEvery?: number;
  /** Stop when the wasm heap passes this many GiB; default 3.5. */
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
  const c = o as unknown as TrainConfig;
  return {
    ...c,
    depth: c.depth ?? 50,
    trainableBackboneLayers: c.trainableBackboneLayers ?? 3,
    backboneNorm: c.backboneNorm ?? 'frozen',
    rpnPreNmsTopN: c.rpnPreNmsTopN ?? 2000,
    rpnPostNmsTopN: c.rpnPostNmsTopN ?? 2000,
    rpnBatchSizePerImage: c.rpnBatchSizePerImage ?? 256,
    roiBatchSizePerImage: c.roiBatchSizePerImage ?? 512,
    rpnPositiveFraction: c.rpnPositiveFraction ?? 0.5,
    roiPositiveFraction: c.roiPositiveFraction ?? 0.25,
    optimizer: c.optimizer ?? 'sgd',
    momentum: c.momentum ?? 0.9,
    weightDecay: c.weightDecay ?? 1e-4,
    warmupFactor: c.warmupFactor ?? 0.001,
    milestones: c.milestones ?? [],
    gamma: c.gamma ?? 0.1,
    batchSize: c.batchSize ?? 2,
    minSizes: c.minSizes ?? [800],
    maxSize: c.maxSize ?? 1333,
    flipProbability: c.flipProbability ?? 0.5,
    seed: c.seed ?? 0,
    checkpointEvery: c.checkpointEvery ?? 500,
    keep: c.keep ?? 3,
    evalEvery: c.evalEvery ?? 0,
    logEvery: c.logEvery ?? 20,
    heapLimitGiB: c.heapLimitGiB ?? 3.5,
  };
}
