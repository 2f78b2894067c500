/**
 * The one COCO instances reader: its field rules, entry names and ids, and the proof that the
 * training dataset and COCOeval's ground truth read a file through it (the same bad entry is
 * named and explained in the same words by both).
 */
import { readCocoInstances } from '../../src/data/coco_instances';
import { CocoDataset } from '../../src/data/coco_dataset';
import type { DataWarning } from '../../src/data/warnings';
import { CocoGroundTruth } from '../../src/eval';

type Entry = Record<string, unknown>;
interface Json {
  images: Entry[];
  categories: Entry[];
  annotations: Entry[];
}

function base(): Json {
  return {
    images: [
      { id: 1, file_name: 'a.png', width: 30, height: 20 },
      { id: 2, file_name: 'b.png', width: 30, height: 20 },
    ],
    categories: [{ id: 5, name: 'cat' }],
    annotations: [
      { id: 10, image_id: 1, category_id: 5, bbox: [2, 2, 6, 6], area: 36, segmentation: [[2, 2, 8, 2, 8, 8, 2, 8]], iscrowd: 0 },
      { id: 11, image_id: 2, category_id: 5, bbox: [1, 1, 4, 4], area: 16, segmentation: [[1, 1, 5, 1, 5, 5, 1, 5]] },
    ],
  };
}

const read = (json: unknown, requireAnnotations = true) => readCocoInstances(json, 'f.json', { requireAnnotations });

describe('readCocoInstances: the rules of each field', () => {
  test('a valid file has no problem and keeps every field', () => {
    const file = read(base());
    for (const list of [file.images, file.categories, file.annotations]) for (const e of list) expect(e.problems).toEqual([]);
    expect(file.images[1]).toMatchObject({ index: 1, name: 'image id 2 (#1 in images)', value: { id: 2, fileName: 'b.png', height: 20, width: 30 } });
    expect(file.categories[0].value).toEqual({ id: 5, name: 'cat', supercategory: undefined });
    expect(file.annotations[1].value).toEqual({ id: 11, imageId: 2, categoryId: 5, iscrowd: false, bbox: [1, 1, 4, 4], area: 16, segmentation: [[1, 1, 5, 1, 5, 5, 1, 5]] });
  });

  const cases: [string, (j: Json) => void, 'images' | 'categories' | 'annotations', number, object][] = [
    ['entry not an object', (j) => (j.annotations[1] = 7 as never), 'annotations', 1, { field: 'entry', code: 'invalid-annotation', message: 'expected an object, got 7' }],
    ['id missing', (j) => delete j.images[0].id, 'images', 0, { field: 'id', missing: true, code: 'invalid-image', message: 'id must be an integer, got nothing (missing)' }],
    ['id fractional', (j) => (j.categories[0].id = 5.5), 'categories', 0, { field: 'id', code: 'invalid-category', message: 'id must be an integer, got 5.5' }],
    ['id repeated', (j) => (j.annotations[1].id = 10), 'annotations', 1, { field: 'id', code: 'duplicate-annotation', message: 'id 10 repeats the id of an earlier entry' }],
    ['file_name empty', (j) => (j.images[1].file_name = ''), 'images', 1, { field: 'file_name', code: 'invalid-image', message: 'file_name must be a non-empty string, got ""' }],
    ['file_name climbs out', (j) => (j.images[1].file_name = '../x.png'), 'images', 1, { field: 'file_name', code: 'invalid-image', message: `file_name "../x.png" points outside the images folder (absolute or '..'); it is not read` }],
    ['file_name repeated', (j) => (j.images[1].file_name = 'a.png'), 'images', 1, { field: 'file_name', code: 'duplicate-image', message: 'file_name a.png is used by another image entry' }],
    ['width a string', (j) => (j.images[1].width = '30'), 'images', 1, { field: 'size', missing: false, code: 'invalid-image', message: 'width and height must be positive integers, got width="30" height=20' }],
    ['size beyond 32-bit RLE', (j) => Object.assign(j.images[1], { width: 70000, height: 70000 }), 'images', 1, { field: 'size', code: 'invalid-image', message: "70000x70000 pixels exceed what COCO's 32-bit RLE can describe" }],
    ['category name missing', (j) => delete j.categories[0].name, 'categories', 0, { field: 'name', missing: true, code: 'invalid-category', message: 'name must be a string, got nothing (missing)' }],
    ['image_id a string', (j) => (j.annotations[1].image_id = '2'), 'annotations', 1, { field: 'image_id', code: 'unknown-image', message: 'image_id must be an integer, got "2"' }],
    ['category_id missing', (j) => delete j.annotations[1].category_id, 'annotations', 1, { field: 'category_id', missing: true, code: 'unknown-category' }],
    ['iscrowd 2', (j) => (j.annotations[1].iscrowd = 2), 'annotations', 1, { field: 'iscrowd', code: 'invalid-annotation', message: 'iscrowd must be 0, 1 or a boolean, got 2' }],
    ['bbox of 3 numbers', (j) => (j.annotations[1].bbox = [1, 2, 3]), 'annotations', 1, { field: 'bbox', code: 'invalid-bbox', message: 'bbox must be 4 finite numbers [x, y, w, h], got [1,2,3]' }],
    ['area missing', (j) => delete j.annotations[1].area, 'annotations', 1, { field: 'area', missing: true, code: 'invalid-annotation', message: 'area must be a finite number, got nothing (missing)' }],
    ['segmentation null', (j) => (j.annotations[1].segmentation = null), 'annotations', 1, { field: 'segmentation', missing: true, code: 'invalid-segmentation', message: 'segmentation is missing' }],
  ];
  test.each(cases)('%s', (_name, mutate, list, index, problem) => {
    const j = base();
    mutate(j);
    const file = read(j);
    expect(file[list][index].problems).toEqual([expect.objectContaining(problem)]);
    const others = [...file.images, ...file.categories, ...file.annotations].filter((e) => e !== file[list][index]);
    for (const e of others) expect(e.problems).toEqual([]);
  });

  test('the first entry keeps an id; an entry without an id is named by its position', () => {
    const j = base();
    j.images.unshift({ id: 2, file_name: 'z.png' }); // invalid size, but it holds id 2
    j.images.push({ file_name: 'c.png', width: 1, height: 1 });
    const file = read(j);
    expect(file.images.map((e) => e.name)).toEqual(['image id 2 (#0 in images)', 'image id 1 (#1 in images)', 'image id 2 (#2 in images)', 'image #3 in images']);
    expect(file.images.map((e) => e.value?.id)).toEqual([2, 1, undefined, undefined]);
    expect(file.images[2].problems[0].code).toBe('duplicate-image');
  });

  test('a file without annotations: none for pycocotools, an error for training', () => {
    const j: Partial<Json> = base();
    delete j.annotations;
    expect(read(j, false).annotations).toEqual([]);
    expect(() => read(j, true)).toThrow('Error in f.json: "annotations" must be an array, got nothing (missing)');
    expect(() => read([], false)).toThrow('Error in f.json: expected a JSON object with images, annotations and categories, got an array');
    expect(() => read({ ...base(), images: {} }, false)).toThrow('Error in f.json: "images" must be an array, got {}');
  });
});

