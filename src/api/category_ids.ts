/**
 * Which category of a ground truth each label of a model is (a COCO result's `category_id`):
 * by class name where the names match, else the label itself (torchvision's COCO models). Used by
 * {@link evaluateModel} and `maskrcnn predict --gt`.
 */
import type { CocoGroundTruth } from '../eval';

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
