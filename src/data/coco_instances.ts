/**
 * The one reader of COCO instances files (`instances_*.json`: images, categories, annotations).
 * The training dataset (`CocoDataset`) and COCOeval's ground truth (`CocoGroundTruth`)
 * both read through it, so an entry is checked by the same rules and named the same way in every
 * message: `<file>: annotation id 14 (#4 in annotations): bbox must be 4 finite numbers ...`.
 *
 * It checks what the COCO format says a field is, and leaves to each reader what to do about it:
 * every entry comes back with its valid fields and its problems, each naming the field. COCOeval
 * throws on the fields pycocotools reads when it loads; training skips the entry with a counted
 * warning and adds rules of its own (labels, clipped boxes, polygons it can rasterise).
 *
 * Rules: ids are integers, unique in their list (the first entry keeps the id); `image_id` and
 * `category_id` are integers; `iscrowd` is 0, 1 or a boolean (missing: 0); `bbox` is 4 finite
 * numbers `[x, y, w, h]`; `area` a finite number; an image's `file_name` a non-empty relative
 * path inside the images folder, used once; `width` and `height` positive integers whose product
 * fits COCO's 32-bit RLE; a category's `name` a string. `segmentation` is passed on as given
 * (pycocotools and training read polygons differently), only its absence is a problem.
 */
import { describeJson, isJsonObject, notABoxXywh, notAFiniteNumber, notAnInteger } from './json_value';
import type { BoxXywh } from './mask';
import { isInsideFolder } from './relative_path';
import type { DataWarningCode } from './warnings';

/** The field a problem is about; `entry` when the entry is not an object at all. */
export type InstancesField = 'entry' | 'id' | 'file_name' | 'size' | 'name' | 'image_id' | 'category_id' | 'iscrowd' | 'bbox' | 'area' | 'segmentation';

/** One thing wrong with an entry. */
export interface FieldProblem {
  readonly field: InstancesField;
  /** True when the field is absent (a reader that does not need it may ignore that). */
  readonly missing: boolean;
  /** The warning code training counts it under. */
  readonly code: DataWarningCode;
  /** What is wrong, starting with the field: `iscrowd must be 0, 1 or a boolean, got 2`. */
  readonly message: string;
}

/** An entry of one of the lists, as read. */
export interface InstancesEntry<T> {
  /** Position in its list. */
  readonly index: number;
  /** How messages name it: `image id 3 (#2 in images)`, or `image #2 in images` without an id. */
  readonly name: string;
  /** Its checked fields; undefined when it has no usable id (`problems` says why). */
  readonly value: T | undefined;
  /** What is wrong, in the order checked; empty for an entry valid in every field. */
  readonly problems: readonly FieldProblem[];
}

