/**
 * Which image of a ground-truth file a predicted file is (`image_id`), so that
 * `maskrcnn predict --gt` results can go straight into `maskrcnn eval --dt`; the other number a
 * COCO result needs, `category_id`, comes from api/category_ids.
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
