/**
 * The commands users run: predict, eval with a model on a dataset folder, the demo, and the COCO
 * results they write. A small randomly initialised model stands in for a trained one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { MaskRCNNModel, maskToFull } from '../../src/api/model';
import { toCocoResults } from '../../src/api/coco_results';
import { runDemo } from '../../src/cli/demo_command';
import { runModelEval } from '../../src/cli/eval_command';
import { createProgram } from '../../src/cli/main';
import { runPredict } from '../../src/cli/predict_command';
import { generateShapesDataset } from '../../src/data/shapes';
import { decode, rleFromString } from '../../src/data/mask';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { useBackend } from '../support/backends';

describe('maskrcnn commands', () => {
  let dir: string;
  let modelDir: string;
  let data: Awaited<ReturnType<typeof generateShapesDataset>>;
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  beforeAll(async () => {
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-cli-'));
    data = await generateShapesDataset({ outDir: path.join(dir, 'shapes'), numImages: 3, width: 80, height: 60, seed: 3 });
    const names = ['__background__', ...data.categories.map((c) => c.name)];
    const network = new MaskRCNN({
      numClasses: names.length,
      transform: { minSize: 64, maxSize: 96 },
      rpn: { preNmsTopN: { training: 100, testing: 50 }, postNmsTopN: { training: 100, testing: 50 } },
      detection: { scoreThresh: 0, detectionsPerImg: 4 },
    });
    const model = new MaskRCNNModel(network, names, undefined);
    modelDir = path.join(dir, 'model');
    await model.save(`file://${modelDir}`);
    model.dispose();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => lines.splice(0));

  it('predict prints detections and writes detailed JSON with RLE masks, never replacing a file without --force', async () => {
    const img = path.join(data.imagesDir, '000001.png');
    const out = path.join(dir, 'pred.json');
    const preds = await runPredict({ weights: modelDir, images: [img], out, format: 'detailed', scoreThreshold: 0, backend: 'wasm' }, log);
    expect(lines[0]).toBe('backend wasm (@tensorflow/tfjs-backend-wasm), requested wasm');
    expect(lines[1]).toMatch(/000001\.png: 80x60, 4 detections in [\d.]+ s/);
    const json = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(json[0].detections).toHaveLength(4);
    const d = json[0].detections[0];
    expect(Array.from(decode(rleFromString(d.segmentation.counts, 60, 80)))).toEqual(
      Array.from(transposeToColumnMajor(maskToFull(preds[0].detections[0].mask), 60, 80)),
    );
    await expect(runPredict({ weights: modelDir, images: [img], out }, log)).rejects.toThrow(`${out} exists; pass --force to replace it`);
    await expect(runPredict({ weights: path.join(dir, 'nope.pth'), images: [img] }, log)).rejects.toThrow(/nope\.pth/);
  });

  it('predict draws one picture per image next to the JSON and prints a table of what it found', async () => {
    const imgs = ['000001.png', '000002.png'].map((f) => path.join(data.imagesDir, f));
    const outDir = path.join(dir, 'pictures');
    const out = path.join(outDir, 'pred.json');
    fs.mkdirSync(outDir);
    const preds = await runPredict({ weights: modelDir, images: imgs, out, scoreThreshold: 0, backend: 'wasm' }, log);
    for (const [i, name] of ['000001.overlay.png', '000002.overlay.png'].entries()) {
      const meta = await sharp(path.join(outDir, name)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 80, 60]);
      expect(lines).toContain(`  picture: ${path.join(outDir, name)}`);
      expect(preds[i].detections).toHaveLength(4);
    }
    const header = lines.findIndex((l) => l.startsWith('image'));
    expect(lines[header]).toMatch(/^image\s+label\s+score\s+box \(x1, y1, x2, y2\)\s+mask px$/);
    expect(lines.slice(header + 2)).toEqual([...lines.slice(header + 2, header + 10), `wrote ${out} (8 COCO results; image ids 1..N in argument order, category ids = labels)`]); // 4 detections in each of 2 images
    expect(lines[header + 2]).toMatch(/^000001\.png\s+\w+\s+0\.\d{3}\s+[\d.]+, [\d.]+, [\d.]+, [\d.]+\s+\d+$/);
    // Pictures are never replaced without --force; the error names them before any work is done.
    fs.rmSync(out);
    await expect(runPredict({ weights: modelDir, images: imgs, out, backend: 'wasm' }, log)).rejects.toThrow(
      `${path.join(outDir, '000001.overlay.png')}, ${path.join(outDir, '000002.overlay.png')} exist; pass --force to replace, or --no-overlays`,
    );
    await runPredict({ weights: modelDir, images: imgs, out, overlays: false, backend: 'wasm' }, log);
    // Two images of the same name get distinct pictures.
    const twin = path.join(dir, 'twin');
    fs.mkdirSync(twin);
    fs.copyFileSync(imgs[0], path.join(twin, '000001.png'));
    await runPredict({ weights: modelDir, images: [imgs[0], path.join(twin, '000001.png')], overlays: path.join(dir, 'twins'), backend: 'wasm' }, log);
    expect(fs.readdirSync(path.join(dir, 'twins')).sort()).toEqual(['000001-2.overlay.png', '000001.overlay.png']);
  });

  it('eval runs the model on a dataset folder and prints pycocotools\' table', async () => {
    const out = path.join(dir, 'results.json');
    const r = await runModelEval({ gt: data.annotationFile, images: data.imagesDir, weights: modelDir, out, backend: 'wasm', progress: false }, log);
    expect(r.imagesEvaluated).toBe(3);
    expect(r.summaries.map((s) => s.iouType)).toEqual(['bbox', 'segm']);
    expect(r.summaries[0].stats).toHaveLength(12);
    expect(lines.filter((l) => l.startsWith(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]'))).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(r.results.length);
  });

  it('the eval command line refuses --dt together with --weights', async () => {
    const program = createProgram().exitOverride();
    await expect(
      program.parseAsync(['node', 'maskrcnn', 'eval', '--gt', data.annotationFile, '--dt', 'x.json', '--weights', modelDir]),
    ).rejects.toThrow('give either --dt (a results file) or --weights with --images (a model)');
  });

  it('toCocoResults gives xywh boxes, mapped category ids and pycocotools RLE strings', () => {
    const mask = new Uint8Array(6 * 4);
    mask[1 * 4 + 2] = 1; // row 1, column 2
    mask[2 * 4 + 2] = 1;
    const pred = {
      height: 6,
      width: 4,
      detections: [{ box: [1, 2, 3.5, 5] as [number, number, number, number], score: 0.9, label: 2, labelName: 'b', mask: { format: 'full' as const, height: 6, width: 4, data: mask } }],
    };
    const [r] = toCocoResults([pred], [42], { labelToCategoryId: [0, 10, 20] });
    expect(r).toMatchObject({ image_id: 42, category_id: 20, bbox: [1, 2, 2.5, 3], score: 0.9 });
    // Column-major runs: 13 zeros (columns 0, 1 and one pixel of column 2), 2 ones, 9 zeros.
    expect(r.segmentation).toEqual({ size: [6, 4], counts: '=29' });
    expect(() => toCocoResults([pred], [1, 2])).toThrow('1 predictions but 2 image ids');
    expect(() => toCocoResults([pred], [1], { labelToCategoryId: [0] })).toThrow('label 2 has no entry in labelToCategoryId');
    expect(() => toCocoResults([pred], [1], { labelToCategoryId: [0, 10, undefined] })).toThrow('label 2 has no entry in labelToCategoryId');
    // unmapped: 'skip' leaves out the detections of labels without a category, keeps the rest.
    const two = { ...pred, detections: [pred.detections[0], { ...pred.detections[0], label: 1, score: 0.5 }] };
    expect(toCocoResults([two], [7], { labelToCategoryId: [undefined, 10, undefined], unmapped: 'skip' }).map((x) => [x.category_id, x.score])).toEqual([[10, 0.5]]);
    expect(toCocoResults([two], [7], { labelToCategoryId: [undefined, 10], unmapped: 'skip' })).toHaveLength(1);
  });

  it('the demo segments generated images with the shipped model, draws them and times each stage', async () => {
    const before = tf.memory().numTensors;
    const r = await runDemo({ out: path.join(dir, 'demo'), numImages: 2, backend: 'wasm' }, log);
    expect(r.bbox).toHaveLength(12);
    expect(r.segm).toHaveLength(12);
    expect(lines.some((l) => l.startsWith('model: the shipped shapes model'))).toBe(true);
    expect(r.pictures).toEqual(['000001.png', '000002.png'].map((f) => path.join(dir, 'demo', 'pictures', f)));
    for (const p of r.pictures) expect((await sharp(p).metadata()).width).toBe(192);
    expect(lines).toContain(`pictures: ${path.join(dir, 'demo', 'pictures')} (2 PNG, detections with score >= 0.5 drawn)`);
    const times = lines.find((l) => l.startsWith('time per image (ms): '));
    expect(times).toMatch(/^time per image \(ms\): decode \d+, transform \d+, backbone \d+, rpn \d+, box_head \d+, mask_head \d+, postprocess \d+; total \d+$/);
    expect(r.stageMs.backbone).toBeGreaterThan(0);
    // The shipped model segments something (its figures are held in
    // test/shipped/shipped_model.test.ts).
    expect(r.segm[1]).toBeGreaterThan(0.1);
    expect(fs.existsSync(path.join(dir, 'demo', 'results.json'))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('predict without --weights uses the shipped model and says so', async () => {
    const img = path.join(dir, 'demo', 'shapes', 'images', '000001.png');
    const [p] = await runPredict({ images: [img], overlays: false, scoreThreshold: 0.5, backend: 'wasm' }, log);
    expect(lines[0]).toMatch(/^no --weights: using the shipped shapes model \(ResNet-18-FPN, 6 shape classes\), .*weights\/shapes-r18$/);
    expect(p.detections.length).toBeGreaterThan(0);
  });
});

function transposeToColumnMajor(rowMajor: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + y] = rowMajor[y * w + x];
  return out;
}
