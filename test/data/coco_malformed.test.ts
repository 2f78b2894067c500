/**
 * Malformed COCO input: entry-level problems are skipped with a counted warning naming the entry,
 * file-level problems raise an Error naming the file; never an uncaught exception, never a
 * silently empty dataset.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { CocoDataset, loadCocoDataset } from '../../src/data/coco_dataset';
import { DataLoader } from '../../src/data/loader';
import { frBbox, toCompressedJson } from '../../src/data/mask';
import { DataWarning, DataWarningCode } from '../../src/data/warnings';

type Json = Record<string, unknown> & { images: Record<string, unknown>[]; annotations: Record<string, unknown>[]; categories: Record<string, unknown>[] };

const H = 20;
const W = 30;
/** A valid file: 3 images, 2 categories, 5 annotations of each segmentation kind. */
function base(): Json {
  const square = (x: number, y: number, s: number): number[] => [x, y, x + s, y, x + s, y + s, x, y + s];
  return {
    images: [
      { id: 1, file_name: 'a.png', width: W, height: H },
      { id: 2, file_name: 'b.png', width: W, height: H },
      { id: 3, file_name: 'c.png', width: W, height: H },
    ],
    categories: [
      { id: 5, name: 'cat' },
      { id: 9, name: 'dog' },
    ],
    annotations: [
      { id: 10, image_id: 1, category_id: 5, bbox: [2, 2, 6, 6], segmentation: [square(2, 2, 6)], iscrowd: 0 },
      { id: 11, image_id: 1, category_id: 9, bbox: [10, 4, 5, 5], segmentation: [square(10, 4, 5)], iscrowd: 0 },
      { id: 12, image_id: 2, category_id: 5, bbox: [0, 0, 30, 20], segmentation: { size: [H, W], counts: [0, H * W] }, iscrowd: 1 },
      { id: 13, image_id: 2, category_id: 9, bbox: [1, 1, 3, 3], segmentation: toCompressedJson(frBbox([1, 1, 3, 3], H, W)), iscrowd: 0 },
      { id: 14, image_id: 3, category_id: 9, bbox: [4, 4, 8, 8], segmentation: [square(4, 4, 8)], iscrowd: 0 },
    ],
  };
}

interface Loaded {
  ds: CocoDataset;
  warnings: DataWarning[];
}
function load(json: unknown, options = {}): Loaded {
  const warnings: DataWarning[] = [];
  const ds = CocoDataset.fromJson(json, 'instances_test.json', '/nonexistent', { onWarning: (w) => warnings.push(w), ...options });
  return { ds, warnings };
}

/** A case changes the base file; expects one warning with `code` whose entry contains `entry`. */
interface EntryCase {
  name: string;
  mutate: (j: Json) => void;
  code: DataWarningCode;
  entry: RegExp;
  message?: RegExp;
  /** Annotations left after loading (of the 5, filterEmpty false). */
  annotations: number;
  images?: number;
  /** Warnings that follow from the first (annotations of a dropped image or category). */
  then?: DataWarningCode[];
}

const ann = (j: Json, id: number): Record<string, unknown> => j.annotations.find((a) => a.id === id) as Record<string, unknown>;
const img = (j: Json, id: number): Record<string, unknown> => j.images.find((a) => a.id === id) as Record<string, unknown>;

