/**
 * `maskrcnn demo`: the whole pipeline on what ships with the project. It writes the seeded
 * synthetic shapes dataset, runs Mask R-CNN on it, and scores the results with COCOeval.
 *
 * Without `--weights` the model is randomly initialised (no trained weights can ship in the
 * package, and training is not part of this release), so the AP it prints is near zero: the demo
 * shows that every stage runs on this machine's backend and how long it takes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { evaluateModel } from '../api/evaluate_model';
import { load, MaskRCNNModel } from '../api/model';
import { BackendChoice, describeBackend, selectBackend } from '../backend';
import { generateShapesDataset } from '../data/shapes';
import { MaskRCNN } from '../model/mask_rcnn';
import { numberIn } from './model_options';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Output folder; default `maskrcnn-demo`. */
  out?: string;
  /** Images in the synthetic dataset; default 4. */
  numImages?: number;
  /** A model to use instead of random weights. */
  weights?: string;
  backend?: string;
  seed?: number;
}

/**
 * Generates the shapes dataset, predicts, evaluates; returns the COCO stats.
 *
 * @example
 * ```ts
 * const { bbox, segm } = await runDemo({ out: '/tmp/demo', numImages: 2 });
 * ```
 */
export async function runDemo(o: DemoOptions = {}, log: (line: string) => void = console.log): Promise<{ bbox: number[]; segm: number[] }> {
  const out = path.resolve(o.out ?? 'maskrcnn-demo');
  const numImages = o.numImages ?? 4;
  const seed = o.seed ?? 0;
  const t0 = Date.now();
  const data = await generateShapesDataset({ outDir: path.join(out, 'shapes'), numImages, width: 320, height: 240, seed, overwrite: true });
  log(`dataset: ${data.numImages} images, ${data.numAnnotations} objects of ${data.categories.length} kinds -> ${data.annotationFile}`);

  let model: MaskRCNNModel;
  if (o.weights !== undefined) {
    model = await load(o.weights, { backend: o.backend });
  } else {
    const backend: BackendChoice = await selectBackend({ backend: o.backend });
    const names = ['__background__', ...data.categories.map((c) => c.name)];
    const network = new MaskRCNN({ numClasses: names.length, transform: { minSize: 240, maxSize: 320 } });
    model = new MaskRCNNModel(network, names, backend);
    log('model: Mask R-CNN ResNet-50-FPN with random weights (pass --weights for a trained one)');
  }
  try {
    if (model.backend) log(describeBackend(model.backend));
    // Shapes' category ids are 1..K in the order of the model's labels.
    const labelToCategoryId = [0, ...data.categories.map((c) => c.id)];
    const result = await evaluateModel(model, data.annotationFile, data.imagesDir, {
      labelToCategoryId: o.weights === undefined ? labelToCategoryId : undefined,
      onProgress: (done, total) => log(`predicted ${done}/${total}`),
    });
    const perImage = result.seconds / Math.max(1, result.imagesEvaluated);
    log(`${result.results.length} detections on ${result.imagesEvaluated} images, ${perImage.toFixed(2)} s per image (prediction + evaluation)`);
    for (const s of result.summaries) {
      log(`IoU metric: ${s.iouType}`);
      for (const line of s.lines) log(line);
    }
    const resultsFile = path.join(out, 'results.json');
    fs.writeFileSync(resultsFile, JSON.stringify(result.results));
    log(`wrote ${resultsFile}; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const stats = (type: string) => result.summaries.find((s) => s.iouType === type)?.stats ?? [];
    return { bbox: [...stats('bbox')], segm: [...stats('segm')] };
  } finally {
    model.dispose();
  }
}

/** Adds `demo` to the `maskrcnn` program. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('generate the synthetic shapes dataset, run Mask R-CNN on it and evaluate (random weights unless --weights)')
    .option('--out <dir>', 'output folder (default maskrcnn-demo)')
    .option('--num-images <n>', 'images to generate (default 4)', numberIn(1, 10000, true))
    .option('--weights <path>', 'a trained model (.pth or a saved folder) instead of random weights')
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu')
    .option('--seed <n>', 'dataset seed (default 0)', numberIn(0, 2 ** 31, true))
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}
