/**
 * The published torchvision Mask R-CNN checkpoints, by name, as torchvision's weights enums
 * describe them (`torchvision/models/detection/mask_rcnn.py`, `MaskRCNN_ResNet50_FPN_Weights` and
 * `MaskRCNN_ResNet50_FPN_V2_Weights`). The names are torchvision's legacy `model_urls` keys, the
 * ones `torch.hub` users know.
 */
import type { MaskRCNNConfig } from '../model/mask_rcnn';
import { COCO_CATEGORY_NAMES } from '../model/coco_names';

/**
 * One published checkpoint: where it is, how to check it, what model it fits.
 *
 * @example
 * ```ts
 * const mine: WeightsEntry = {
 *   name: 'my_shapes',
 *   url: 'https://example.com/models/my_shapes-0123abcd.pth',
 *   fileName: 'my_shapes-0123abcd.pth',
 *   sha256Prefix: '0123abcd',
 *   config: { numClasses: 7 },
 *   classNames: ['__background__', 'circle', 'square', 'triangle', 'ellipse', 'star', 'hexagon'],
 * };
 * const model = await load(mine); // downloaded into the cache once, then read from there
 * ```
 */
export interface WeightsEntry {
  /** The name given to {@link load} / {@link fromTorchvision} / {@link downloadWeights}. */
  readonly name: string;
  /** Where torchvision publishes the file. */
  readonly url: string;
  /** The file's name in the cache (the last part of `url`). */
  readonly fileName: string;
  /**
   * The first hex digits of the file's sha256 (torchvision's convention: the hex after the last
   * `-` of the file name); checked before a download is accepted.
   */
  readonly sha256Prefix: string;
  /** The configuration the checkpoint was trained with (merged under `options.config` when loading). */
  readonly config: MaskRCNNConfig;
  /** Class names indexed by label, background first. */
  readonly classNames: readonly string[];
  /**
   * Why this library cannot build the model these weights belong to; the file can still be
   * downloaded. Absent when it loads.
   */
  readonly unsupported?: string;
  /** Published accuracy, for documentation. */
  readonly metrics?: WeightsMetrics;
  /** Parameters of the model, as torchvision states them. */
  readonly numParams?: number;
  /** How the weights were trained. */
  readonly recipe?: string;
}

/**
 * Accuracy published with a checkpoint: COCO AP (IoU 0.50:0.95, all areas, 100 detections) of
 * boxes and masks, in percent.
 *
 * @example
 * ```ts
 * const { boxAp, maskAp } = WEIGHTS_REGISTRY.maskrcnn_resnet50_fpn_coco.metrics!; // 37.9, 34.6
 * ```
 */
export interface WeightsMetrics {
  /** The data the AP was measured on, e.g. `'COCO-val2017'`. */
  readonly dataset: string;
  readonly boxAp: number;
  readonly maskAp: number;
}

/**
 * The names of the published checkpoints.
 *
 * @example
 * ```ts
 * const name: WeightsName = 'maskrcnn_resnet50_fpn_coco';
 * ```
 */
export type WeightsName = 'maskrcnn_resnet50_fpn_coco' | 'maskrcnn_resnet50_fpn_v2_coco';

/**
 * The published torchvision Mask R-CNN checkpoints by name. `maskrcnn_resnet50_fpn_v2_coco` is the
 * improved architecture of Li et al. 2021 (a 4-conv + 1-FC box head with GroupNorm, GroupNorm in
 * the FPN and mask head, two RPN convs): it downloads, but loading it is refused until the model
 * has that architecture (issue 17).
 *
 * @example
 * ```ts
 * for (const e of Object.values(WEIGHTS_REGISTRY)) console.log(e.name, e.metrics?.boxAp, e.unsupported ?? 'loads');
 * const model = await load('maskrcnn_resnet50_fpn_coco');
 * ```
 */
export const WEIGHTS_REGISTRY: Readonly<Record<WeightsName, WeightsEntry>> = Object.freeze({
  maskrcnn_resnet50_fpn_coco: Object.freeze({
    name: 'maskrcnn_resnet50_fpn_coco',
    url: 'https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth',
    fileName: 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth',
    sha256Prefix: 'bf2d0c1e',
    config: Object.freeze({ numClasses: 91 }),
    classNames: COCO_CATEGORY_NAMES,
    metrics: Object.freeze({ dataset: 'COCO-val2017', boxAp: 37.9, maskAp: 34.6 }),
    numParams: 44401393,
    recipe: 'https://github.com/pytorch/vision/tree/main/references/detection#mask-r-cnn',
  }),
  maskrcnn_resnet50_fpn_v2_coco: Object.freeze({
    name: 'maskrcnn_resnet50_fpn_v2_coco',
    url: 'https://download.pytorch.org/models/maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth',
    fileName: 'maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth',
    sha256Prefix: '73cbd019',
    config: Object.freeze({ numClasses: 91 }),
    classNames: COCO_CATEGORY_NAMES,
    unsupported:
      'it is Mask R-CNN v2 (maskrcnn_resnet50_fpn_v2: GroupNorm in the FPN and heads, a 4-conv + 1-FC box head, ' +
      'two RPN convs), which this library does not build yet (issue 17)',
    metrics: Object.freeze({ dataset: 'COCO-val2017', boxAp: 47.4, maskAp: 41.8 }),
    numParams: 46359409,
    recipe: 'https://github.com/pytorch/vision/pull/5773',
  }),
});