const entryCases: EntryCase[] = [
  // Images
  { name: 'image not an object', mutate: (j) => (j.images[2] = 7 as never), code: 'invalid-image', entry: /image #2/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image without id', mutate: (j) => delete img(j, 3).id, code: 'invalid-image', entry: /image #2/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image id a string', mutate: (j) => (img(j, 3).id = '3'), code: 'invalid-image', entry: /image id "3"/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image id fractional', mutate: (j) => (img(j, 3).id = 3.5), code: 'invalid-image', entry: /image id 3.5/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image without file_name', mutate: (j) => delete img(j, 3).file_name, code: 'invalid-image', entry: /image id 3/, message: /file_name/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image file_name empty', mutate: (j) => (img(j, 3).file_name = ''), code: 'invalid-image', entry: /image id 3/, message: /file_name/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image file_name a number', mutate: (j) => (img(j, 3).file_name = 42), code: 'invalid-image', entry: /image id 3/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image without width', mutate: (j) => delete img(j, 3).width, code: 'invalid-image', entry: /image id 3/, message: /width/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image height zero', mutate: (j) => (img(j, 3).height = 0), code: 'invalid-image', entry: /image id 3/, message: /height/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image height negative', mutate: (j) => (img(j, 3).height = -20), code: 'invalid-image', entry: /image id 3/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image width a string', mutate: (j) => (img(j, 3).width = '30'), code: 'invalid-image', entry: /image id 3/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'image width NaN-like (null)', mutate: (j) => (img(j, 3).width = null), code: 'invalid-image', entry: /image id 3/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'duplicate image id', mutate: (j) => j.images.push({ id: 3, file_name: 'd.png', width: W, height: H }), code: 'duplicate-image', entry: /image id 3 \(#3/, annotations: 5, images: 3 },
  { name: 'duplicate file_name', mutate: (j) => j.images.push({ id: 4, file_name: 'c.png', width: W, height: H }), code: 'duplicate-image', entry: /image id 4/, annotations: 5, images: 3 },
  // Categories
  { name: 'category without id', mutate: (j) => delete j.categories[1].id, code: 'invalid-category', entry: /category #1/, annotations: 2, images: 2, then: ['unknown-category', 'unknown-category', 'unknown-category'] },
  { name: 'category id a string', mutate: (j) => (j.categories[1].id = '9'), code: 'invalid-category', entry: /category id "9"/, annotations: 2, images: 2, then: ['unknown-category', 'unknown-category', 'unknown-category'] },
  { name: 'category without name', mutate: (j) => delete j.categories[1].name, code: 'invalid-category', entry: /category id 9/, message: /name/, annotations: 2, images: 2, then: ['unknown-category', 'unknown-category', 'unknown-category'] },
  { name: 'category not an object', mutate: (j) => (j.categories[1] = 'dog' as never), code: 'invalid-category', entry: /category #1/, annotations: 2, images: 2, then: ['unknown-category', 'unknown-category', 'unknown-category'] },
  { name: 'duplicate category id', mutate: (j) => j.categories.push({ id: 5, name: 'again' }), code: 'duplicate-category', entry: /category id 5 \(#2/, annotations: 5 },
  // Annotations: identity and references
  { name: 'annotation not an object', mutate: (j) => (j.annotations[4] = [1, 2] as never), code: 'invalid-annotation', entry: /annotation #4/, annotations: 4, images: 2 },
  { name: 'annotation without id', mutate: (j) => delete ann(j, 14).id, code: 'invalid-annotation', entry: /annotation #4/, annotations: 4, images: 2 },
  { name: 'annotation id null', mutate: (j) => (ann(j, 14).id = null), code: 'invalid-annotation', entry: /annotation id null/, annotations: 4, images: 2 },
  { name: 'duplicate annotation id', mutate: (j) => (ann(j, 14).id = 10), code: 'duplicate-annotation', entry: /annotation id 10 \(#4/, annotations: 4, images: 2 },
  { name: 'annotation for a missing image', mutate: (j) => (ann(j, 14).image_id = 99), code: 'unknown-image', entry: /annotation id 14/, message: /99/, annotations: 4, images: 2 },
  { name: 'annotation without image_id', mutate: (j) => delete ann(j, 14).image_id, code: 'unknown-image', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'annotation image_id a string', mutate: (j) => (ann(j, 14).image_id = '3'), code: 'unknown-image', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'annotation for a missing category', mutate: (j) => (ann(j, 14).category_id = 4), code: 'unknown-category', entry: /annotation id 14/, message: /category_id 4/, annotations: 4, images: 2 },
  { name: 'annotation without category_id', mutate: (j) => delete ann(j, 14).category_id, code: 'unknown-category', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'iscrowd 2', mutate: (j) => (ann(j, 14).iscrowd = 2), code: 'invalid-annotation', entry: /annotation id 14/, message: /iscrowd/, annotations: 4, images: 2 },
  { name: 'iscrowd a string', mutate: (j) => (ann(j, 14).iscrowd = 'no'), code: 'invalid-annotation', entry: /annotation id 14/, message: /iscrowd/, annotations: 4, images: 2 },
  // Boxes
  { name: 'bbox missing', mutate: (j) => delete ann(j, 14).bbox, code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox with 3 numbers', mutate: (j) => (ann(j, 14).bbox = [1, 2, 3]), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox with a string', mutate: (j) => (ann(j, 14).bbox = [1, 2, '3', 4]), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox with null (NaN in JSON)', mutate: (j) => (ann(j, 14).bbox = [1, null, 3, 4]), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox with NaN', mutate: (j) => (ann(j, 14).bbox = [1, NaN, 3, 4]), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox with Infinity', mutate: (j) => (ann(j, 14).bbox = [1, 1, Infinity, 4]), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox negative width', mutate: (j) => (ann(j, 14).bbox = [5, 5, -2, 4]), code: 'invalid-bbox', entry: /annotation id 14/, message: /negative/, annotations: 4, images: 2 },
  { name: 'bbox zero width', mutate: (j) => (ann(j, 14).bbox = [5, 5, 0, 4]), code: 'degenerate-box', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox right of the image', mutate: (j) => (ann(j, 14).bbox = [40, 5, 5, 5]), code: 'degenerate-box', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox above the image', mutate: (j) => (ann(j, 14).bbox = [4, -30, 5, 10]), code: 'degenerate-box', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'bbox a string', mutate: (j) => (ann(j, 14).bbox = '4,4,8,8'), code: 'invalid-bbox', entry: /annotation id 14/, annotations: 4, images: 2 },
  // Segmentations
  { name: 'segmentation missing', mutate: (j) => delete ann(j, 14).segmentation, code: 'invalid-segmentation', entry: /annotation id 14/, message: /missing/, annotations: 4, images: 2 },
  { name: 'segmentation empty list', mutate: (j) => (ann(j, 14).segmentation = []), code: 'invalid-segmentation', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'polygon with 2 points', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, 5, 5]]), code: 'invalid-polygon-part', entry: /annotation id 14/, message: /2 points/, annotations: 4, images: 2, then: ['invalid-segmentation'] },
  { name: 'polygon with 1 point', mutate: (j) => (ann(j, 14).segmentation = [[1, 1]]), code: 'invalid-polygon-part', entry: /annotation id 14/, annotations: 4, images: 2, then: ['invalid-segmentation'] },
  { name: 'polygon with odd length', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, 5, 5, 9]]), code: 'invalid-segmentation', entry: /annotation id 14/, message: /odd/, annotations: 4, images: 2 },
  { name: 'polygon with NaN', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, NaN, 5, 9, 1]]), code: 'invalid-segmentation', entry: /annotation id 14/, message: /non-finite/, annotations: 4, images: 2 },
  { name: 'polygon with null', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, null, 5, 9, 1]]), code: 'invalid-segmentation', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'polygon with a string', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, '5', 5, 9, 1]]), code: 'invalid-segmentation', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'polygon coordinate 1e12', mutate: (j) => (ann(j, 14).segmentation = [[1, 1, 1e12, 5, 9, 1]]), code: 'invalid-segmentation', entry: /annotation id 14/, message: /far outside/, annotations: 4, images: 2 },
  { name: 'image larger than RLE can hold', mutate: (j) => Object.assign(img(j, 3), { width: 100000, height: 100000 }), code: 'invalid-image', entry: /image id 3/, message: /32-bit RLE/, annotations: 4, images: 2, then: ['unknown-image'] },
  { name: 'polygon not an array', mutate: (j) => (ann(j, 14).segmentation = [5]), code: 'invalid-segmentation', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'segmentation a string', mutate: (j) => (ann(j, 14).segmentation = 'poly'), code: 'invalid-segmentation', entry: /annotation id 14/, annotations: 4, images: 2 },
  { name: 'RLE without size', mutate: (j) => (ann(j, 13).segmentation = { counts: (toCompressedJson(frBbox([1, 1, 3, 3], H, W)).counts) }), code: 'invalid-segmentation', entry: /annotation id 13/, message: /size/, annotations: 4 },
  { name: 'RLE size not the image size', mutate: (j) => (ann(j, 13).segmentation = { size: [W, H], counts: [0, H * W] }), code: 'invalid-segmentation', entry: /annotation id 13/, message: /size/, annotations: 4 },
  { name: 'RLE counts sum below h*w', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: [10, 20] }), code: 'invalid-segmentation', entry: /annotation id 13/, message: /sum/, annotations: 4 },
  { name: 'RLE counts sum above h*w', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: [10, H * W] }), code: 'invalid-segmentation', entry: /annotation id 13/, message: /sum/, annotations: 4 },
  { name: 'RLE negative count', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: [-1, H * W + 1] }), code: 'invalid-segmentation', entry: /annotation id 13/, annotations: 4 },
  { name: 'RLE fractional count', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: [0.5, H * W - 0.5] }), code: 'invalid-segmentation', entry: /annotation id 13/, annotations: 4 },
  { name: 'compressed RLE with a bad character', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: toCompressedJson(frBbox([1, 1, 3, 3], H, W)).counts.replace(/^(.)/, '$1 ') }), code: 'invalid-segmentation', entry: /annotation id 13/, message: /alphabet/, annotations: 4 },
  { name: 'compressed RLE truncated', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: toCompressedJson(frBbox([1, 1, 3, 3], H, W)).counts.slice(0, -1) + '_' }), code: 'invalid-segmentation', entry: /annotation id 13/, annotations: 4 },
  { name: 'compressed RLE of another size', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: '31' }), code: 'invalid-segmentation', entry: /annotation id 13/, annotations: 4 },
  { name: 'RLE counts an object', mutate: (j) => (ann(j, 13).segmentation = { size: [H, W], counts: { a: 1 } }), code: 'invalid-segmentation', entry: /annotation id 13/, annotations: 4 },
];