describe('training and COCOeval read through the same reader', () => {
  const shared: [string, (j: Json) => void][] = [
    ['annotation not an object', (j) => (j.annotations[1] = 'x' as never)],
    ['annotation id a string', (j) => (j.annotations[1].id = '11')],
    ['repeated annotation id', (j) => (j.annotations[1].id = 10)],
    ['image_id a string', (j) => (j.annotations[1].image_id = '2')],
    ['category_id fractional', (j) => (j.annotations[1].category_id = 5.5)],
    ['iscrowd 2', (j) => (j.annotations[1].iscrowd = 2)],
    ['bbox with a string', (j) => (j.annotations[1].bbox = [1, 1, '4', 4])],
    ['image id missing', (j) => delete j.images[1].id],
    ['repeated category id', (j) => j.categories.push({ id: 5, name: 'again' })],
  ];
  test.each(shared)('%s: the warning that skips the entry in training is the error COCOeval throws', (_name, mutate) => {
    const j = base();
    mutate(j);
    const warnings: DataWarning[] = [];
    CocoDataset.fromJson(j, 'f.json', '/nowhere', { filterEmpty: false, onWarning: (w) => warnings.push(w) });
    expect(warnings.length).toBeGreaterThan(0);
    const first = warnings[0];
    expect(() => CocoGroundTruth.fromJson(j, 'f.json')).toThrow(`Error in ${first.entry}: ${first.message}`);
  });

  test('what COCOeval does not read at load (file_name, size, names, segmentation) skips the entry in training only', () => {
    const j = base();
    delete j.images[1].file_name;
    j.images[0].height = 0;
    delete j.categories[0].name;
    j.categories.push({ id: 6, name: 'dog' });
    delete j.annotations[0].segmentation;
    const gt = CocoGroundTruth.fromJson(j, 'f.json');
    expect(gt.imageIds).toEqual([1, 2]);
    expect(gt.categoryNames.get(5)).toBe('');
    expect(() => gt.imageSize(1)).toThrow('Error in f.json: image id 1 (#0 in images): width and height must be positive integers, got width=30 height=0, which segm evaluation needs');
    expect(() => CocoDataset.fromJson(j, 'f.json', '/nowhere', { onWarning: () => undefined })).toThrow('Error in f.json: none of its 2 image entries is valid (invalid-image: 2)');
  });
});
