/**
 * `npm run export:demo`: writes the model trained by `npm run train:demo` into weights/ as the
 * shipped model, uint8-quantized, and records what the float32 model predicts on a few fixed
 * images (test/fixtures/shipped_model/float32_outputs.json), so that a test can hold the
 * quantized model to the float32 one. Prints the figures of both on the two test sets
 * (tools/demo_model/measure.ts) for weights/README.md.
 *
 * Options: --from DIR (default runs/demo-model/run/model), --to DIR (default weights/shapes-r18),
 * --quantization uint8|float16 (default uint8).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import '@tensorflow/tfjs-backend-wasm';
import { load, maskToCocoRle, type MaskRCNNModel } from '../../src/api/model';
import { SHIPPED_MODEL_IMAGES } from '../../src/api/shipped_model';
import { generateShapesDataset } from '../../src/data/shapes';
import { measureShippedModel, type ShippedModelFigures } from './measure';

/** The images the float32 outputs are recorded on, and the lowest score recorded. */
export const REFERENCE_SET = { seed: 5500, numImages: 8, minScore: 0.3 } as const;

/** One recorded detection: box, score, label, COCO RLE mask. */
export interface ReferenceDetection {
  box: [number, number, number, number];
  score: number;
  label: number;
  rle: { size: [number, number]; counts: string };
}

/** Predictions of `model` on the reference images (generated into `dir`). */
export async function referenceOutputs(model: MaskRCNNModel, dir: string): Promise<ReferenceDetection[][]> {
  const set = await generateShapesDataset({ outDir: dir, numImages: REFERENCE_SET.numImages, seed: REFERENCE_SET.seed, overwrite: true, ...SHIPPED_MODEL_IMAGES });
  const files = fs.readdirSync(set.imagesDir).sort().map((f) => path.join(set.imagesDir, f));
  const out: ReferenceDetection[][] = [];
  for (const f of files) {
    const [p] = await model.predict(f, { scoreThreshold: REFERENCE_SET.minScore });
    out.push(p.detections.map((d) => ({ box: d.box, score: d.score, label: d.label, rle: maskToCocoRle(d.mask) as ReferenceDetection['rle'] })));
  }
  return out;
}

function show(name: string, f: ShippedModelFigures): string {
  return `${name}: recall ${(100 * f.recall).toFixed(1)}% (${f.found}/${f.shapes}; any class ${(100 * f.recallAnyClass).toFixed(1)}%, own class at score >= 0.05 ${(100 * f.recallAtDefaultScore).toFixed(1)}%), box AP ${f.boxAp.toFixed(3)} (AP50 ${f.boxAp50.toFixed(3)}), mask AP ${f.maskAp.toFixed(3)} (AP50 ${f.maskAp50.toFixed(3)})`;
}

function folderBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
  const from = path.resolve(opt('--from', 'runs/demo-model/run/model'));
  const to = path.resolve(opt('--to', 'weights/shapes-r18'));
  const quantization = opt('--quantization', 'uint8');
  if (quantization !== 'uint8' && quantization !== 'float16') throw new Error(`export_demo: --quantization must be uint8 or float16, got ${quantization}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'export-demo-'));

  const float32 = await load(from, { backend: 'wasm' });
  const refs = await referenceOutputs(float32, path.join(work, 'reference'));
  const f32 = await measureShippedModel(float32, path.join(work, 'sets'));
  console.log(show('float32', f32));
  fs.rmSync(to, { recursive: true, force: true });
  await float32.save(`file://${to}`, { quantization });
  float32.dispose();

  const shipped = await load(to, { backend: 'wasm' });
  const q = await measureShippedModel(shipped, path.join(work, 'sets'));
  console.log(show(quantization, q));
  shipped.dispose();
  console.log(`${to}: ${(folderBytes(to) / 1e6).toFixed(2)} MB (${quantization}); float32 ${(folderBytes(from) / 1e6).toFixed(2)} MB`);

  const refFile = path.resolve('test/fixtures/shipped_model/float32_outputs.json');
  fs.mkdirSync(path.dirname(refFile), { recursive: true });
  fs.writeFileSync(refFile, JSON.stringify({ ...REFERENCE_SET, images: refs, figures: f32 }, null, 1));
  console.log(`float32 outputs on ${refs.length} images (${refs.flat().length} detections) -> ${refFile}`);
  fs.rmSync(work, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
