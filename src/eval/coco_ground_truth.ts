/**
 * A COCO instances file indexed for evaluation (the part of pycocotools' `COCO` that
 * COCOeval uses): images by id, categories, and annotations per image in file order.
 *
 * The file is read by the shared COCO reader (data/coco_instances.ts), the same one training
 * uses. What pycocotools reads when it loads must be valid at load (ids, image_id, category_id,
 * iscrowd, area, a bbox when there is one); an image's size is needed only to rasterise polygons,
 * so a bad size is reported when segm evaluation asks for it; segmentations are decoded the
 * pycocotools way (`annToRLE`) when evaluated; `file_name` and category names are not needed.
 */
import { CocoInstances, FieldProblem, InstancesEntry, InstancesImage, readCocoInstances } from '../data/coco_instances';
import { readJsonFile } from '../data/json_file';
import type { BoxXywh, Segmentation } from '../data/mask';
import type { CocoDataset, CocoImage } from './coco_types';

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
  /** How messages name it: `annotation id 7 (#3 in annotations)`. */
  readonly name: string;
}

/** Whether COCOeval needs `p` to be absent when it loads the file. */
function invalidAtLoad(p: FieldProblem): boolean {
  switch (p.field) {
    case 'entry':
    case 'id':
    case 'image_id':
    case 'category_id':
    case 'iscrowd':
    case 'area':
      return true;
    case 'bbox':
      return !p.missing; // a missing bbox matters to bbox evaluation only
    default:
      return false;
  }
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
  /** Image entries by id, as given. */
  readonly images: ReadonlyMap<number, CocoImage>;

  private readonly byImage = new Map<number, GtAnnotation[]>();
  private readonly imageEntries = new Map<number, InstancesEntry<InstancesImage>>();

  private constructor(
    /** File name (or `'<memory>'`) used in error messages. */
    readonly source: string,
    file: CocoInstances,
  ) {
    const images = new Map<number, CocoImage>();
    const categories = new Map<number, string>();
    const entries: InstancesEntry<unknown>[] = [...file.images, ...file.categories, ...file.annotations];
    for (const e of entries) {
      const p = e.problems.find(invalidAtLoad);
      if (p !== undefined) throw new Error(`Error in ${source}: ${e.name}: ${p.message}`);
    }
    for (const e of file.images) {
      if (e.value === undefined) continue;
      images.set(e.value.id, e.value.raw as unknown as CocoImage);
      this.imageEntries.set(e.value.id, e);
    }
    for (const e of file.categories) if (e.value !== undefined) categories.set(e.value.id, e.value.name ?? '');
    for (const e of file.annotations) {
      const a = e.value;
      if (a === undefined || a.imageId === undefined || a.categoryId === undefined || a.area === undefined) continue; // invalid at load: thrown above
      const gtAnn: GtAnnotation = {
        id: a.id,
        imageId: a.imageId,
        categoryId: a.categoryId,
        area: a.area,
        iscrowd: a.iscrowd,
        bbox: a.bbox,
        segmentation: a.segmentation as Segmentation | undefined,
        index: e.index,
        name: e.name,
      };
      let list = this.byImage.get(a.imageId);
      if (!list) this.byImage.set(a.imageId, (list = []));
      list.push(gtAnn);
    }
    this.images = images;
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
    return CocoGroundTruth.fromJson(readJsonFile(path, 'ground truth', 'CocoGroundTruth.fromFile'), path);
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
    return new CocoGroundTruth(source, readCocoInstances(json, source, { requireAnnotations: false }));
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
    const e = this.imageEntries.get(imageId);
    if (e === undefined) throw new Error(`Error in ${this.source}: image id ${imageId} is not in 'images'`);
    const { height, width } = e.value as InstancesImage;
    if (height === undefined || width === undefined) {
      const p = e.problems.find((q) => q.field === 'size');
      throw new Error(`Error in ${this.source}: ${e.name}: ${p?.message ?? 'needs height and width'}, which segm evaluation needs`);
    }
    return [height, width];
  }
}
