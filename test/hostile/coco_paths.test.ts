/**
 * Hostile COCO image paths: `file_name` values `../secret.png`, `sub/../../secret.png`, an absolute
 * path to a file outside `imagesDir`, a Windows drive path and a backslash `..\\` escape. Each
 * such entry is a bad entry (skipped with a counted `invalid-image` warning naming it, its
 * annotations dropped as annotations of an unknown image); nothing outside `imagesDir` is read,
 * and the good entries (including a file in a subfolder) load as before.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { loadCocoDataset } from '../../src/data/coco_dataset';
import { DataWarning } from '../../src/data/warnings';

describe('hostile COCO file_name paths', () => {
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-coco-paths-'));
    fs.mkdirSync(path.join(dir, 'images', 'sub'), { recursive: true });
    const png = (file: string, v: number): Promise<unknown> =>
      sharp(Buffer.alloc(8 * 6 * 3, v), { raw: { width: 8, height: 6, channels: 3 } }).png().toFile(file);
    await png(path.join(dir, 'images', 'a.png'), 10);
    await png(path.join(dir, 'images', 'sub', 'b.png'), 20);
    await png(path.join(dir, 'secret.png'), 200); // outside imagesDir
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('skips entries whose file_name leaves imagesDir, with a warning naming each, and reads only inside', async () => {
    const secret = path.join(dir, 'secret.png');
    const hostile = ['../secret.png', 'sub/../../secret.png', secret, 'C:\\secret.png', 'sub\\..\\..\\secret.png'];
    const images = [
      { id: 1, file_name: 'a.png', width: 8, height: 6 },
      { id: 2, file_name: 'sub/b.png', width: 8, height: 6 },
      ...hostile.map((f, i) => ({ id: 10 + i, file_name: f, width: 8, height: 6 })),
    ];
    const annotations = images.map((im, i) => ({ id: 100 + i, image_id: im.id, category_id: 1, bbox: [1, 1, 4, 3], segmentation: [[1, 1, 5, 1, 5, 4, 1, 4]], iscrowd: 0 }));
    const file = path.join(dir, 'instances.json');
    fs.writeFileSync(file, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'thing' }] }));
    const warnings: DataWarning[] = [];
    const ds = await loadCocoDataset(file, path.join(dir, 'images'), { onWarning: (w) => warnings.push(w) });

    const invalid = warnings.filter((w) => w.code === 'invalid-image');
    expect(invalid.map((w) => w.entry)).toEqual(hostile.map((_, i) => `${file}: image id ${10 + i} (#${2 + i} in images)`));
    invalid.forEach((w, i) => expect(w.message).toBe(`file_name ${JSON.stringify(hostile[i])} points outside the images folder (absolute or '..'); it is not read`));
    expect(ds.warnings.count('invalid-image')).toBe(hostile.length);
    expect(ds.stats.skippedImages).toBe(hostile.length);
    expect(ds.length).toBe(2);
    const inside = path.join(dir, 'images') + path.sep;
    for (let i = 0; i < ds.length; i++) {
      const s = await ds.get(i);
      expect(s.filePath.startsWith(inside)).toBe(true);
      expect(s.image[0]).toBe(i === 0 ? 10 : 20); // never the secret's 200
    }
  });
});
