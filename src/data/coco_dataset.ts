/**
 * COCO instances datasets (`instances_*.json` + an images folder) for training Mask R-CNN.
 *
 * Shorthand: n instances in an image of H x W pixels; K categories.
 *
 * Loading validates every entry once: a bad image, category or annotation entry is skipped with
 * a counted warning naming it; a bad file (unreadable, not JSON, missing `images`) raises an
 * Error naming the file, and so does a file in which every entry was bad. Masks stay as
 * polygons / RLE until a sample is drawn.
 *
 * Category ids are arbitrary integers in COCO (1..90 with gaps); training labels are contiguous:
 * 0 is background and the categories sorted by id get 1..K (as detectron2 maps them).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { annToRle, decodeMasksRowMajor, Rle } from './mask';

export { decodeMasksRowMajor };
import { DecodedImage, readImage } from './image_io';
import { WarningHandler, WarningLog } from './warnings';

/** How category ids become training labels. */
export type LabelMode = 'contiguous' | 'category-id';

/** Options of {@link loadCocoDataset}. */
export interface CocoDatasetOptions {
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
  /** Apply EXIF orientation when decoding images (default true, see {@link readImage}). */
  readonly applyExifOrientation?: boolean;
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

/**
 * Ground truth of one image, masks still run-length encoded (nothing decoded).
 * Crowd regions are flagged in `gtCrowd` and must never be used as positives.
 */
export interface CocoTarget {
  readonly imageId: number;
  readonly fileName: string;
  readonly filePath: string;
  readonly height: number;
  readonly width: number;
  /** COCO annotation ids, `[n]`. */
  readonly annotationIds: Int32Array;
  /** `[n * 4]` xyxy, absolute pixels, clipped to the image, float32 as torchvision's reference. */
  readonly gtBoxes: Float32Array;
  /** `[n]` training labels (see {@link LabelMode}). */
  readonly gtLabels: Int32Array;
  /** `[n]` 1 for crowd regions. */
  readonly gtCrowd: Uint8Array;
  /** `[n]` masks as RLE of H x W (column-major, COCO's layout). */
  readonly gtMasks: Rle[];
}

/** A drawn sample: the decoded image and its ground truth with masks decoded. */
export interface CocoSample extends Omit<CocoTarget, 'gtMasks'> {
  /** `[H, W, 3]` RGB, row-major, 8-bit. */
  readonly image: Uint8Array;
  /** `[n, H, W]` row-major 0/1 masks. */
  readonly gtMasks: Uint8Array;
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

type StoredSegmentation = { readonly kind: 'polygons'; readonly polygons: number[][] } | { readonly kind: 'rle'; readonly rle: Rle };

interface StoredAnnotation {
  readonly id: number;
  readonly label: number;
  readonly crowd: boolean;
  readonly box: readonly [number, number, number, number];
  readonly segmentation: StoredSegmentation;
}

interface StoredImage extends CocoImageInfo {
  readonly annotations: StoredAnnotation[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const f32 = Math.fround;

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

  private readonly images: StoredImage[];
  private readonly labelToId: Map<number, number>;
  private readonly idToLabel: Map<number, number>;
  private readonly applyExifOrientation: boolean;

  private constructor(
    /** The annotation file (or the name given to fromJson), for messages. */
    readonly source: string,
    readonly imagesDir: string,
    images: StoredImage[],
    categories: CocoCategory[],
    numClasses: number,
    warnings: WarningLog,
    stats: CocoDatasetStats,
    applyExifOrientation: boolean,
  ) {
    this.images = images;
    this.categories = categories;
    this.numClasses = numClasses;
    this.warnings = warnings;
    this.stats = stats;
    this.applyExifOrientation = applyExifOrientation;
    this.labelToId = new Map(categories.map((c) => [c.label, c.id]));
    this.idToLabel = new Map(categories.map((c) => [c.id, c.label]));
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
    const p = parseInstances(json, source, options);
    return new CocoDataset(
      source,
      imagesDir,
      p.images,
      p.categories,
      p.numClasses,
      p.warnings,
      p.stats,
      options.applyExifOrientation ?? true,
    );
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
    const n = im.annotations.length;
    const gtBoxes = new Float32Array(n * 4);
    const gtLabels = new Int32Array(n);
    const gtCrowd = new Uint8Array(n);
    const annotationIds = new Int32Array(n);
    const gtMasks: Rle[] = [];
    im.annotations.forEach((a, i) => {
      gtBoxes.set(a.box, i * 4);
      gtLabels[i] = a.label;
      gtCrowd[i] = a.crowd ? 1 : 0;
      annotationIds[i] = a.id;
      // Polygons were validated at load; rasterising them is the lazy part.
      gtMasks.push(
        a.segmentation.kind === 'rle'
          ? a.segmentation.rle
          : annToRle(a.segmentation.polygons, im.height, im.width, `${this.source}: annotation id ${a.id}`),
      );
    });
    return {
      imageId: im.id,
      fileName: im.fileName,
      filePath: this.filePath(im),
      height: im.height,
      width: im.width,
      annotationIds,
      gtBoxes,
      gtLabels,
      gtCrowd,
      gtMasks,
    };
  }

  /**
   * Decodes image `index` and checks its size against the annotation file. Throws an Error naming
   * the file when it is missing, corrupt, or of another size.
   */
  async readImage(index: number): Promise<DecodedImage> {
    const im = this.image(index);
    const file = this.filePath(im);
    const img = await readImage(file, { applyExifOrientation: this.applyExifOrientation });
    if (img.height !== im.height || img.width !== im.width) {
      const swapped = img.height === im.width && img.width === im.height;
      throw new Error(
        `image ${file} (id ${im.id}): decoded size is ${img.height}x${img.width} (HxW${this.applyExifOrientation ? ', after EXIF orientation' : ''}) ` +
          `but ${this.source} says height=${im.height} width=${im.width}` +
          (swapped ? `; the sides are swapped, so the EXIF orientation is likely the cause (try applyExifOrientation: ${!this.applyExifOrientation})` : ''),
      );
    }
    return img;
  }

  /** Draws sample `index`: decoded image and ground truth with row-major masks. */
  async get(index: number): Promise<CocoSample> {
    const t = this.target(index);
    const img = await this.readImage(index);
    return { ...t, image: img.data, gtMasks: decodeMasksRowMajor(t.gtMasks, t.height, t.width) };
  }

  private image(index: number): StoredImage {
    if (!Number.isInteger(index) || index < 0 || index >= this.images.length) {
      throw new Error(`CocoDataset: index ${index} out of range 0..${this.images.length - 1}`);
    }
    return this.images[index];
  }

  private filePath(im: StoredImage): string {
    // Entries are checked when loading; this guards datasets built any other way.
    if (!isInsideImagesDir(im.fileName)) throw new Error(`CocoDataset: ${this.source}: file_name ${JSON.stringify(im.fileName)} points outside ${this.imagesDir}`);
    return path.join(this.imagesDir, im.fileName);
  }
}

/**
 * True when a COCO `file_name` names a file inside the images folder: relative (POSIX and
 * Windows), no NUL byte, and no `..` that climbs out of the folder.
 */
function isInsideImagesDir(fileName: string): boolean {
  if (fileName.includes('\0') || path.isAbsolute(fileName) || path.win32.isAbsolute(fileName) || /^[a-zA-Z]:/.test(fileName)) return false;
  const normal = path.posix.normalize(fileName.replace(/\\/g, '/'));
  return normal !== '.' && normal !== '..' && !normal.startsWith('../');
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
export async function loadCocoDataset(
  annotationFile: string,
  imagesDir: string,
  options: CocoDatasetOptions = {},
): Promise<CocoDataset> {
  let text: string;
  try {
    text = await fs.readFile(annotationFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`loadCocoDataset: annotation file not found: ${annotationFile}`);
    throw new Error(`loadCocoDataset: cannot read annotation file ${annotationFile}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`loadCocoDataset: ${annotationFile} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    const st = await fs.stat(imagesDir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new Error(`loadCocoDataset: images folder ${imagesDir} is missing or not a directory (${(e as Error).message})`);
  }
  return CocoDataset.fromJson(json, annotationFile, imagesDir, options);
}

/** Validation of the whole file; entries are checked one by one below. */
interface ParsedInstances {
  readonly images: StoredImage[];
  readonly categories: CocoCategory[];
  readonly numClasses: number;
  readonly warnings: WarningLog;
  readonly stats: CocoDatasetStats;
}

function parseInstances(json: unknown, source: string, options: CocoDatasetOptions): ParsedInstances {
  const labelMode = options.labelMode ?? 'contiguous';
  if (labelMode !== 'contiguous' && labelMode !== 'category-id') {
    throw new Error(`loadCocoDataset: labelMode must be 'contiguous' or 'category-id', got ${describeValue(labelMode)}`);
  }
  const fail = (what: string): never => {
    throw new Error(`loadCocoDataset: ${source}: ${what}`);
  };
  if (!isObject(json)) fail(`expected a JSON object with images, annotations and categories, got ${Array.isArray(json) ? 'an array' : describeValue(json)}`);
  const root = json as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(root[key])) fail(`"${key}" must be an array, got ${describeValue(root[key])}`);
  }
  const rawImages = root.images as unknown[];
  const rawAnns = root.annotations as unknown[];
  const rawCats = root.categories as unknown[];
  const warnings = new WarningLog(options.onWarning);

  // Images.
  const images: StoredImage[] = [];
  const imageById = new Map<number, StoredImage>();
  const fileNames = new Set<string>();
  let skippedImages = 0;
  rawImages.forEach((e, i) => {
    const name = isObject(e) && e.id !== undefined ? `image id ${describeValue(e.id)} (#${i} in images)` : `image #${i} in images`;
    const bad = (code: 'invalid-image' | 'duplicate-image', msg: string): void => {
      skippedImages++;
      warnings.warn(code, `${source}: ${name}`, msg);
    };
    if (!isObject(e)) return bad('invalid-image', `expected an object, got ${describeValue(e)}`);
    if (typeof e.id !== 'number' || !Number.isInteger(e.id)) return bad('invalid-image', `id must be an integer, got ${describeValue(e.id)}`);
    if (typeof e.file_name !== 'string' || e.file_name.length === 0) {
      return bad('invalid-image', `file_name must be a non-empty string, got ${describeValue(e.file_name)}`);
    }
    if (!isInsideImagesDir(e.file_name)) {
      return bad('invalid-image', `file_name ${JSON.stringify(e.file_name)} points outside the images folder (absolute or '..'); it is not read`);
    }
    if (!isPositiveInt(e.width) || !isPositiveInt(e.height)) {
      return bad('invalid-image', `width and height must be positive integers, got width=${describeValue(e.width)} height=${describeValue(e.height)}`);
    }
    if (e.width * e.height > 0xffffffff) {
      return bad('invalid-image', `${e.width}x${e.height} pixels exceed what COCO's 32-bit RLE can describe`);
    }
    if (imageById.has(e.id)) return bad('duplicate-image', `id ${e.id} appears more than once; the first entry is kept`);
    if (fileNames.has(e.file_name)) return bad('duplicate-image', `file_name ${e.file_name} is used by another image entry`);
    const im: StoredImage = { id: e.id, fileName: e.file_name, height: e.height, width: e.width, annotations: [] };
    imageById.set(im.id, im);
    fileNames.add(im.fileName);
    images.push(im);
  });
  if (images.length === 0) {
    fail(rawImages.length === 0 ? 'has no images' : `none of its ${rawImages.length} image entries is valid (${warnings.describe()})`);
  }

  // Categories.
  const cats: { id: number; name: string; supercategory?: string }[] = [];
  const catIds = new Set<number>();
  let skippedCategories = 0;
  rawCats.forEach((e, i) => {
    const name = isObject(e) && e.id !== undefined ? `category id ${describeValue(e.id)} (#${i} in categories)` : `category #${i} in categories`;
    const bad = (code: 'invalid-category' | 'duplicate-category', msg: string): void => {
      skippedCategories++;
      warnings.warn(code, `${source}: ${name}`, msg);
    };
    if (!isObject(e)) return bad('invalid-category', `expected an object, got ${describeValue(e)}`);
    if (typeof e.id !== 'number' || !Number.isInteger(e.id)) return bad('invalid-category', `id must be an integer, got ${describeValue(e.id)}`);
    if (labelMode === 'category-id' && e.id <= 0) {
      return bad('invalid-category', `id must be positive with labelMode 'category-id' (label 0 is background), got ${e.id}`);
    }
    if (typeof e.name !== 'string') return bad('invalid-category', `name must be a string, got ${describeValue(e.name)}`);
    if (catIds.has(e.id)) return bad('duplicate-category', `id ${e.id} appears more than once; the first entry is kept`);
    catIds.add(e.id);
    cats.push({ id: e.id, name: e.name, ...(typeof e.supercategory === 'string' ? { supercategory: e.supercategory } : {}) });
  });
  if (cats.length === 0) {
    fail(rawCats.length === 0 ? 'has no categories' : `none of its ${rawCats.length} category entries is valid (${warnings.describe()})`);
  }
  cats.sort((a, b) => a.id - b.id);
  const categories: CocoCategory[] = cats.map((c, i) => ({ ...c, label: labelMode === 'contiguous' ? i + 1 : c.id }));
  const labelOf = new Map(categories.map((c) => [c.id, c.label]));
  const numClasses = labelMode === 'contiguous' ? categories.length + 1 : categories[categories.length - 1].id + 1;

  // Annotations.
  const annIds = new Set<number>();
  let skippedAnnotations = 0;
  let kept = 0;
  let crowd = 0;
  rawAnns.forEach((e, i) => {
    const name = isObject(e) && e.id !== undefined ? `annotation id ${describeValue(e.id)} (#${i} in annotations)` : `annotation #${i} in annotations`;
    const entry = `${source}: ${name}`;
    const skip = (code: Parameters<WarningLog['warn']>[0], msg: string): void => {
      skippedAnnotations++;
      warnings.warn(code, entry, msg);
    };
    if (!isObject(e)) return skip('invalid-annotation', `expected an object, got ${describeValue(e)}`);
    if (typeof e.id !== 'number' || !Number.isInteger(e.id)) return skip('invalid-annotation', `id must be an integer, got ${describeValue(e.id)}`);
    if (annIds.has(e.id)) return skip('duplicate-annotation', `id ${e.id} appears more than once; the first entry is kept`);
    annIds.add(e.id);
    const im = typeof e.image_id === 'number' ? imageById.get(e.image_id) : undefined;
    if (im === undefined) return skip('unknown-image', `image_id ${describeValue(e.image_id)} is not a valid image of the file`);
    const label = typeof e.category_id === 'number' ? labelOf.get(e.category_id) : undefined;
    if (label === undefined) return skip('unknown-category', `category_id ${describeValue(e.category_id)} is not a valid category of the file`);
    let isCrowd: boolean;
    if (e.iscrowd === undefined || e.iscrowd === 0 || e.iscrowd === false) isCrowd = false;
    else if (e.iscrowd === 1 || e.iscrowd === true) isCrowd = true;
    else return skip('invalid-annotation', `iscrowd must be 0 or 1, got ${describeValue(e.iscrowd)}`);

    // Box: COCO xywh -> xyxy in float32 (torchvision's reference builds a float32 tensor and
    // adds x + w there), clipped to the image.
    const b = e.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return skip('invalid-bbox', `bbox must be 4 finite numbers [x, y, w, h], got ${describeValue(b)}`);
    }
    const [bx, by, bw, bh] = b as number[];
    if (bw < 0 || bh < 0) return skip('invalid-bbox', `bbox has a negative width or height: ${describeValue(b)}`);
    const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
    const box = [
      clip(f32(bx), im.width),
      clip(f32(by), im.height),
      clip(f32(f32(bx) + f32(bw)), im.width),
      clip(f32(f32(by) + f32(bh)), im.height),
    ] as const;
    if (!(box[2] > box[0] && box[3] > box[1])) {
      return skip('degenerate-box', `bbox ${describeValue(b)} has no area inside the ${im.width}x${im.height} image (dropped, as torchvision's reference does)`);
    }

    const seg = parseSegmentation(e.segmentation, im, entry, warnings);
    if (typeof seg === 'string') return skip('invalid-segmentation', seg);
    im.annotations.push({ id: e.id, label, crowd: isCrowd, box, segmentation: seg });
    kept++;
    if (isCrowd) crowd++;
  });
  if (rawAnns.length > 0 && kept === 0) fail(`none of its ${rawAnns.length} annotations is usable (${warnings.describe()})`);

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
    skippedAnnotations,
    filteredEmptyImages: images.length - finalImages.length,
  };
  return { images: finalImages, categories, numClasses, warnings, stats };
}

/**
 * Checks a `segmentation` field. Returns the stored form, or a message saying what is wrong.
 * Polygon parts with fewer than 3 points are dropped with their own warning (COCO has a few);
 * the annotation is skipped only when no valid part remains.
 */
function parseSegmentation(seg: unknown, im: StoredImage, entry: string, warnings: WarningLog): StoredSegmentation | string {
  if (seg === undefined || seg === null) return 'segmentation is missing';
  if (Array.isArray(seg)) {
    if (seg.length === 0) return 'segmentation is an empty list of polygons';
    const polygons: number[][] = [];
    for (let k = 0; k < seg.length; k++) {
      const p: unknown = seg[k];
      if (!Array.isArray(p)) return `polygon ${k} is not an array of numbers: ${describeValue(p)}`;
      const badValue = p.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (badValue >= 0) return `polygon ${k} has a non-finite coordinate at ${badValue}: ${describeValue(p[badValue])}`;
      if (p.length % 2 !== 0) return `polygon ${k} has an odd number of coordinates (${p.length})`;
      // Rasterising walks the outline pixel by pixel, so a wild coordinate (1e12) would
      // allocate without bound; real outlines stay near the image.
      const limit = 10 * Math.max(im.width, im.height);
      const far = p.findIndex((v) => Math.abs(v as number) > limit);
      if (far >= 0) return `polygon ${k} has coordinate ${p[far]} at ${far}, far outside the ${im.width}x${im.height} image`;
      if (p.length < 6) {
        warnings.warn('invalid-polygon-part', entry, `polygon ${k} has ${p.length / 2} points (needs 3); this part is dropped`);
        continue;
      }
      polygons.push(p as number[]);
    }
    if (polygons.length === 0) return 'no polygon has at least 3 points';
    return { kind: 'polygons', polygons };
  }
  if (!isObject(seg)) return `segmentation must be a list of polygons or an RLE {size, counts}, got ${describeValue(seg)}`;
  const size = seg.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== im.height || size[1] !== im.width) {
    return `RLE size ${describeValue(size)} differs from the image's [height, width] = [${im.height}, ${im.width}]`;
  }
  if (typeof seg.counts !== 'string' && !Array.isArray(seg.counts)) {
    return `RLE counts must be a string (compressed) or an array of run lengths, got ${describeValue(seg.counts)}`;
  }
  try {
    return { kind: 'rle', rle: annToRle(seg as { size: [number, number]; counts: string }, im.height, im.width, entry) };
  } catch (err) {
    return `bad RLE: ${(err as Error).message}`;
  }
}