describe('COCO loader: entry-level problems are skipped with a counted warning naming the entry', () => {
  test('the base file loads without warnings', () => {
    const { ds, warnings } = load(base(), { filterEmpty: false });
    expect(warnings).toEqual([]);
    expect(ds.length).toBe(3);
    expect(ds.stats.annotations).toBe(5);
    expect(ds.categories.map((c) => [c.id, c.label])).toEqual([
      [5, 1],
      [9, 2],
    ]);
    const t = ds.target(1);
    expect(Array.from(t.gtCrowd)).toEqual([1, 0]);
    expect(Array.from(t.gtLabels)).toEqual([1, 2]);
  });

  test.each(entryCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const j = base();
    c.mutate(j);
    const { ds, warnings } = load(j, { filterEmpty: false });
    expect(warnings.map((x) => x.code)).toEqual([c.code, ...(c.then ?? [])]);
    const w = warnings[0];
    expect(w.code).toBe(c.code);
    expect(w.entry).toMatch(/instances_test\.json/);
    expect(w.entry).toMatch(c.entry);
    if (c.message) expect(w.message).toMatch(c.message);
    expect(ds.warnings.count(c.code)).toBe(1);
    expect(ds.stats.annotations).toBe(c.annotations);
    if (c.images !== undefined) {
      // Same with filterEmpty (default): images left without annotations are dropped.
      const filtered = load(j);
      expect(filtered.ds.length).toBe(c.images);
    }
    for (let i = 0; i < ds.length; i++) ds.target(i); // every kept entry is usable
  });

  test('a multi-part polygon keeps its valid parts', () => {
    const j = base();
    ann(j, 14).segmentation = [[1, 1, 2, 2], [4, 4, 12, 4, 12, 12, 4, 12]];
    const { ds, warnings } = load(j, { filterEmpty: false });
    expect(warnings.map((w) => w.code)).toEqual(['invalid-polygon-part']);
    expect(ds.stats.annotations).toBe(5);
  });

  test('boxes are clipped to the image, as torchvision does', () => {
    const j = base();
    ann(j, 14).bbox = [-5, 15, 100, 100];
    const { ds, warnings } = load(j);
    expect(warnings).toEqual([]);
    expect(Array.from(ds.target(2).gtBoxes)).toEqual([0, 15, W, H]);
  });

  test('many bad entries are all counted, each named', () => {
    const j = base();
    for (let k = 0; k < 30; k++) j.annotations.push({ id: 100 + k, image_id: 1, category_id: 5, bbox: [1, 1, 2, 2], segmentation: [[1, 1]] });
    const { ds, warnings } = load(j);
    expect(ds.warnings.count('invalid-segmentation') + ds.warnings.count('invalid-polygon-part')).toBe(60);
    expect(new Set(warnings.map((w) => w.entry)).size).toBe(30);
    expect(ds.stats.skippedAnnotations).toBe(30);
  });
});

