/**
 * `maskrcnn demo`: the library at work on what ships with it. It generates synthetic shapes
 * images, segments them with the model trained by this project (weights/shapes-r18, see
 * weights/README.md), writes a picture of every result, and prints COCO AP and the time of each
 * stage.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { evaluateModel } from '../api/evaluate_model';
import { load, MaskRCNNModel } from '../api/model';
import { loadShippedModel, shippedModelPath, SHIPPED_MODEL_IMAGES } from '../api/shipped_model';
import { describeBackend } from '../backend';
import { generateShapesDataset } from '../data/shapes';
import { STAGE_NAMES, StageTimes } from '../model/stage_clock';
import { writeOverlayPng } from '../viz/png';
import { checkWeightsPath, numberIn } from './model_options';
import { withDownloadProgress } from './download_progress';
import { writeFileAtomic } from '../io/atomic_file';

/**
 * Options of {@link runDemo}.
 *
 * @example
 * ```ts
 * const options: DemoOptions = { out: '/tmp/demo', numImages: 4 };
 * ```
 */
export interface DemoOptions {
  /** Output folder; default `maskrcnn-demo`. */
  out?: string;
  /** Images to generate; default 8. */
  numImages?: number;
  /** A model to use instead of the shipped one (.pth or a saved folder). */
  weights?: string;
  backend?: string;
  /** Seed of the generated images; default 0 (none of the shipped model's training images). */
  seed?: number;
  /** Minimum score of a drawn detection; default 0.5. */
  drawThreshold?: number;
}

/**
 * What {@link runDemo} measured and wrote.
 *
 * @example
 * ```ts
 * const { segm, pictures } = await runDemo({ out: '/tmp/demo' });
 * console.log(segm[0], pictures[0]); // mask AP, path of the first picture
 * ```
 */
export interface DemoResult {
  /** pycocotools' 12 box stats. */
  readonly bbox: number[];
  /** pycocotools' 12 mask stats. */
  readonly segm: number[];
  /** The overlay PNGs, one per image. */
  readonly pictures: string[];
  /** Milliseconds per image in each stage, averaged over the images. */
  readonly stageMs: StageTimes;
}

/**
 * Generates shapes images, segments them, draws the results, evaluates.
 *
 * @example
 * ```ts
 * const { bbox, segm } = await runDemo({ out: '/tmp/demo', numImages: 2 });
 * ```
 */
export async function runDemo(o: DemoOptions = {}, log: (line: string) => void = console.log): Promise<DemoResult> {
  const out = path.resolve(o.out ?? 'maskrcnn-demo');
  const numImages = o.numImages ?? 8;
  if (o.weights !== undefined) checkWeightsPath('demo', '--weights', o.weights);
  const t0 = Date.now();
  const data = await generateShapesDataset({ outDir: path.join(out, 'shapes'), numImages, seed: o.seed ?? 0, overwrite: true, ...SHIPPED_MODEL_IMAGES });
  log(`dataset: ${data.numImages} images, ${data.numAnnotations} shapes of ${data.categories.length} kinds -> ${data.annotationFile}`);

  let model: MaskRCNNModel;
  if (o.weights !== undefined) {
    const weights = o.weights;
    model = await withDownloadProgress((download) => load(weights, { backend: o.backend, download }));
    log(`model: ${o.weights}`);
  } else {
    model = await loadShippedModel({ backend: o.backend });
    log(`model: the shipped shapes model (ResNet-18-FPN trained by this project), ${shippedModelPath()}`);
  }
  try {
    if (model.backend) log(describeBackend(model.backend));
    const picturesDir = path.join(out, 'pictures');
    fs.mkdirSync(picturesDir, { recursive: true });
    const pictures: string[] = [];
    const stageMs = Object.fromEntries(STAGE_NAMES.map((s) => [s, 0])) as StageTimes;
    const drawThreshold = o.drawThreshold ?? 0.5;
    const result = await evaluateModel(model, data.annotationFile, data.imagesDir, {
      onPrediction: async (prediction, file) => {
        for (const s of STAGE_NAMES) stageMs[s] += (model.lastStageTimes?.[s] ?? 0) / numImages;
        const picture = path.join(picturesDir, `${path.parse(file).name}.png`);
        await writeOverlayPng(file, prediction, picture, { scoreThreshold: drawThreshold });
        pictures.push(picture);
        const found = prediction.detections.filter((d) => d.score >= drawThreshold);
        log(`${path.basename(file)}: ${found.map((d) => `${d.labelName} ${d.score.toFixed(2)}`).join(', ') || 'nothing'} -> ${picture}`);
      },
    });
    for (const s of result.summaries) {
      log(`IoU metric: ${s.iouType}`);
      for (const line of s.lines) log(line);
    }
    const total = STAGE_NAMES.reduce((a, s) => a + stageMs[s], 0);
    log(`time per image (ms): ${STAGE_NAMES.map((s) => `${s} ${stageMs[s].toFixed(0)}`).join(', ')}; total ${total.toFixed(0)}`);
    const resultsFile = path.join(out, 'results.json');
    await writeFileAtomic(resultsFile, JSON.stringify(result.results));
    log(`pictures: ${picturesDir} (${pictures.length} PNG, detections with score >= ${drawThreshold} drawn)`);
    log(`COCO results: ${resultsFile}; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const stats = (type: string) => result.summaries.find((s) => s.iouType === type)?.stats ?? [];
    return { bbox: [...stats('bbox')], segm: [...stats('segm')], pictures, stageMs };
  } finally {
    model.dispose();
  }
}

/**
 * Adds `demo` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerDemoCommand(program);
 * await program.parseAsync(['node', 'maskrcnn', 'demo', '--num-images', '4']);
 * ```
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('segment generated shapes images with the shipped model, write pictures, print AP and stage times')
    .option('--out <dir>', 'output folder (default maskrcnn-demo)')
    .option('--num-images <n>', 'images to generate (default 8)', numberIn(1, 10000, true))
    .option('--weights <name|path>', 'another model (a checkpoint name, .pth or a saved folder) instead of the shipped one')
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu')
    .option('--seed <n>', 'seed of the generated images (default 0)', numberIn(0, 2 ** 31, true))
    .option('--draw-threshold <p>', 'minimum score of a drawn detection (default 0.5)', numberIn(0, 1))
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}
