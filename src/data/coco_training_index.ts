/**
 * A COCO instances file as training uses it: the entries {@link readCocoInstances} found valid,
 * with training's own rules on top, indexed per image.
 *
 * Shorthand: n instances in an image of H x W pixels; K categories.
 *
 * Policy: a bad image, category or annotation entry is skipped with a counted warning naming it
 * (the first thing wrong with it); a file in which every entry of a list is bad raises an Error
 * naming the file. The `area` field is not read (training computes nothing from it).
 *
 * Training's rules: a category id is positive in `'category-id'` label mode; an annotation's
 * image and category are valid entries; its box has no negative side and keeps an area once
 * clipped to the image; its segmentation passes {@link trainingSegmentation}.
 *
 * Category ids are arbitrary integers in COCO (1..90 with gaps); training labels are contiguous:
 * 0 is background and the categories sorted by id get 1..K (as detectron2 maps them).
 */
import { describeJson } from './json_value';
import { CocoInstances, FieldProblem, InstancesAnnotation, InstancesEntry, readCocoInstances } from './coco_instances';
import type { BoxXywh } from './mask';
import { TrainingSegmentation, trainingSegmentation } from './coco_segmentation';
import { WarningHandler, WarningLog } from './warnings';

/** How category ids become training labels. */
export type LabelMode = 'contiguous' | 'category-id';

/** Options of {@link indexForTraining} (and of the dataset that holds the index). */
export interface TrainingIndexOptions {
  /**
   * Drop images that have no usable annotation (crowd ones count). Default true, as torchvision's
   * detection reference scripts do for the training split (`_coco_remove_images_without_annotations`).
   * Set false to keep them as negative images (zero box and mask loss).
   */
  readonly filterEmpty?: boolean;
  /**
   * `'contiguous'` (default): categories sorted by id get labels 1..K.
   * `'category-id'`: the label is the category id itself, as torchvision's COCO weights use
   * (91 classes for COCO); ids must then be positive.
   */
  readonly labelMode?: LabelMode;
  /** Receives every warning; without it the first 20 are printed with console.warn. */
  readonly onWarning?: WarningHandler;
}

/** A category with its training label. */
export interface CocoCategory {
  readonly id: number;
  readonly name: string;
  readonly supercategory?: string;
  /** Training label (1..K in `'contiguous'` mode). */
  readonly label: number;
}

/** An image entry of the annotation file. */
export interface CocoImageInfo {
  readonly id: number;
  readonly fileName: string;
  /** Height and width as the annotation file states them (checked against the decoded image). */
  readonly height: number;
  readonly width: number;
}

/** Counts of what loading kept and dropped. */
export interface CocoDatasetStats {
  readonly images: number;
  readonly annotations: number;
  readonly crowdAnnotations: number;
  readonly skippedImages: number;
  readonly skippedCategories: number;
  readonly skippedAnnotations: number;
  /** Images dropped by `filterEmpty`. */
  readonly filteredEmptyImages: number;
}

/** A kept annotation: training label, xyxy box clipped to the image, checked segmentation. */
export interface TrainingAnnotation {
  readonly id: number;
  readonly label: number;
  readonly crowd: boolean;
  /** xyxy in absolute pixels, float32 values. */
  readonly box: readonly [number, number, number, number];
  readonly segmentation: TrainingSegmentation;
}

/** A kept image with its annotations in file order. */
export interface TrainingImage extends CocoImageInfo {
  readonly annotations: TrainingAnnotation[];
}

/** The result of {@link indexForTraining}. */
export interface TrainingIndex {
  readonly images: TrainingImage[];
  /** Sorted by id. */
  readonly categories: CocoCategory[];
  /** Background included: K + 1 (contiguous) or max id + 1 (category-id). */
  readonly numClasses: number;
  readonly warnings: WarningLog;
  readonly stats: CocoDatasetStats;
}

const f32 = Math.fround;

/**
 * Reads a parsed instances JSON for training. `source` names it in warnings and errors.
 *
 * @example
 * ```ts
 * const index = indexForTraining(JSON.parse(text), 'instances_train.json', { filterEmpty: true });
 * index.images[0].annotations[0].box; // [x1, y1, x2, y2]
 * ```
 */