describe('COCO loader: file-level problems raise an Error naming the file', () => {
  const fileCases: [string, (j: Json) => unknown, RegExp][] = [
    ['not an object', () => [1, 2], /instances_test\.json: expected a JSON object/],
    ['null', () => null, /instances_test\.json: expected a JSON object/],
    ['images missing', (j) => ({ ...j, images: undefined }), /instances_test\.json: "images" must be an array/],
    ['annotations missing', (j) => ({ ...j, annotations: undefined }), /"annotations" must be an array/],
    ['categories an object', (j) => ({ ...j, categories: {} }), /"categories" must be an array/],
    ['no images', (j) => ({ ...j, images: [] }), /instances_test\.json: has no images/],
    ['every image bad', (j) => ({ ...j, images: j.images.map((i) => ({ ...i, width: -1 })) }), /none of its 3 image entries is valid/],
    ['no categories', (j) => ({ ...j, categories: [] }), /has no categories/],
    ['every category bad', (j) => ({ ...j, categories: j.categories.map((c) => ({ ...c, id: 'x' })) }), /none of its 2 category entries/],
    ['every annotation bad', (j) => ({ ...j, annotations: j.annotations.map((a) => ({ ...a, bbox: null })) }), /none of its 5 annotations is usable \(invalid-bbox: 5\)/],
    ['no annotation at all, filterEmpty', (j) => ({ ...j, annotations: [] }), /no image has a usable annotation.*filterEmpty: false/],
  ];
  test.each(fileCases)('%s', (_name, make, re) => {
    const onWarning = jest.fn();
    expect(() => CocoDataset.fromJson(make(base()), 'instances_test.json', '/x', { onWarning })).toThrow(re);
  });

  test('bad labelMode lists the valid values', () => {
    expect(() => CocoDataset.fromJson(base(), 'f.json', '/x', { labelMode: 'ids' as 'contiguous' })).toThrow(/'contiguous' or 'category-id'/);
  });
});

