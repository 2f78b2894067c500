/**
 * COCO instances datasets (`instances_*.json` + an images folder) for training Mask R-CNN.
 *
 * The file is read by the shared COCO reader and indexed with training's rules
 * (coco_training_index.ts); samples are decoded when drawn (coco_sample.ts). Masks stay as
 * polygons / RLE until then.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { CocoSample, cocoSample, CocoTarget, cocoTarget, readSampleImage } from './coco_sample';
import { CocoCategory, CocoDatasetStats, CocoImageInfo, indexForTraining, TrainingImage, TrainingIndexOptions } from './coco_training_index';
import type { DecodedImage } from './image_io';
import { readJsonFile } from './json_file';
import { isInsideFolder } from './relative_path';
import type { WarningLog } from './warnings';

export type { CocoSample, CocoTarget } from './coco_sample';
export type { CocoCategory, CocoDatasetStats, CocoImageInfo, LabelMode } from './coco_training_index';

/** Options of {@link loadCocoDataset}. */
export interface CocoDatasetOptions extends TrainingIndexOptions {
  /** Apply EXIF orientation when decoding images (default true, see `readImage`). */
  readonly applyExifOrientation?: boolean;
}

/**
 * A COCO instances dataset. Construct with {@link loadCocoDataset} (from files) or
 * {@link CocoDataset.fromJson} (from parsed JSON).
 *
 * @example
 * ```ts
 * const ds = await loadCocoDataset('data/annotations.json', 'data/images');
 * ds.length;                 // images kept
 * const s = await ds.get(0); // { image, height, width, gtBoxes, gtLabels, gtCrowd, gtMasks, ... }
 * ds.labelToCategoryId(s.gtLabels[0]);
 * ```
 */
export class CocoDataset {
  /** Categories sorted by id, with their labels. */
  readonly categories: readonly CocoCategory[];
  /** Number of classes including background: K + 1 (contiguous) or max id + 1 (category-id). */
  readonly numClasses: number;
  /** Warnings raised while loading and while drawing samples. */
  readonly warnings: WarningLog;
  readonly stats: CocoDatasetStats;

  private readonly images: TrainingImage[];
  private readonly labelToId: Map<number, number>;
  private readonly idToLabel: Map<number, number>;
  private readonly applyExifOrientation: boolean;

  private constructor(
    /** The annotation file (or the name given to fromJson), for messages. */
    readonly source: string,
    readonly imagesDir: string,
    json: unknown,
    options: CocoDatasetOptions,
  ) {
    const index = indexForTraining(json, source, options);
    this.images = index.images;
    this.categories = index.categories;
    this.numClasses = index.numClasses;
    this.warnings = index.warnings;
    this.stats = index.stats;
    this.applyExifOrientation = options.applyExifOrientation ?? true;
    this.labelToId = new Map(this.categories.map((c) => [c.label, c.id]));
    this.idToLabel = new Map(this.categories.map((c) => [c.id, c.label]));
  }

  /**
   * Builds a dataset from an already parsed instances JSON. `source` names it in messages.
   *
   * @example
   * ```ts
   * const ds = CocoDataset.fromJson(JSON.parse(text), 'instances_val.json', 'val2017/');
   * ```
   */
  static fromJson(json: unknown, source: string, imagesDir: string, options: CocoDatasetOptions = {}): CocoDataset {
    return new CocoDataset(source, imagesDir, json, options);
  }

  /** Number of images. */
  get length(): number {
    return this.images.length;
  }

  /** The image entry at `index` (0..length-1). */
  imageInfo(index: number): CocoImageInfo {
    const im = this.image(index);
    return { id: im.id, fileName: im.fileName, height: im.height, width: im.width };
  }

  /** COCO category id of a training label; throws for background or an unknown label. */
  labelToCategoryId(label: number): number {
    const id = this.labelToId.get(label);
    if (id === undefined) {
      throw new Error(`labelToCategoryId: label ${label} is not a category label (valid: ${[...this.labelToId.keys()].join(', ')})`);
    }
    return id;
  }

  /** Training label of a COCO category id; throws for an unknown id. */
  categoryIdToLabel(categoryId: number): number {
    const label = this.idToLabel.get(categoryId);
    if (label === undefined) {
      throw new Error(`categoryIdToLabel: category id ${categoryId} is not in ${this.source}`);
    }
    return label;
  }

  /** Ground truth of image `index` with masks as RLE; no file is read. */
  target(index: number): CocoTarget {
    const im = this.image(index);
    return cocoTarget(im, this.filePath(im), this.source);
  }

  /**
   * Decodes image `index` and checks its size against the annotation file. Throws an Error naming
   * the file when it is missing, corrupt, or of another size.
   */
  readImage(index: number): Promise<DecodedImage> {
    const im = this.image(index);
    return readSampleImage(this.filePath(im), im, this.source, this.applyExifOrientation);
  }

  /** Draws sample `index`: decoded image and ground truth with row-major masks. */
  async get(index: number): Promise<CocoSample> {
    const target = this.target(index);
    return cocoSample(target, await this.readImage(index));
  }

  private image(index: number): TrainingImage {
    if (!Number.isInteger(index) || index < 0 || index >= this.images.length) {
      throw new Error(`CocoDataset: index ${index} out of range 0..${this.images.length - 1}`);
    }
    return this.images[index];
  }

  private filePath(im: TrainingImage): string {
    // Entries are checked when loading; this guards datasets built any other way.
    if (!isInsideFolder(im.fileName)) throw new Error(`CocoDataset: ${this.source}: file_name ${JSON.stringify(im.fileName)} points outside ${this.imagesDir}`);
    return path.join(this.imagesDir, im.fileName);
  }
}

/**
 * Reads and validates a COCO instances file.
 *
 * @param annotationFile path of the instances JSON.
 * @param imagesDir folder the images' `file_name`s are relative to.
 * @example
 * ```ts
 * const ds = await loadCocoDataset('coco/annotations/instances_train2017.json', 'coco/train2017', {
 *   filterEmpty: true,
 *   onWarning: (w) => log.push(w),
 * });
 * ```
 */
export async function loadCocoDataset(annotationFile: string, imagesDir: string, options: CocoDatasetOptions = {}): Promise<CocoDataset> {
  const json = readJsonFile(annotationFile, 'annotation file', 'loadCocoDataset');
  try {
    const st = await fs.stat(imagesDir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new Error(`Error in loadCocoDataset: images folder ${imagesDir} is missing or not a directory (${(e as Error).message})`);
  }
  return CocoDataset.fromJson(json, annotationFile, imagesDir, options);
}