export function indexForTraining(json: unknown, source: string, options: TrainingIndexOptions = {}): TrainingIndex {
  const labelMode = options.labelMode ?? 'contiguous';
  if (labelMode !== 'contiguous' && labelMode !== 'category-id') {
    throw new Error(`Error in loadCocoDataset: labelMode must be 'contiguous' or 'category-id', got ${describeJson(labelMode)}`);
  }
  const file = readCocoInstances(json, source, { requireAnnotations: true });
  const warnings = new WarningLog(options.onWarning);
  const fail = (what: string): never => {
    throw new Error(`Error in ${source}: ${what}`);
  };
  /** Warns the entry's first problem training cares about (or `extra`); true when there is one. */
  const skip: Skip = (e, extra) => {
    const p = e.problems.find((q) => q.field !== 'area') ?? extra;
    if (p !== undefined) warnings.warn(p.code, `${source}: ${e.name}`, p.message);
    return p !== undefined;
  };

  const images = keptImages(file, skip);
  const skippedImages = file.images.length - images.length;
  if (images.length === 0) fail(file.images.length === 0 ? 'has no images' : `none of its ${file.images.length} image entries is valid (${warnings.describe()})`);

  const categories = labelledCategories(file, labelMode, skip);
  const skippedCategories = file.categories.length - categories.length;
  if (categories.length === 0) {
    fail(file.categories.length === 0 ? 'has no categories' : `none of its ${file.categories.length} category entries is valid (${warnings.describe()})`);
  }
  const numClasses = labelMode === 'contiguous' ? categories.length + 1 : categories[categories.length - 1].id + 1;

  const imageById = new Map(images.map((im) => [im.id, im]));
  const labelOf = new Map(categories.map((c) => [c.id, c.label]));
  let crowd = 0;
  for (const e of file.annotations) {
    if (skip(e) || e.value === undefined) continue;
    const a = e.value;
    const im = imageById.get(a.imageId as number);
    if (im === undefined) {
      skip(e, unknown('image', a.imageId));
      continue;
    }
    const kept = trainingAnnotation(a, im, labelOf, `${source}: ${e.name}`, warnings);
    if ('code' in kept) {
      skip(e, kept);
      continue;
    }
    im.annotations.push(kept);
    if (kept.crowd) crowd++;
  }
  const keptAnnotations = images.reduce((s, im) => s + im.annotations.length, 0);
  if (file.annotations.length > 0 && keptAnnotations === 0) fail(`none of its ${file.annotations.length} annotations is usable (${warnings.describe()})`);

  const filterEmpty = options.filterEmpty ?? true;
  const finalImages = filterEmpty ? images.filter((im) => im.annotations.length > 0) : images;
  if (finalImages.length === 0) {
    fail(`no image has a usable annotation (${images.length} valid images; pass filterEmpty: false to keep images without annotations)`);
  }
  const stats: CocoDatasetStats = {
    images: finalImages.length,
    annotations: finalImages.reduce((s, im) => s + im.annotations.length, 0),
    crowdAnnotations: crowd,
    skippedImages,
    skippedCategories,
    skippedAnnotations: file.annotations.length - keptAnnotations,
    filteredEmptyImages: images.length - finalImages.length,
  };
  return { images: finalImages, categories, numClasses, warnings, stats };
}

type Skip = <T>(e: InstancesEntry<T>, extra?: Problem) => boolean;

function keptImages(file: CocoInstances, skip: Skip): TrainingImage[] {
  const images: TrainingImage[] = [];
  for (const e of file.images) {
    const v = e.value;
    // An entry without problems has every field; the test after skip() only narrows the types.
    if (skip(e) || v === undefined || v.fileName === undefined || v.height === undefined || v.width === undefined) continue;
    images.push({ id: v.id, fileName: v.fileName, height: v.height, width: v.width, annotations: [] });
  }
  return images;
}

function labelledCategories(file: CocoInstances, labelMode: LabelMode, skip: Skip): CocoCategory[] {
  const cats: Omit<CocoCategory, 'label'>[] = [];
  for (const e of file.categories) {
    const c = e.value;
    const nonPositive: Problem | undefined =
      labelMode === 'category-id' && c !== undefined && c.id <= 0
        ? { code: 'invalid-category', message: `id must be positive with labelMode 'category-id' (label 0 is background), got ${c.id}` }
        : undefined;
    if (skip(e, nonPositive) || c === undefined || c.name === undefined) continue;
    cats.push({ id: c.id, name: c.name, ...(c.supercategory !== undefined ? { supercategory: c.supercategory } : {}) });
  }
  cats.sort((a, b) => a.id - b.id);
  return cats.map((c, i) => ({ ...c, label: labelMode === 'contiguous' ? i + 1 : c.id }));
}

/** What is wrong with an annotation by training's rules. */
type Problem = Pick<FieldProblem, 'code' | 'message'>;

function unknown(what: 'image' | 'category', id: number | undefined): Problem {
  return { code: `unknown-${what}`, message: `${what}_id ${id} is not a valid ${what} of the file` };
}

/** Training's rules for an annotation of a kept image; `entry` names it in polygon-part warnings. */
function trainingAnnotation(
  a: InstancesAnnotation,
  im: CocoImageInfo,
  labelOf: ReadonlyMap<number, number>,
  entry: string,
  warnings: WarningLog,
): TrainingAnnotation | Problem {
  const label = labelOf.get(a.categoryId as number);
  if (label === undefined) return unknown('category', a.categoryId);
  // COCO xywh -> xyxy in float32 (torchvision's reference builds a float32 tensor and adds
  // x + w there), clipped to the image.
  const b = a.bbox as BoxXywh;
  const [bx, by, bw, bh] = b;
  if (bw < 0 || bh < 0) return { code: 'invalid-bbox', message: `bbox has a negative width or height: ${describeJson(b)}` };
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const box = [clip(f32(bx), im.width), clip(f32(by), im.height), clip(f32(f32(bx) + f32(bw)), im.width), clip(f32(f32(by) + f32(bh)), im.height)] as const;
  if (!(box[2] > box[0] && box[3] > box[1])) {
    return { code: 'degenerate-box', message: `bbox ${describeJson(b)} has no area inside the ${im.width}x${im.height} image (dropped, as torchvision's reference does)` };
  }
  const segmentation = trainingSegmentation(a.segmentation, im.height, im.width, entry, warnings);
  if (typeof segmentation === 'string') return { code: 'invalid-segmentation', message: segmentation };
  return { id: a.id, label, crowd: a.iscrowd, box, segmentation };
}
