import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCocoDataset } from '../../src/data/coco_dataset';
import { generateShapesDataset, renderShapesImage, SHAPE_KINDS } from '../../src/data/shapes';
import { DataWarning } from '../../src/data/warnings';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'shapes-rt-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const render = { width: [96, 160] as [number, number], height: [64, 120] as [number, number], shapesPerImage: [2, 7] as [number, number] };

describe('shapes dataset round trip', () => {
  test('every mask loaded back equals the mask drawn (polygons, compressed RLE, crowd RLE)', async () => {
    const outDir = path.join(tmp, 'mixed');
    const categoryIds = [3, 7, 12, 20, 33, 50]; // gaps, as COCO has
    const warnings: DataWarning[] = [];
    const res = await generateShapesDataset({ outDir, numImages: 24, seed: 11, crowdProbability: 0.2, categoryIds, ...render });
    expect(res.numImages).toBe(24);
    const ds = await loadCocoDataset(res.annotationFile, res.imagesDir, { filterEmpty: false, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(ds.length).toBe(24);
    expect(ds.categories.map((c) => [c.id, c.label])).toEqual(categoryIds.map((id, i) => [id, i + 1]));

    const json = JSON.parse(await fs.readFile(res.annotationFile, 'utf8'));
    const kinds = new Set<string>();
    for (const a of json.annotations) {
      kinds.add(Array.isArray(a.segmentation) ? 'polygon' : typeof a.segmentation.counts === 'string' ? 'compressed' : 'uncompressed');
    }
    expect([...kinds].sort()).toEqual(['compressed', 'polygon', 'uncompressed']);

    let instances = 0;
    let occluded = 0;
    let crowd = 0;
    for (let i = 0; i < ds.length; i++) {
      const drawn = renderShapesImage(11, i, render);
      const s = await ds.get(i);
      expect([s.height, s.width]).toEqual([drawn.height, drawn.width]);
      expect(Buffer.from(s.image).equals(Buffer.from(drawn.image))).toBe(true); // PNG is lossless
      const n = drawn.shapes.length;
      expect(s.gtLabels.length).toBe(n);
      const hw = s.height * s.width;
      drawn.shapes.forEach((shape, k) => {
        const loaded = s.gtMasks.subarray(k * hw, (k + 1) * hw);
        expect(Buffer.from(loaded).equals(Buffer.from(shape.mask))).toBe(true);
        expect(ds.labelToCategoryId(s.gtLabels[k])).toBe(categoryIds[SHAPE_KINDS.indexOf(shape.kind)]);
        // The box is the tight box of the visible mask.
        let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
        for (let p = 0; p < hw; p++) {
          if (!shape.mask[p]) continue;
          const x = p % s.width, y = Math.floor(p / s.width);
          x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1);
        }
        expect(Array.from(s.gtBoxes.subarray(k * 4, k * 4 + 4))).toEqual([x1, y1, x2, y2]);
        instances++;
        if (!shape.fullyVisible) occluded++;
        crowd += s.gtCrowd[k];
      });
    }
    expect(instances).toBeGreaterThan(40);
    expect(occluded).toBeGreaterThan(3); // occlusion really happens
    expect(crowd).toBeGreaterThan(0);
    expect(ds.stats.crowdAnnotations).toBe(crowd);
  });

  test('rle mode and JPEG: masks still exact, images close', async () => {
    const res = await generateShapesDataset({ outDir: path.join(tmp, 'rle'), numImages: 4, seed: 5, segmentation: 'rle', format: 'jpeg', ...render });
    const json = JSON.parse(await fs.readFile(res.annotationFile, 'utf8'));
    expect(json.annotations.every((a: { segmentation: unknown }) => !Array.isArray(a.segmentation))).toBe(true);
    expect(json.images[0].file_name).toMatch(/\.jpg$/);
    const ds = await loadCocoDataset(res.annotationFile, res.imagesDir, { filterEmpty: false });
    for (let i = 0; i < ds.length; i++) {
      const drawn = renderShapesImage(5, i, render);
      const s = await ds.get(i);
      const hw = s.height * s.width;
      drawn.shapes.forEach((shape, k) => {
        expect(Buffer.from(s.gtMasks.subarray(k * hw, (k + 1) * hw)).equals(Buffer.from(shape.mask))).toBe(true);
      });
      let err = 0;
      for (let p = 0; p < s.image.length; p++) err += Math.abs(s.image[p] - drawn.image[p]);
      expect(err / s.image.length).toBeLessThan(8);
    }
  });

  test('same seed gives the same files; another seed does not', async () => {
    const a = await generateShapesDataset({ outDir: path.join(tmp, 'a'), numImages: 3, seed: 2, ...render });
    const b = await generateShapesDataset({ outDir: path.join(tmp, 'b'), numImages: 3, seed: 2, ...render });
    const c = await generateShapesDataset({ outDir: path.join(tmp, 'c'), numImages: 3, seed: 3, ...render });
    const ja = await fs.readFile(a.annotationFile, 'utf8');
    expect(await fs.readFile(b.annotationFile, 'utf8')).toBe(ja);
    expect(await fs.readFile(c.annotationFile, 'utf8')).not.toBe(ja);
    const ia = await fs.readFile(path.join(a.imagesDir, '000002.png'));
    expect(ia.equals(await fs.readFile(path.join(b.imagesDir, '000002.png')))).toBe(true);
  });

  test('refuses a non-empty folder unless overwrite, and then keeps foreign files', async () => {
    const outDir = path.join(tmp, 'user');
    await fs.mkdir(outDir);
    await fs.writeFile(path.join(outDir, 'notes.txt'), 'mine');
    await expect(generateShapesDataset({ outDir, numImages: 2, ...render })).rejects.toThrow(/not empty.*overwrite: true/);
    expect(await fs.readdir(outDir)).toEqual(['notes.txt']);
    await generateShapesDataset({ outDir, numImages: 3, overwrite: true, ...render });
    await generateShapesDataset({ outDir, numImages: 2, overwrite: true, ...render });
    expect(await fs.readFile(path.join(outDir, 'notes.txt'), 'utf8')).toBe('mine');
    expect((await fs.readdir(path.join(outDir, 'images'))).sort()).toEqual(['000001.png', '000002.png']);
  });

  test('rejects bad options with the valid values', async () => {
    const outDir = path.join(tmp, 'bad');
    await expect(generateShapesDataset({ outDir, numImages: 0 })).rejects.toThrow(/numImages/);
    await expect(generateShapesDataset({ outDir, numImages: 1, format: 'gif' as 'png' })).rejects.toThrow(/'png' or 'jpeg'/);
    await expect(generateShapesDataset({ outDir, numImages: 1, width: 4 })).rejects.toThrow(/width/);
    await expect(generateShapesDataset({ outDir, numImages: 1, kinds: ['blob' as 'circle'] })).rejects.toThrow(/circle, square/);
    await expect(generateShapesDataset({ outDir, numImages: 1, categoryIds: [1, 1, 2, 3, 4, 5] })).rejects.toThrow(/distinct/);
  });
});
