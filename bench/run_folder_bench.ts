/**
 * What a training run leaves on disk: trains a few steps on a tiny shapes dataset with the
 * trainer's defaults for checkpoints (keep 3), saves the final model as `maskrcnn train` does,
 * and prints the run folder's size two ways: on disk (each file counted once however many names
 * it has, as `du` counts) and as the sum over every path (what the same files took before the
 * final model hard-linked its shards to the last checkpoint's). Then the same with --quantize.
 *
 * Run: `npx tsc -p tsconfig.json --outDir build && node build/bench/run_folder_bench.js`
 * Options: --depth 50|18 (default 50: ResNet-50-FPN, 91-class-sized heads are not used: the
 * dataset's 6 classes), --steps N (default 5), --checkpoint-every N (default 500, the default),
 * --keep N (default 3, the default), --optimizer sgd|adam|adamw (default sgd), --dir PATH (default
 * a temp folder, removed after).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/backend';
import { generateShapesDataset } from '../src/data';
import { registerWasmTrainingKernels } from '../src/kernels/register';
import type { ResNetDepth } from '../src/backbone/resnet';
import { Trainer } from '../src/train/trainer';
import { seededMaskRCNN, folderSizes } from '../test/support/seeded_model';

interface Args {
  depth: ResNetDepth;
  steps: number;
  checkpointEvery: number;
  keep: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  dir?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { depth: 50, steps: 5, checkpointEvery: 500, keep: 3, optimizer: 'sgd' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`run_folder_bench: ${flag} needs a value`);
    if (flag === '--dir') a.dir = value;
    else if (flag === '--depth') a.depth = Number(value) as ResNetDepth;
    else if (flag === '--steps') a.steps = Number(value);
    else if (flag === '--checkpoint-every') a.checkpointEvery = Number(value);
    else if (flag === '--keep') a.keep = Number(value);
    else if (flag === '--optimizer') a.optimizer = value as Args['optimizer'];
    else throw new Error(`run_folder_bench: unknown option ${flag}; valid: --depth, --steps, --checkpoint-every, --keep, --optimizer, --dir`);
  }
  return a;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

function report(label: string, run: string): void {
  const parts = fs.readdirSync(run).filter((n) => fs.statSync(path.join(run, n)).isDirectory()).sort();
  const total = folderSizes(run);
  console.log(`${label}: run folder ${mb(total.disk)} on disk; ${mb(total.paths)} summed over paths (each copy counted)`);
  for (const p of parts) {
    const s = folderSizes(path.join(run, p));
    const inside = p.startsWith('step-')
      ? ` (weights/ ${mb(folderSizes(path.join(run, p, 'weights')).paths)}, optimizer.bin ${mb(fs.statSync(path.join(run, p, 'optimizer.bin')).size)})`
      : '';
    console.log(`  ${p}/: ${mb(s.paths)}${inside}`);
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  registerWasmTrainingKernels();
  await selectBackend({ backend: 'wasm' });
  const root = a.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'run-folder-bench-'));
  const data = await generateShapesDataset({ outDir: path.join(root, 'data'), numImages: 4, width: 80, height: 64, seed: 1, overwrite: true });
  for (const quantization of [undefined, 'float16'] as const) {
    const outputDir = path.join(root, quantization ? 'run-float16' : 'run');
    fs.rmSync(outputDir, { recursive: true, force: true });
    const config = {
      train: { annotationFile: data.annotationFile, imagesDir: data.imagesDir },
      outputDir, depth: a.depth, minSizes: [64], maxSize: 96, batchSize: 1, lr: 0.001, warmupIters: 1,
      maxSteps: a.steps, checkpointEvery: a.checkpointEvery, keep: a.keep, optimizer: a.optimizer,
      rpnPreNmsTopN: 100, rpnPostNmsTopN: 50, rpnBatchSizePerImage: 64, roiBatchSizePerImage: 32,
    };
    const trainer = await Trainer.create(config, { buildModel: (c) => seededMaskRCNN(c, 2), log: (l) => console.log(`  ${l}`) });
    try {
      await trainer.run();
      await trainer.saveModel(undefined, { quantization });
    } finally {
      trainer.dispose();
    }
    report(`ResNet-${a.depth}, ${a.optimizer}, ${a.steps} steps, checkpointEvery ${a.checkpointEvery}, keep ${a.keep}${quantization ? `, --quantize ${quantization}` : ''}`, outputDir);
  }
  if (a.dir === undefined) fs.rmSync(root, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
