/**
 * The CLI as a new user meets it (issue 12): predict writes COCO results that eval reads, one bad
 * image among many is reported with its position and path while the others are predicted and
 * written, every image is checked before the model loads, and a wrong path names the option and
 * what was expected. A small randomly initialised ResNet-18 model stands in for a trained one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { MaskRCNNModel } from '../../src/api/model';
import { matchImageIds } from '../../src/cli/coco_ids';
import { categoryIdsOf } from '../../src/api/category_ids';
import { runDemo } from '../../src/cli/demo_command';
import { runEval, runModelEval } from '../../src/cli/eval_command';
import { createProgram } from '../../src/cli/main';
import { checkWeightsPath } from '../../src/cli/model_options';
import { PredictFailedError, runPredict } from '../../src/cli/predict_command';
import { runTrain } from '../../src/cli/train_command';
import { generateShapesDataset } from '../../src/data/shapes';
import { CocoGroundTruth } from '../../src/eval';
import { readTorchStateDict } from '../../src/io/torch_checkpoint';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { useBackend } from '../support/backends';

const EXPECTED_WEIGHTS = 'expected a torchvision checkpoint (.pth / .pt) or a folder saved by maskrcnn-tfjs (holding model.json)';

describe('a CLI that forgives', () => {
  let dir: string;
  let modelDir: string;
  let data: Awaited<ReturnType<typeof generateShapesDataset>>;
  /** The dataset's instances with image ids 101.. instead of 1.., so ids 1..N cannot pass by luck. */
  let gtFile: string;
  let imgs: string[];
  let classNames: string[];
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  beforeAll(async () => {
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-forgiving-'));
    data = await generateShapesDataset({
      outDir: path.join(dir, 'shapes'), numImages: 3, width: 80, height: 60, seed: 3, categoryIds: [11, 12, 13, 14, 15, 16],
    });
    const json = JSON.parse(fs.readFileSync(data.annotationFile, 'utf8')) as {
      images: { id: number }[];
      annotations: { image_id: number }[];
    };
    for (const im of json.images) im.id += 100;
    for (const a of json.annotations) a.image_id += 100;
    gtFile = path.join(dir, 'shapes', 'instances_101.json');
    fs.writeFileSync(gtFile, JSON.stringify(json));
    imgs = ['000001.png', '000002.png', '000003.png'].map((f) => path.join(data.imagesDir, f));
    classNames = ['__background__', ...data.categories.map((c) => c.name)];
    const network = new MaskRCNN({
      depth: 18,
      fpnChannels: 64,
      numClasses: classNames.length,
      transform: { minSize: 64, maxSize: 96 },
      rpn: { preNmsTopN: { training: 100, testing: 50 }, postNmsTopN: { training: 100, testing: 50 } },
      detection: { scoreThresh: 0, detectionsPerImg: 4 },
    });
    const model = new MaskRCNNModel(network, classNames, undefined);
    modelDir = path.join(dir, 'model');
    await model.save(`file://${modelDir}`);
    model.dispose();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => lines.splice(0));

  describe('1. predict writes COCO results that eval reads', () => {
    it('with --gt: image ids from file_name, category ids by name; eval --dt accepts the file (end to end)', async () => {
      const out = path.join(dir, 'coco_gt.json');
      const order = [imgs[2], imgs[0], imgs[1]];
      const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await createProgram()
          .exitOverride()
          .parseAsync(['node', 'maskrcnn', 'predict', ...order, '--weights', modelDir, '--gt', gtFile, '--out', out, '--no-overlays', '--backend', 'wasm']);
      } finally {
        quiet.mockRestore();
      }
      const results = JSON.parse(fs.readFileSync(out, 'utf8')) as { image_id: number; category_id: number; bbox: number[]; segmentation: { size: number[] } }[];
      expect(results).toHaveLength(12); // 4 detections in each of 3 images
      expect(results.map((r) => r.image_id)).toEqual([103, 103, 103, 103, 101, 101, 101, 101, 102, 102, 102, 102]);
      for (const r of results) {
        expect(data.categories.map((c) => c.id)).toContain(r.category_id);
        expect(r.bbox).toHaveLength(4);
        expect(r.segmentation.size).toEqual([60, 80]);
      }
      // eval reads it as it is, through the same command line.
      const printed: string[] = [];
      const spy = jest.spyOn(console, 'log').mockImplementation((l: string) => void printed.push(l));
      try {
        await createProgram().exitOverride().parseAsync(['node', 'maskrcnn', 'eval', '--gt', gtFile, '--dt', out]);
      } finally {
        spy.mockRestore();
      }
      expect(printed).toContain(`results: ${out} (12 detections)`);
      expect(printed.some((l) => l.startsWith('note: the results cover'))).toBe(false); // all 3 images
      expect(printed).toContain('IoU metric: segm');
      expect(printed.filter((l) => l.startsWith(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]'))).toHaveLength(2);
    });

    it('without --gt: image ids 1..N in argument order and category id = label, said in the output line', async () => {
      const out = path.join(dir, 'coco_plain.json');
      const preds = await runPredict({ weights: modelDir, images: [imgs[1], imgs[0]], out, overlays: false, backend: 'wasm' }, log);
      const results = JSON.parse(fs.readFileSync(out, 'utf8')) as { image_id: number; category_id: number; score: number }[];
      expect(results.map((r) => r.image_id)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
      expect(results.map((r) => r.category_id)).toEqual([...preds[0].detections, ...preds[1].detections].map((d) => d.label));
      expect(results.map((r) => r.score)).toEqual([...preds[0].detections, ...preds[1].detections].map((d) => d.score));
      expect(lines).toContain(`wrote ${out} (8 COCO results; image ids 1..N in argument order, category ids = labels)`);
      // Those ids are not the ground truth's: eval says so and how to number them.
      expect(() => runEval({ gt: gtFile, dt: out }, log)).toThrow(
        `Error in eval: --dt ${out}: results[0] has image_id 1, which is not an image of --gt ${gtFile}; the results are of other images, ` +
          `or numbered 1..N by maskrcnn predict without --gt (then: maskrcnn predict --gt ${gtFile} --out ${out} <images>)`,
      );
    });

    it('eval says when the results cover only some images of --gt (the others count as misses)', async () => {
      const out = path.join(dir, 'coco_one.json');
      await runPredict({ weights: modelDir, images: [imgs[1]], gt: gtFile, out, overlays: false, backend: 'wasm' }, log);
      runEval({ gt: gtFile, dt: out }, log);
      expect(lines).toContain('note: the results cover 1 of the 3 images of --gt; the other 2 count as images where nothing was found');
    });

    it('--format detailed keeps the per-file records, and eval explains what to write instead', async () => {
      const out = path.join(dir, 'detailed.json');
      await runPredict({ weights: modelDir, images: [imgs[0]], out, format: 'detailed', overlays: false, backend: 'wasm' }, log);
      const [rec] = JSON.parse(fs.readFileSync(out, 'utf8')) as { file: string; height: number; width: number; detections: { labelName: string; box: number[] }[] }[];
      expect([rec.file, rec.height, rec.width, rec.detections.length]).toEqual([imgs[0], 60, 80, 4]);
      expect(classNames).toContain(rec.detections[0].labelName);
      expect(() => runEval({ gt: gtFile, dt: out }, log)).toThrow(
        `Error in eval: --dt ${out} is maskrcnn predict's detailed format (one record per image file), not COCO results; ` +
          `write those with maskrcnn predict --gt ${gtFile} --out ${out} <images>`,
      );
      await expect(runPredict({ images: [imgs[0]], format: 'csv' as 'coco' }, log)).rejects.toThrow('--format must be one of coco, detailed; got "csv"');
    });

    it('matches files to --gt by the end of their path, and categories by name or else by label', () => {
      const gt = CocoGroundTruth.fromJson(
        {
          images: [
            { id: 7, file_name: 'a.png', height: 1, width: 1 },
            { id: 8, file_name: 'val/b.png', height: 1, width: 1 },
            { id: 9, file_name: 'train/b.png', height: 1, width: 1 },
          ],
          annotations: [],
          categories: [{ id: 30, name: 'square' }, { id: 40, name: 'circle' }],
        },
        'gt.json',
      );
      const m = matchImageIds(['x/a.png', 'data/val/b.png', 'b.png', 'c.png', 'y/a.png'], gt);
      expect(m.ids).toEqual([7, 8, undefined, undefined, undefined]);
      expect(m.problems).toEqual([
        undefined,
        undefined,
        'not an image of gt.json (no file_name is b.png or an end of its path)',
        'not an image of gt.json (no file_name is c.png or an end of its path)',
        'is image id 7 of gt.json, as image 1 (x/a.png) already is',
      ]);
      expect(categoryIdsOf(['__background__', 'circle', 'square', 'star'], gt)).toEqual({
        labelToCategoryId: [undefined, 40, 30, undefined],
        byName: true,
        note: "category ids: 2 class names matched to gt.json's categories; detections of 1 other class (star) are left out",
      });
      expect(categoryIdsOf(['__background__', 'class_1', 'class_2'], gt)).toMatchObject({ labelToCategoryId: [undefined, 1, 2], byName: false });
    });
  });

  describe('2-3. one bad image does not lose the others, and all are checked before the model loads', () => {
    it('reports every bad image with its position, path and reason, predicts and writes the others, and fails at the end', async () => {
      const missing = path.join(dir, 'missing.png');
      const svg = path.join(dir, 'drawing.svg');
      fs.writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"></svg>');
      const damaged = path.join(dir, 'damaged.png'); // a valid header: only decoding finds the damage
      const png = fs.readFileSync(imgs[0]);
      fs.writeFileSync(damaged, png.subarray(0, png.indexOf('IDAT') + 8));
      const out = path.join(dir, 'partial', 'preds.json');
      fs.mkdirSync(path.dirname(out));
      const images = [imgs[0], missing, damaged, imgs[1], svg];
      const run = runPredict({ weights: modelDir, images, out, backend: 'wasm' }, log);
      await expect(run).rejects.toBeInstanceOf(PredictFailedError);
      const e = (await run.catch((x: unknown) => x)) as PredictFailedError;
      expect(e.failures.map((f) => [f.index, f.file])).toEqual([[1, missing], [2, damaged], [4, svg]]);
      expect(e.message).toMatch(/^Error in predict: 3 of 5 images failed \(the other 2 were predicted and written\):\n {2}image 2 of 5 \(.*missing\.png\): readImage: image file not found/);
      expect(e.message).toContain(`image 5 of 5 (${svg}): readImage: ${svg} is SVG`);
      expect(e.message).toMatch(/image 3 of 5 \(.*damaged\.png\): readImage: cannot decode/);
      expect(e.message).not.toContain('input 0');
      expect(e.predictions.map((p) => p?.detections.length)).toEqual([4, undefined, undefined, 4, undefined]);
      // The files the header check finds are all listed before the model is loaded (the backend line).
      const loaded = lines.findIndex((l) => l.startsWith('backend '));
      expect(lines.slice(0, loaded)).toEqual([
        `error: image 2 of 5 (${missing}): readImage: image file not found: ${missing}`,
        expect.stringMatching(/^error: image 5 of 5 \(.*drawing\.svg\): readImage: .* is SVG/),
        '2 of 5 images cannot be read; predicting the other 3',
      ]);
      expect(lines.findIndex((l) => l.startsWith(`error: image 3 of 5 (${damaged})`))).toBeGreaterThan(loaded);
      // What could be done was written: the two good images' results and pictures.
      const results = JSON.parse(fs.readFileSync(out, 'utf8')) as { image_id: number }[];
      expect([...new Set(results.map((r) => r.image_id))]).toEqual([1, 4]); // ids are argument positions, failures or not
      expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(['000001.overlay.png', '000002.overlay.png', 'preds.json']);
    });

    it('an image that is not in --gt, or is there twice, is reported like an unreadable one', async () => {
      const stray = path.join(dir, 'stray.png');
      fs.copyFileSync(imgs[0], stray);
      const run = runPredict({ weights: modelDir, images: [imgs[0], stray, imgs[0]], gt: gtFile, overlays: false, backend: 'wasm' }, log);
      await expect(run).rejects.toThrow(
        new RegExp(`2 of 3 images failed[^]*image 2 of 3 \\(.*stray\\.png\\): not an image of .*instances_101\\.json[^]*image 3 of 3 .*: is image id 101 of .*, as image 1 .* already is`),
      );
    });

    it('when no image can be read, fails before loading the model', async () => {
      const run = runPredict({ weights: modelDir, images: [path.join(dir, 'x.png'), path.join(dir, 'y.jpg')], backend: 'wasm' }, log);
      await expect(run).rejects.toThrow(/^Error in predict: 2 of 2 images failed:\n {2}image 1 of 2 .*x\.png.*\n {2}image 2 of 2 .*y\.jpg/);
      expect(lines.some((l) => l.startsWith('backend '))).toBe(false);
    });

    it('the command line exits non-zero when an image failed, after writing the others', async () => {
      const out = path.join(dir, 'cli_partial.json');
      const program = createProgram().exitOverride();
      const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await expect(
          program.parseAsync(['node', 'maskrcnn', 'predict', imgs[0], path.join(dir, 'gone.png'), '--weights', modelDir, '--out', out, '--no-overlays', '--backend', 'wasm']),
        ).rejects.toThrow('1 of 2 images failed (the other 1 were predicted and written)');
      } finally {
        spy.mockRestore();
      }
      expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(4);
      // The detailed format keeps a record for the failed file too, saying why.
      await expect(
        runPredict({ weights: modelDir, images: [imgs[0], path.join(dir, 'gone.png')], out, format: 'detailed', force: true, overlays: false, backend: 'wasm' }, log),
      ).rejects.toThrow('1 of 2 images failed');
      const records = JSON.parse(fs.readFileSync(out, 'utf8')) as { file: string; detections?: unknown[]; error?: string }[];
      expect(records.map((r) => [r.file, r.detections?.length, r.error])).toEqual([
        [imgs[0], 4, undefined],
        [path.join(dir, 'gone.png'), undefined, `readImage: image file not found: ${path.join(dir, 'gone.png')}`],
      ]);
    });
  });

  describe('4. a wrong path names the option, the path and what was expected', () => {
    it('predict, eval and demo --weights', async () => {
      const nope = path.join(dir, 'nope.pth');
      await expect(runPredict({ weights: nope, images: [imgs[0]] }, log)).rejects.toThrow(`Error in predict: --weights ${nope} does not exist; ${EXPECTED_WEIGHTS}`);
      await expect(runModelEval({ weights: nope, gt: gtFile, images: data.imagesDir }, log)).rejects.toThrow(`Error in eval: --weights ${nope} does not exist`);
      await expect(runDemo({ weights: nope, out: path.join(dir, 'demo') }, log)).rejects.toThrow(`Error in demo: --weights ${nope} does not exist`);
      expect(fs.existsSync(path.join(dir, 'demo'))).toBe(false); // nothing generated first
      expect(() => checkWeightsPath('predict', '--weights', data.imagesDir)).toThrow(`--weights ${data.imagesDir} is a folder without model.json; ${EXPECTED_WEIGHTS}`);
      expect(() => checkWeightsPath('predict', '--weights', imgs[0])).toThrow(`--weights ${imgs[0]} is neither a .pth / .pt checkpoint nor model.json`);
      const empty = path.join(dir, 'empty.pth');
      fs.writeFileSync(empty, '');
      expect(() => checkWeightsPath('predict', '--weights', empty)).toThrow(`--weights ${empty} is empty (0 bytes)`);
      // URLs and bare names are left to load().
      expect(() => checkWeightsPath('predict', '--weights', 'https://example.com/model.json')).not.toThrow();
      expect(() => checkWeightsPath('predict', '--weights', 'maskrcnn_resnet50_fpn_coco')).not.toThrow();
      // The reader itself no longer throws a bare ENOENT either.
      await expect(readTorchStateDict(nope)).rejects.toThrow(`Error in readTorchStateDict: cannot read ${nope}: no such file (expected a torchvision checkpoint written by torch.save)`);
    });

    it('eval --gt, --dt and --images', async () => {
      const nope = path.join(dir, 'nope.json');
      expect(() => runEval({ gt: nope, dt: nope }, log)).toThrow(`Error in eval: --gt ${nope} does not exist; expected a COCO instances JSON (images, annotations, categories)`);
      expect(() => runEval({ gt: gtFile, dt: nope }, log)).toThrow(`Error in eval: --dt ${nope} does not exist; expected a COCO results JSON`);
      expect(() => runEval({ gt: gtFile, dt: dir }, log)).toThrow(`Error in eval: --dt ${dir} is a folder`);
      await expect(runModelEval({ weights: modelDir, gt: gtFile, images: path.join(dir, 'no-images') }, log)).rejects.toThrow(
        `Error in eval: --images ${path.join(dir, 'no-images')} does not exist; expected the folder of the images named by the file_name of --gt`,
      );
    });

    it('train --config, and every path the config names, listed at once', async () => {
      const nope = path.join(dir, 'nope-train.json');
      await expect(runTrain({ config: nope })).rejects.toThrow(`Error in train: cannot read --config ${nope}: no such file; expected a training config JSON`);
      const config = path.join(dir, 'train.json');
      fs.writeFileSync(
        config,
        JSON.stringify({ train: { annotationFile: 'shapes/instances.json', imagesDir: 'shapes/imgs' }, val: { annotationFile: 'shapes', imagesDir: 'shapes/images' }, init: 'coco.pth', outputDir: 'run' }),
      );
      await expect(runTrain({ config })).rejects.toThrow(
        `Error in train: --config ${config} names paths that cannot be used (relative paths are taken from the config's folder):\n` +
          `  train.imagesDir: ${path.join(dir, 'shapes/imgs')} does not exist; expected the folder of the images named in train.annotationFile\n` +
          `  val.annotationFile: ${path.join(dir, 'shapes')} is a folder; expected a COCO instances JSON\n` +
          `  init: ${path.join(dir, 'coco.pth')} does not exist; expected a torchvision checkpoint (.pth), e.g. maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth`,
      );
    });
  });

  it('leaks no tensors across a predict with failures', async () => {
    await runPredict({ weights: modelDir, images: [imgs[0]], overlays: false, backend: 'wasm' }, log); // warm-up
    const before = tf.memory().numTensors;
    await expect(runPredict({ weights: modelDir, images: [imgs[0], path.join(dir, 'gone.png')], overlays: false, backend: 'wasm' }, log)).rejects.toThrow('1 of 2');
    expect(tf.memory().numTensors).toBe(before);
  });
});
