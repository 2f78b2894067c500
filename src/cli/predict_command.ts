/**
 * `maskrcnn predict`: detections and masks for image files, printed as a table, written as JSON
 * and drawn into one picture per image.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { CroppedMask, load, maskToCocoRle, Prediction } from '../api/model';
import { loadShippedModel, shippedModelPath } from '../api/shipped_model';
import { describeBackend } from '../backend';
import { writeOverlayPng } from '../viz/png';
import { numberIn } from './model_options';
import { withDownloadProgress } from './download_progress';

/** Options of {@link runPredict}. */
export interface PredictCommandOptions {
  /**
   * A published checkpoint's name (e.g. `maskrcnn_resnet50_fpn_coco`, downloaded once), a torchvision
   * checkpoint (.pth) or a folder saved by maskrcnn-tfjs; default the shipped shapes model.
   */
  weights?: string;
  images: string[];
  /** JSON output file; never overwritten unless `force`. */
  out?: string;
  /**
   * Folder of the pictures (`<image name>.overlay.png`, one per image); default the folder of
   * `out`, none without `out`; false: no pictures. Never overwritten unless `force`.
   */
  overlays?: string | false;
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
  // Every picture's name is settled before any work, so a clash fails fast and nothing is replaced.
  const overlayDir = o.overlays === false ? undefined : (o.overlays ?? (o.out !== undefined ? path.dirname(path.resolve(o.out)) : undefined));
  const pictures = overlayDir === undefined ? [] : overlayNames(o.images, overlayDir);
  const existing = pictures.filter((p) => fs.existsSync(p));
  if (existing.length > 0 && !o.force) {
    throw new Error(`Error in predict: ${existing.join(', ')} exist${existing.length === 1 ? 's' : ''}; pass --force to replace, or --no-overlays`);
  }
  if (overlayDir !== undefined) fs.mkdirSync(overlayDir, { recursive: true });
  const weights = o.weights;
  const model =
    weights !== undefined
      ? await withDownloadProgress((download) => load(weights, { backend: o.backend, download }))
      : await loadShippedModel({ backend: o.backend });
  try {
    if (o.weights === undefined) log(`no --weights: using the shipped shapes model (ResNet-18-FPN, 6 shape classes), ${shippedModelPath()}`);
    if (model.backend) log(describeBackend(model.backend));
    const predictions: Prediction<CroppedMask>[] = [];
    const rows: string[][] = [];
    for (let i = 0; i < o.images.length; i++) {
      const file = o.images[i];
      const start = Date.now();
      const [p] = await model.predict(file, {
        scoreThreshold: o.scoreThreshold,
        maskThreshold: o.maskThreshold,
        maxDetections: o.maxDetections,
        maxPixels: o.maxPixels,
      });
      predictions.push(p);
      log(`${file}: ${p.width}x${p.height}, ${p.detections.length} detections in ${((Date.now() - start) / 1000).toFixed(2)} s`);
      if (pictures[i] !== undefined) {
        await writeOverlayPng(file, p, pictures[i], { maxPixels: o.maxPixels });
        log(`  picture: ${pictures[i]}`);
      }
      for (const d of p.detections) {
        const pixels = d.mask.data.reduce((a, v) => a + v, 0);
        rows.push([path.basename(file), d.labelName, d.score.toFixed(3), d.box.map((v) => v.toFixed(1)).join(', '), String(pixels)]);
      }
    }
    for (const line of formatTable(['image', 'label', 'score', 'box (x1, y1, x2, y2)', 'mask px'], rows)) log(line);
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

/** `<dir>/<image name>.overlay.png` per image; images of the same name get `-2`, `-3`, ... */
function overlayNames(images: readonly string[], dir: string): string[] {
  const seen = new Map<string, number>();
  return images.map((file) => {
    const stem = path.parse(file).name;
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return path.join(dir, `${stem}${n === 1 ? '' : `-${n}`}.overlay.png`);
  });
}

/** Columns padded to their widest cell, a rule under the header. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Adds `predict` to the `maskrcnn` program. */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('detect and segment objects in image files')
    .option('--weights <name|path>', 'checkpoint name (maskrcnn_resnet50_fpn_coco: downloaded once), torchvision .pth, or a folder saved by maskrcnn-tfjs (default: the shipped shapes model)')
    .argument('<images...>', 'image files (PNG, JPEG, WebP, ...)')
    .option('--out <file>', 'write the predictions (boxes, scores, labels, RLE masks) as JSON')
    .option('--overlays <dir>', 'folder of the pictures, <image>.overlay.png (default: the folder of --out)')
    .option('--no-overlays', 'write no pictures')
    .option('--force', 'replace --out and pictures that exist')
    .option('--score-threshold <p>', 'minimum score (default 0.05)', numberIn(0, 1))
    .option('--mask-threshold <p>', 'mask probability threshold (default 0.5)', numberIn(0, 1))
    .option('--max-detections <n>', 'detections per image (default 100)', numberIn(0, 10000, true))
    .option('--max-pixels <n>', 'largest image accepted, width x height (default 50000000; raise only for trusted images)', numberIn(1, Number.MAX_SAFE_INTEGER, true))
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu (default: MASKRCNN_BACKEND or auto)')
    .action(async (images: string[], opts: Omit<PredictCommandOptions, 'images'>) => {
      await runPredict({ ...opts, images });
    });
}