/** Checked fields of an image entry; a field with a problem is undefined. */
export interface InstancesImage {
  readonly id: number;
  readonly fileName: string | undefined;
  readonly height: number | undefined;
  readonly width: number | undefined;
  /** The entry as given (COCOeval hands it on as pycocotools' `imgs[id]`). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Checked fields of a category entry. */
export interface InstancesCategory {
  readonly id: number;
  readonly name: string | undefined;
  readonly supercategory: string | undefined;
}

/** Checked fields of an annotation entry. */
export interface InstancesAnnotation {
  readonly id: number;
  readonly imageId: number | undefined;
  readonly categoryId: number | undefined;
  readonly iscrowd: boolean;
  readonly bbox: BoxXywh | undefined;
  readonly area: number | undefined;
  /** As given: polygons or RLE, not yet checked (see the file comment). */
  readonly segmentation: unknown;
}

/** A COCO instances file, entry by entry in file order. */
export interface CocoInstances {
  /** The file (or name) messages give. */
  readonly source: string;
  readonly images: readonly InstancesEntry<InstancesImage>[];
  readonly categories: readonly InstancesEntry<InstancesCategory>[];
  readonly annotations: readonly InstancesEntry<InstancesAnnotation>[];
}

/** Options of {@link readCocoInstances}. */
export interface ReadInstancesOptions {
  /** Whether a file without `annotations` is an error (training) or has none (pycocotools). */
  readonly requireAnnotations: boolean;
}

type Report = (field: InstancesField, code: DataWarningCode, message: string, missing?: boolean) => void;

/**
 * Reads a parsed COCO instances JSON. Throws an Error naming `source` when the file itself is
 * wrong (not an object, a list that is not an array); problems of entries are returned, not thrown.
 *
 * @example
 * ```ts
 * const file = readCocoInstances(JSON.parse(text), 'instances_val2017.json', { requireAnnotations: false });
 * const bad = file.annotations.find((a) => a.problems.length > 0);
 * if (bad) console.log(`${file.source}: ${bad.name}: ${bad.problems[0].message}`);
 * ```
 */
export function readCocoInstances(json: unknown, source: string, options: ReadInstancesOptions): CocoInstances {
  if (!isJsonObject(json)) {
    throw new Error(`Error in ${source}: expected a JSON object with images, annotations and categories, got ${Array.isArray(json) ? 'an array' : describeJson(json)}`);
  }
  for (const key of ['images', 'annotations', 'categories'] as const) {
    const optional = key === 'annotations' && !options.requireAnnotations && json[key] === undefined;
    if (!optional && !Array.isArray(json[key])) throw new Error(`Error in ${source}: "${key}" must be an array, got ${describeJson(json[key])}`);
  }
  const fileNames = new Set<string>();
  return {
    source,
    images: readList(json.images as unknown[], 'image', 'images', (e, report) => imageFields(e, report, fileNames)),
    categories: readList(json.categories as unknown[], 'category', 'categories', categoryFields),
    annotations: readList((json.annotations as unknown[] | undefined) ?? [], 'annotation', 'annotations', annotationFields),
  };
}

const CODES = {
  image: { invalid: 'invalid-image', duplicate: 'duplicate-image' },
  category: { invalid: 'invalid-category', duplicate: 'duplicate-category' },
  annotation: { invalid: 'invalid-annotation', duplicate: 'duplicate-annotation' },
} as const;

/** Identity (object, integer id, first of its id) for every list, then the list's own fields. */
function readList<T extends { readonly id: number }>(
  entries: readonly unknown[],
  noun: keyof typeof CODES,
  list: string,
  fields: (e: Readonly<Record<string, unknown>>, report: Report) => Omit<T, 'id'>,
): InstancesEntry<T>[] {
  const ids = new Set<number>();
  return entries.map((e, index) => {
    const name = isJsonObject(e) && e.id !== undefined ? `${noun} id ${describeJson(e.id)} (#${index} in ${list})` : `${noun} #${index} in ${list}`;
    const problems: FieldProblem[] = [];
    const report: Report = (field, code, message, missing = false) => problems.push({ field, code, message, missing });
    const { invalid, duplicate } = CODES[noun];
    if (!isJsonObject(e)) {
      report('entry', invalid, `expected an object, got ${describeJson(e)}`);
      return { index, name, value: undefined, problems };
    }
    const idProblem = notAnInteger(e.id);
    if (idProblem !== undefined) {
      report('id', invalid, `id ${idProblem}`, e.id === undefined);
      return { index, name, value: undefined, problems };
    }
    const id = e.id as number;
    if (ids.has(id)) {
      report('id', duplicate, `id ${id} repeats the id of an earlier entry`);
      return { index, name, value: undefined, problems };
    }
    ids.add(id);
    return { index, name, value: { id, ...fields(e, report) } as T, problems };
  });
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function imageFields(e: Readonly<Record<string, unknown>>, report: Report, fileNames: Set<string>): Omit<InstancesImage, 'id'> {
  let fileName: string | undefined;
  const f = e.file_name;
  if (typeof f !== 'string' || f.length === 0) {
    report('file_name', 'invalid-image', `file_name must be a non-empty string, got ${describeJson(f)}`, f === undefined);
  } else if (!isInsideFolder(f)) {
    report('file_name', 'invalid-image', `file_name ${JSON.stringify(f)} points outside the images folder (absolute or '..'); it is not read`);
  } else if (fileNames.has(f)) {
    report('file_name', 'duplicate-image', `file_name ${f} is used by another image entry`);
  } else {
    fileNames.add(f);
    fileName = f;
  }
  const { width, height } = e;
  if (!isPositiveInt(width) || !isPositiveInt(height)) {
    const missing = width === undefined && height === undefined;
    report('size', 'invalid-image', `width and height must be positive integers, got width=${describeJson(width)} height=${describeJson(height)}`, missing);
    return { fileName, height: undefined, width: undefined, raw: e };
  }
  if (width * height > 0xffffffff) {
    report('size', 'invalid-image', `${width}x${height} pixels exceed what COCO's 32-bit RLE can describe`);
    return { fileName, height: undefined, width: undefined, raw: e };
  }
  return { fileName, height, width, raw: e };
}

function categoryFields(e: Readonly<Record<string, unknown>>, report: Report): Omit<InstancesCategory, 'id'> {
  const name = typeof e.name === 'string' ? e.name : undefined;
  if (name === undefined) report('name', 'invalid-category', `name must be a string, got ${describeJson(e.name)}`, e.name === undefined);
  return { name, supercategory: typeof e.supercategory === 'string' ? e.supercategory : undefined };
}

function annotationFields(e: Readonly<Record<string, unknown>>, report: Report): Omit<InstancesAnnotation, 'id'> {
  // A reference that is not an integer names no entry: counted as an unknown image / category.
  const reference = (key: 'image_id' | 'category_id', code: DataWarningCode): number | undefined => {
    const problem = notAnInteger(e[key]);
    if (problem === undefined) return e[key] as number;
    report(key, code, `${key} ${problem}`, e[key] === undefined);
    return undefined;
  };
  const imageId = reference('image_id', 'unknown-image');
  const categoryId = reference('category_id', 'unknown-category');
  const c = e.iscrowd;
  const iscrowd = c === 1 || c === true;
  if (!iscrowd && c !== undefined && c !== 0 && c !== false) report('iscrowd', 'invalid-annotation', `iscrowd must be 0, 1 or a boolean, got ${describeJson(c)}`);
  const boxProblem = notABoxXywh(e.bbox);
  if (boxProblem !== undefined) report('bbox', 'invalid-bbox', `bbox ${boxProblem}`, e.bbox === undefined);
  const areaProblem = notAFiniteNumber(e.area);
  if (areaProblem !== undefined) report('area', 'invalid-annotation', `area ${areaProblem}`, e.area === undefined);
  const segmentation = e.segmentation ?? undefined;
  if (segmentation === undefined) report('segmentation', 'invalid-segmentation', 'segmentation is missing', true);
  return {
    imageId,
    categoryId,
    iscrowd,
    bbox: boxProblem === undefined ? (e.bbox as BoxXywh) : undefined,
    area: areaProblem === undefined ? (e.area as number) : undefined,
    segmentation,
  };
}
