/**
 * `maskrcnn predict`: detections and masks for image files, printed and written as JSON.
 */
import * as fs from 'fs';
import { Command } from 'commander';
import { CroppedMask, load, maskToCocoRle, Prediction } from '../api/model';
import { describeBackend } from '../backend';
import { numberIn } from './model_options';

/** Options of {@link runPredict}. */
export interface PredictCommandOptions {
  /** torchvision checkpoint (.pth) or a folder saved by maskrcnn-tfjs. */
  weights: string;
  images: string[];
  /** JSON output file; never overwritten unless `force`. */
  out?: string;
  force?: boolean;
  scoreThreshold?: number;
  maskThreshold?: number;
  maxDetections?: number;
  /** Largest image accepted, in pixels; default 50 megapixels (see `DEFAULT_MAX_PIXELS`). */
  maxPixels?: number;
  backend?: string;
}

/**
 * Runs the model on the images and returns the predictions; prints one line per detection.
 *
 * @example
 * ```ts
 * await runPredict({ weights: 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth', images: ['a.jpg'], out: 'a.json' });
 * ```
 */
export async function runPredict(o: PredictCommandOptions, log: (line: string) => void = console.log): Promise<Prediction<CroppedMask>[]> {
  if (o.images.length === 0) throw new Error('Error in predict: no image files given');
  if (o.out !== undefined && fs.existsSync(o.out) && !o.force) {
    throw new Error(`Error in predict: ${o.out} exists; pass --force to replace it`);
  }
  const model = await load(o.weights, { backend: o.backend });
  try {
    if (model.backend) log(describeBackend(model.backend));
    const predictions: Prediction<CroppedMask>[] = [];
    for (const file of o.images) {
      const start = Date.now();
      const [p] = await model.predict(file, {
        scoreThreshold: o.scoreThreshold,
        maskThreshold: o.maskThreshold,
        maxDetections: o.maxDetections,
        maxPixels: o.maxPixels,
      });
      predictions.push(p);
      log(`${file}: ${p.width}x${p.height}, ${p.detections.length} detections in ${((Date.now() - start) / 1000).toFixed(2)} s`);
      for (const d of p.detections) {
        log(`  ${d.labelName.padEnd(16)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]`);
      }
    }
    if (o.out !== undefined) {
      const json = predictions.map((p, i) => ({
        file: o.images[i],
        height: p.height,
        width: p.width,
        detections: p.detections.map((d) => ({
          box: d.box,
          score: d.score,
          label: d.label,
          labelName: d.labelName,
          segmentation: maskToCocoRle(d.mask),
        })),
      }));
      fs.writeFileSync(`${o.out}.tmp`, JSON.stringify(json));
      fs.renameSync(`${o.out}.tmp`, o.out);
      log(`wrote ${o.out}`);
    }
    return predictions;
  } finally {
    model.dispose();
  }
}

/** Adds `predict` to the `maskrcnn` program. */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('detect and segment objects in image files')
    .requiredOption('--weights <path>', 'torchvision checkpoint (.pth) or a folder saved by maskrcnn-tfjs')
    .argument('<images...>', 'image files (PNG, JPEG, WebP, ...)')
    .option('--out <file>', 'write the predictions (boxes, scores, labels, RLE masks) as JSON')
    .option('--force', 'replace --out if it exists')
    .option('--score-threshold <p>', 'minimum score (default 0.05)', numberIn(0, 1))
    .option('--mask-threshold <p>', 'mask probability threshold (default 0.5)', numberIn(0, 1))
    .option('--max-detections <n>', 'detections per image (default 100)', numberIn(0, 10000, true))
    .option('--max-pixels <n>', 'largest image accepted, width x height (default 50000000; raise only for trusted images)', numberIn(1, Number.MAX_SAFE_INTEGER, true))
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu (default: MASKRCNN_BACKEND or auto)')
    .action(async (images: string[], opts: Omit<PredictCommandOptions, 'images'>) => {
      await runPredict({ ...opts, images });
    });
}
