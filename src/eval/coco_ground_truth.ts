/**
 * A COCO instances file indexed for evaluation (the part of pycocotools' `COCO` that
 * COCOeval uses): images by id, categories, and annotations per image in file order.
 */
import * as fs from 'fs';
import type { BoxXywh, Segmentation } from '../data/mask';
import type { CocoDataset, CocoImage } from './coco_types';
import { asBox, asNumber, asRecord, describe } from './json_checks';

/** A ground-truth annotation after validation. */
export interface GtAnnotation {
  readonly id: number;
  readonly imageId: number;
  readonly categoryId: number;
  /** The annotation's `area` field, used for the area ranges. */
  readonly area: number;
  /** `iscrowd`; crowd regions are matched by the crowd IoU rule and ignored. Missing = false. */
  readonly iscrowd: boolean;
  readonly bbox: BoxXywh | undefined;
  readonly segmentation: Segmentation | undefined;
  /** Position in the file's `annotations`, for messages. */
  readonly index: number;
}

/**
 * Ground truth for {@link CocoEvaluator}.
 *
 * @example
 * ```ts
 * const gt = CocoGroundTruth.fromFile('instances_val2017.json');
 * gt.imageIds.length; // 5000
 * ```
 */
export class CocoGroundTruth {
  /** Image ids, sorted ascending (pycocotools' `sorted(cocoGt.getImgIds())`). */
  readonly imageIds: readonly number[];
  /** Category ids, sorted ascending. */
  readonly categoryIds: readonly number[];
  /** Category names by id (`''` where the file has none). */
  readonly categoryNames: ReadonlyMap<number, string>;

  private constructor(
    /** File name (or `'<memory>'`) used in error messages. */
    readonly source: string,
    readonly images: ReadonlyMap<number, CocoImage>,
    categories: Map<number, string>,
    private readonly byImage: ReadonlyMap<number, readonly GtAnnotation[]>,
  ) {
    this.imageIds = [...images.keys()].sort((a, b) => a - b);
    this.categoryIds = [...categories.keys()].sort((a, b) => a - b);
    this.categoryNames = categories;
  }

  /**
   * Reads and validates a COCO instances json file.
   *
   * @example
   * ```ts
   * const gt = CocoGroundTruth.fromFile('annotations/instances_val2017.json');
   * ```
   */
  static fromFile(path: string): CocoGroundTruth {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`Error reading ground truth ${path}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`Error in ${path}: not valid json (${(e as Error).message})`);
    }
    return CocoGroundTruth.fromJson(json, path);
  }

  /**
   * Validates and indexes a parsed COCO instances object. `source` names it in errors.
   *
   * @example
   * ```ts
   * const gt = CocoGroundTruth.fromJson({ images: [{ id: 1, height: 4, width: 4 }], annotations: [], categories: [{ id: 1 }] });
   * ```
   */
  static fromJson(json: CocoDataset | unknown, source = '<memory>'): CocoGroundTruth {
    const root = asRecord(json, source, 'the ground truth');
    for (const key of ['images', 'categories'] as const) {
      if (!Array.isArray(root[key])) throw new Error(`Error in ${source}: '${key}' must be an array, got ${describe(root[key])}`);
    }
    if (root.annotations !== undefined && !Array.isArray(root.annotations)) {
      throw new Error(`Error in ${source}: 'annotations' must be an array, got ${describe(root.annotations)}`);
    }
    const images = new Map<number, CocoImage>();
    (root.images as unknown[]).forEach((raw, i) => {
      const what = `images[${i}]`;
      const img = asRecord(raw, source, what);
      const id = asNumber(img.id, source, `${what}.id`);
      if (images.has(id)) throw new Error(`Error in ${source}: ${what} repeats image id ${id}`);
      images.set(id, img as unknown as CocoImage);
    });
    const categories = new Map<number, string>();
    (root.categories as unknown[]).forEach((raw, i) => {
      const cat = asRecord(raw, source, `categories[${i}]`);
      const id = asNumber(cat.id, source, `categories[${i}].id`);
      if (categories.has(id)) throw new Error(`Error in ${source}: categories[${i}] repeats category id ${id}`);
      categories.set(id, typeof cat.name === 'string' ? cat.name : '');
    });
    const byImage = new Map<number, GtAnnotation[]>();
    const seen = new Set<number>();
    ((root.annotations as unknown[] | undefined) ?? []).forEach((raw, i) => {
      const ann = asRecord(raw, source, `annotations[${i}]`);
      const id = asNumber(ann.id, source, `annotations[${i}].id`);
      const what = `annotations[${i}] (id ${id})`;
      if (seen.has(id)) throw new Error(`Error in ${source}: ${what} repeats annotation id ${id}`);
      seen.add(id);
      const imageId = asNumber(ann.image_id, source, `${what}.image_id`);
      const categoryId = asNumber(ann.category_id, source, `${what}.category_id`);
      const area = asNumber(ann.area, source, `${what}.area`);
      const crowd = ann.iscrowd;
      if (crowd !== undefined && crowd !== 0 && crowd !== 1 && typeof crowd !== 'boolean') {
        throw new Error(`Error in ${source}: ${what}.iscrowd must be 0, 1 or a boolean, got ${describe(crowd)}`);
      }
      const bbox = ann.bbox === undefined ? undefined : asBox(ann.bbox, source, `${what}.bbox`);
      const gtAnn: GtAnnotation = {
        id,
        imageId,
        categoryId,
        area,
        iscrowd: crowd === 1 || crowd === true,
        bbox,
        segmentation: ann.segmentation as Segmentation | undefined,
        index: i,
      };
      let list = byImage.get(imageId);
      if (!list) byImage.set(imageId, (list = []));
      list.push(gtAnn);
    });
    return new CocoGroundTruth(source, images, categories, byImage);
  }

  /** Annotations of one image in file order (empty when it has none). */
  annotationsOf(imageId: number): readonly GtAnnotation[] {
    return this.byImage.get(imageId) ?? [];
  }

  /**
   * `[height, width]` of an image, checked to be positive integers (needed to rasterise
   * polygons).
   */
  imageSize(imageId: number): [number, number] {
    const img = this.images.get(imageId);
    if (!img) throw new Error(`Error in ${this.source}: image id ${imageId} is not in 'images'`);
    const { height, width } = img;
    if (!Number.isInteger(height) || height <= 0 || !Number.isInteger(width) || width <= 0) {
      throw new Error(
        `Error in ${this.source}: image id ${imageId} needs positive integer height and width, got ${describe(height)} x ${describe(width)}`,
      );
    }
    return [height, width];
  }
}