describe('COCO loader: files', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'coco-bad-'));
    await fs.mkdir(path.join(tmp, 'images'));
    const px = (w: number, h: number): Promise<Buffer> =>
      sharp({ create: { width: w, height: h, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer();
    await fs.writeFile(path.join(tmp, 'images', 'a.png'), await px(W, H));
    await fs.writeFile(path.join(tmp, 'images', 'b.png'), Buffer.from('this is not a png'));
    await fs.writeFile(path.join(tmp, 'images', 'c.png'), await px(H, W)); // wrong size
    await fs.writeFile(path.join(tmp, 'good.json'), JSON.stringify(base()));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  test('missing annotation file', async () => {
    await expect(loadCocoDataset(path.join(tmp, 'nope.json'), tmp)).rejects.toThrow(/annotation file not found: .*nope\.json/);
  });
  test('annotation file that is not JSON', async () => {
    const f = path.join(tmp, 'broken.json');
    await fs.writeFile(f, '{"images": [');
    await expect(loadCocoDataset(f, tmp)).rejects.toThrow(/broken\.json is not valid JSON/);
  });
  test('empty annotation file', async () => {
    const f = path.join(tmp, 'empty.json');
    await fs.writeFile(f, '');
    await expect(loadCocoDataset(f, tmp)).rejects.toThrow(/empty\.json is not valid JSON/);
  });
  test('missing images folder', async () => {
    await expect(loadCocoDataset(path.join(tmp, 'good.json'), path.join(tmp, 'nowhere'))).rejects.toThrow(/images folder .*nowhere/);
  });
  test('corrupt, wrong-size and missing image files: get() names the file; the loader skips them', async () => {
    const j = base();
    j.images.push({ id: 4, file_name: 'missing.png', width: W, height: H });
    j.annotations.push({ id: 15, image_id: 4, category_id: 5, bbox: [1, 1, 4, 4], segmentation: [[1, 1, 5, 1, 5, 5]] });
    const f = path.join(tmp, 'files.json');
    await fs.writeFile(f, JSON.stringify(j));
    const ds = await loadCocoDataset(f, path.join(tmp, 'images'), { onWarning: () => undefined });
    const a = await ds.get(0);
    expect(a.image.subarray(0, 3)).toEqual(Uint8Array.of(9, 99, 199));
    await expect(ds.get(1)).rejects.toThrow(/cannot decode .*b\.png/);
    await expect(ds.get(2)).rejects.toThrow(/c\.png \(id 3\): decoded size is 30x20.*height=20 width=30.*swapped/);
    await expect(ds.get(3)).rejects.toThrow(/image file not found: .*missing\.png/);

    const warnings: DataWarning[] = [];
    const loader = new DataLoader(ds, { batchSize: 2, onWarning: (w) => warnings.push(w), transform: { minSizes: [20], maxSize: 100 } });
    const seen: number[] = [];
    for await (const batch of loader.epoch(0)) seen.push(...batch.indices);
    expect(seen).toEqual([0]);
    expect(warnings.map((w) => w.code)).toEqual(['bad-sample', 'bad-sample', 'bad-sample']);
    expect(warnings.map((w) => path.basename(w.entry)).sort()).toEqual(['b.png', 'c.png', 'missing.png']);
  });
  test('a dataset whose every image file is bad ends the epoch with an error, not silently', async () => {
    const ds = await loadCocoDataset(path.join(tmp, 'good.json'), path.join(tmp, 'images'), { onWarning: () => undefined });
    const only = { length: 2, target: (i: number) => ds.target(i + 1), readImage: (i: number) => ds.readImage(i + 1) };
    const loader = new DataLoader(only, { batchSize: 1, onWarning: () => undefined });
    const run = async (): Promise<void> => {
      for await (const _ of loader.epoch(0)) void _;
    };
    await expect(run()).rejects.toThrow(/no sample of epoch 0 could be loaded \(2 failed\)/);
  });
  test('the pycocotools fixture loads: polygons, compressed RLE, crowd RLE, image without annotations', async () => {
    const f = path.join(__dirname, '..', 'fixtures', 'data', 'cocoeval_case1_gt.json');
    const kept = await loadCocoDataset(f, tmp, { onWarning: () => undefined });
    const all = await loadCocoDataset(f, tmp, { filterEmpty: false, onWarning: () => undefined });
    expect(all.length).toBe(6);
    expect(kept.length).toBe(5);
    expect(kept.stats.filteredEmptyImages).toBe(1);
    expect(kept.numClasses).toBe(5);
    expect(kept.categories.map((c) => c.id)).toEqual([1, 3, 7, 12]);
    const byId = await loadCocoDataset(f, tmp, { labelMode: 'category-id', onWarning: () => undefined });
    expect(byId.numClasses).toBe(13);
    expect(kept.stats.annotations + kept.stats.skippedAnnotations).toBe(22);
    expect(kept.stats.crowdAnnotations).toBe(2);
  });
});
