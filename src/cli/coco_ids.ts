/**
 * The two numbers a COCO result needs besides the detection: which image of a ground-truth file
 * it belongs to (`image_id`) and which of its categories it is (`category_id`). Used by
 * `maskrcnn predict --gt` so that its results can go straight into `maskrcnn eval --dt`.
 */
import * as path from 'path';
import type { CocoGroundTruth } from '../eval';

/**
 * The image ids of `files` in a ground truth, matched on `file_name`; see {@link matchImageIds}.
 *
 * @example
 * ```ts
 * const { ids, problems } = matchImageIds(['val/images/000001.png'], gt);
 * ids[0];      // 1, the id of the image whose file_name is '000001.png'
 * problems[0]; // undefined: matched
 * ```
 */
export interface ImageIdMatch {
  /** Image id per file; undefined where the file could not be matched. */
  readonly ids: readonly (number | undefined)[];
  /** Why a file could not be matched, per file; undefined where it was. */
  readonly problems: readonly (string | undefined)[];
}

/** `/`-separated, without a leading `./`. */
function slashed(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * Finds the image of `gt` each file is: the one whose `file_name` is the file's path or its end
 * (`images/000001.png` matches `file_name` `000001.png` and `images/000001.png`, not
 * `other/000001.png`). The longest matching `file_name` wins; two of the same length, or two files
 * matching the same image, are problems, as is a file that matches none.
 *
 * @example
 * ```ts
 * // gt images: { id: 139, file_name: '000000000139.jpg' }, { id: 285, file_name: '000000000285.jpg' }
 * matchImageIds(['coco/val2017/000000000285.jpg', 'cat.jpg'], gt);
 * // { ids: [285, undefined], problems: [undefined, "not an image of gt.json (no file_name is cat.jpg or an end of its path)"] }
 * ```
 */
export function matchImageIds(files: readonly string[], gt: CocoGroundTruth): ImageIdMatch {
  const byBase = new Map<string, { id: number; name: string }[]>();
  for (const [id, img] of gt.images) {
    if (typeof img.file_name !== 'string' || img.file_name === '') continue;
    const name = slashed(img.file_name);
    const base = path.posix.basename(name);
    const list = byBase.get(base) ?? [];
    list.push({ id, name });
    byBase.set(base, list);
  }
  const firstFile = new Map<number, number>();
  const ids: (number | undefined)[] = [];
  const problems: (string | undefined)[] = [];
  files.forEach((file, i) => {
    const full = slashed(path.resolve(file));
    const fits = (byBase.get(path.posix.basename(full)) ?? []).filter((c) => full === c.name || full.endsWith(`/${c.name}`));
    const longest = Math.max(...fits.map((c) => c.name.length));
    const best = fits.filter((c) => c.name.length === longest);
    let problem: string | undefined;
    if (best.length === 0) {
      problem = `not an image of ${gt.source} (no file_name is ${path.basename(file)} or an end of its path)`;
    } else if (best.length > 1) {
      problem = `matches ${best.length} images of ${gt.source} equally (ids ${best.map((c) => c.id).join(', ')}, file_name ${best[0].name})`;
    } else if (firstFile.has(best[0].id)) {
      problem = `is image id ${best[0].id} of ${gt.source}, as image ${firstFile.get(best[0].id)! + 1} (${files[firstFile.get(best[0].id)!]}) already is`;
    }
    if (problem === undefined) firstFile.set(best[0].id, i);
    ids.push(problem === undefined ? best[0].id : undefined);
    problems.push(problem);
  });
  return { ids, problems };
}

/**
 * How labels become category ids; see {@link categoryIdsOf}.
 *
 * @example
 * ```ts
 * const m: CategoryMapping = categoryIdsOf(model.classNames, gt);
 * m.byName;                // true when the names were matched
 * m.labelToCategoryId[3];  // category id of label 3, undefined when the category is not in gt
 * ```
 */
export interface CategoryMapping {
  /** Category id per label; undefined for labels whose class is not a category of the gt. */
  readonly labelToCategoryId: readonly (number | undefined)[];
  /** True: matched by name; false: the labels are the ids (no class name is a category name). */
  readonly byName: boolean;
  /** One line for the user saying which rule was used. */
  readonly note: string;
}

/**
 * Category ids of a model's labels in a ground truth. When some class name of the model (label 1
 * and up) is a category name of `gt`, labels map by name, and labels whose name is not a category
 * map to nothing (their detections cannot be evaluated). Otherwise (a model whose classes are
 * `class_1`, `class_2`, ...) each label is taken as the category id, as torchvision's COCO models
 * need: their 91 labels are COCO's ids.
 *
 * @example
 * ```ts
 * // model classes ['__background__', 'circle', 'square'], gt categories { 7: 'square', 9: 'circle' }
 * categoryIdsOf(['__background__', 'circle', 'square'], gt).labelToCategoryId; // [undefined, 9, 7]
 * ```
 */
export function categoryIdsOf(classNames: readonly string[], gt: CocoGroundTruth): CategoryMapping {
  const idOfName = new Map<string, number>();
  for (const id of gt.categoryIds) {
    const name = gt.categoryNames.get(id) ?? '';
    if (name !== '' && !idOfName.has(name)) idOfName.set(name, id);
  }
  const byName = classNames.map((name, label) => (label === 0 ? undefined : idOfName.get(name)));
  const matched = byName.filter((id) => id !== undefined).length;
  if (matched > 0) {
    const unmatched = classNames.slice(1).filter((name) => !idOfName.has(name));
    const left = unmatched.length === 0 ? '' : `; detections of ${unmatched.length} other class${unmatched.length === 1 ? '' : 'es'} (${listed(unmatched)}) are left out`;
    return { labelToCategoryId: byName, byName: true, note: `category ids: ${matched} class names matched to ${gt.source}'s categories${left}` };
  }
  return {
    labelToCategoryId: classNames.map((_, label) => (label === 0 ? undefined : label)),
    byName: false,
    note: `category ids: no class name of the model (${listed(classNames.slice(1))}) is a category name of ${gt.source}; using the labels as category ids`,
  };
}

function listed(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, ...`;
}
