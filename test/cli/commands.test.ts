/**
 * The commands users run: predict, eval with a model on a dataset folder, the demo, and the COCO
 * results they write. A small randomly initialised model stands in for a trained one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
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

  it('predict prints detections and writes JSON with RLE masks, never replacing a file without --force', async () => {
    const img = path.join(data.imagesDir, '000001.png');
    const out = path.join(dir, 'pred.json');
    const preds = await runPredict({ weights: modelDir, images: [img], out, scoreThreshold: 0, backend: 'wasm' }, log);
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
  });

  it('the demo generates the dataset, predicts and evaluates on what ships with the project', async () => {
    const before = tf.memory().numTensors;
    const stats = await runDemo({ out: path.join(dir, 'demo'), numImages: 1, backend: 'wasm' }, log);
    expect(stats.bbox).toHaveLength(12);
    expect(stats.segm).toHaveLength(12);
    expect(fs.existsSync(path.join(dir, 'demo', 'results.json'))).toBe(true);
    expect(lines.some((l) => l.startsWith('IoU metric: segm'))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

function transposeToColumnMajor(rowMajor: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + y] = rowMajor[y * w + x];
  return out;
}