/**
 * The registered names, in registry order.
 *
 * @example
 * ```ts
 * WEIGHTS_NAMES; // ['maskrcnn_resnet50_fpn_coco', 'maskrcnn_resnet50_fpn_v2_coco']
 * ```
 */
export const WEIGHTS_NAMES: readonly WeightsName[] = Object.freeze(Object.keys(WEIGHTS_REGISTRY) as WeightsName[]);

/**
 * True when `name` is a registered checkpoint name.
 *
 * @example
 * ```ts
 * isWeightsName('maskrcnn_resnet50_fpn_coco'); // true
 * isWeightsName('models/coco.pth');            // false
 * ```
 */
export function isWeightsName(name: string): name is WeightsName {
  return Object.prototype.hasOwnProperty.call(WEIGHTS_REGISTRY, name);
}

/**
 * The entry of a registered name; an entry given as an object is checked and returned as is.
 *
 * @throws Error listing the known names when `name` is not one of them.
 * @example
 * ```ts
 * weightsEntry('maskrcnn_resnet50_fpn_coco').sha256Prefix; // 'bf2d0c1e'
 * weightsEntry('maskrcnn_r50');                            // throws: unknown weights 'maskrcnn_r50'; known names: ...
 * ```
 */
export function weightsEntry(name: string | WeightsEntry): WeightsEntry {
  return resolveWeights(name, 'weightsEntry');
}

/**
 * {@link weightsEntry} with the function named in its errors (`Error in load: ...`).
 *
 * @internal
 */
export function resolveWeights(name: string | WeightsEntry, fn: string): WeightsEntry {
  if (typeof name !== 'string') {
    checkWeightsEntry(name, fn);
    return name;
  }
  if (!isWeightsName(name)) throw new Error(`Error in ${fn}: ${unknownWeightsMessage(name)}`);
  return WEIGHTS_REGISTRY[name];
}

/**
 * `unknown weights 'x'; known names: a, b`, the tail of every error about an unknown name.
 *
 * @internal
 */
export function unknownWeightsMessage(name: string): string {
  return `unknown weights '${name}'; known names: ${WEIGHTS_NAMES.join(', ')}`;
}

/**
 * True when `source` reads as a weights name rather than a path or URL: letters, digits and
 * underscores, no dot or slash. A file or folder by that name needs `./` in front.
 *
 * @internal
 */
export function looksLikeWeightsName(source: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(source);
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Checks a caller's entry: the fields the download relies on, every problem at once. */
function checkWeightsEntry(e: WeightsEntry, fn: string): void {
  const problems: string[] = [];
  if (e === null || typeof e !== 'object') throw new Error(`Error in ${fn}: a weights entry must be an object, got ${String(e)}`);
  if (typeof e.name !== 'string' || e.name === '') problems.push('name must be a non-empty string');
  if (typeof e.url !== 'string' || !/^https?:\/\//i.test(e.url)) problems.push(`url must be an http:// or https:// URL, got ${JSON.stringify(e.url)}`);
  if (typeof e.fileName !== 'string' || !FILE_NAME.test(e.fileName) || e.fileName.includes('..')) {
    problems.push(`fileName must be a plain file name (letters, digits, '.', '_', '-'), got ${JSON.stringify(e.fileName)}`);
  }
  if (typeof e.sha256Prefix !== 'string' || !/^[0-9a-f]{8,64}$/.test(e.sha256Prefix)) {
    problems.push(`sha256Prefix must be 8 to 64 lowercase hex digits, got ${JSON.stringify(e.sha256Prefix)}`);
  }
  if (e.config === null || typeof e.config !== 'object') problems.push('config must be an object');
  if (!Array.isArray(e.classNames) || !e.classNames.every((n) => typeof n === 'string')) problems.push('classNames must be an array of strings');
  if (problems.length > 0) throw new Error(`Error in ${fn}: weights entry ${JSON.stringify(e.name)}: ${problems.join('; ')}`);
}
