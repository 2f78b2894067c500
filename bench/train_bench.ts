/**
 * Training benchmark: generates a shapes dataset (train + held-out), trains a small-image Mask
 * R-CNN (ResNet-50-FPN, trainableBackboneLayers 3, from scratch) on wasm, prints every loss each
 * `--log-every` steps, the first-window and last-window means of each loss (every loss should
 * fall), step time and images/s, then box and mask AP on the held-out set.
 *
 * Run: `npx tsc -p tsconfig.json --outDir build && node build/bench/train_bench.js` (defaults: the run in docs/training.md)
 * Options: --steps N (default 500), --min-size S (default 96), --max-size S (default 144),
 * --batch N (default 2), --lr X (default 0.02), --train-images N (default 200),
 * --val-images N (default 20), --log-every K (default 10), --window W (default 25),
 * --shape-min F / --shape-max F (shape size as a fraction of the image side, default 0.25-0.5),
 * --roi-batch N (RoI heads' sampled RoIs per image, default 32), --trainable-layers N (default 3),
 * --dir PATH (default a temp folder), --backend NAME (default wasm).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
// Registered (not initialised) up front so our training kernels can be put in before it starts.
import '@tensorflow/tfjs-backend-wasm';
import { selectBackend, describeBackend } from '../src/backend';
import { generateShapesDataset } from '../src/data';
import { registerWasmTrainingKernels } from '../src/kernels/register';
import { LOSS_NAMES } from '../src/losses/names';
import { Trainer, type StepInfo } from '../src/train/trainer';

interface BenchArgs {
  steps: number;
  minSize: number;
  maxSize: number;
  batch: number;
  lr: number;
  trainImages: number;
  valImages: number;
  logEvery: number;
  window: number;
  shapeMin: number;
  shapeMax: number;
  roiBatch: number;
  trainableLayers: number;
  dir?: string;
  backend: string;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  // Defaults: the run reported in docs/training.md (run D).
  const a: BenchArgs = { steps: 500, minSize: 96, maxSize: 144, batch: 2, lr: 0.02, trainImages: 200, valImages: 20, logEvery: 10, window: 25,
    shapeMin: 0.25, shapeMax: 0.5, roiBatch: 32, trainableLayers: 3, backend: 'wasm' };
  const numeric: Record<string, keyof BenchArgs> = {
    '--steps': 'steps', '--min-size': 'minSize', '--max-size': 'maxSize', '--batch': 'batch', '--lr': 'lr',
    '--train-images': 'trainImages', '--val-images': 'valImages', '--log-every': 'logEvery', '--window': 'window',
    '--shape-min': 'shapeMin', '--shape-max': 'shapeMax', '--roi-batch': 'roiBatch', '--trainable-layers': 'trainableLayers',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`train_bench: ${flag} needs a value`);
    if (flag === '--dir') a.dir = value;
    else if (flag === '--backend') a.backend = value;
    else if (numeric[flag] !== undefined) {
      const v = Number(value);
      const zeroOk = flag === '--trainable-layers';
      if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) {
        throw new Error(`train_bench: ${flag} must be a ${zeroOk ? 'non-negative' : 'positive'} number, got '${value}'`);
      }
      (a as unknown as Record<string, number>)[numeric[flag]] = v;
    } else throw new Error(`train_bench: unknown option ${flag} (valid: ${[...Object.keys(numeric), '--dir', '--backend'].join(', ')})`);
  }
  return a;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(xs.length, 1);
}

/** Runs the benchmark and prints its figures. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  registerWasmTrainingKernels();
  console.log(describeBackend(await selectBackend({ backend: args.backend })));
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'train-bench-'));
  const size = { width: [args.minSize, Math.round(args.minSize * 1.4)] as [number, number], height: args.minSize };
  const shapes = { shapesPerImage: [1, 3] as [number, number], sizeRange: [args.shapeMin, args.shapeMax] as [number, number] };
  const train = await generateShapesDataset({ outDir: path.join(dir, 'train'), numImages: args.trainImages, seed: 1, overwrite: true, ...size, ...shapes });
  const val = await generateShapesDataset({ outDir: path.join(dir, 'val'), numImages: args.valImages, seed: 2, overwrite: true, ...size, ...shapes });
  console.log(`shapes: ${train.numImages} train images (${train.numAnnotations} objects), ${val.numImages} held-out, in ${dir}`);

  const steps: StepInfo[] = [];
  let t = Date.now();
  const trainer = await Trainer.create(
    {
      train: { annotationFile: train.annotationFile, imagesDir: train.imagesDir },
      val: { annotationFile: val.annotationFile, imagesDir: val.imagesDir },
      outputDir: path.join(dir, 'run'),
      minSizes: [args.minSize],
      maxSize: args.maxSize,
      batchSize: args.batch,
      trainableBackboneLayers: args.trainableLayers,
      rpnPreNmsTopN: 600,
      rpnPostNmsTopN: 300,
      rpnBatchSizePerImage: 256,
      roiBatchSizePerImage: args.roiBatch,
      lr: args.lr,
      warmupIters: Math.min(50, Math.max(1, Math.floor(args.steps / 4))),
      milestones: [Math.max(1, Math.floor(args.steps * 0.8))],
      clipGradNorm: 10,
      maxSteps: args.steps,
      checkpointEvery: args.steps,
      keep: 1,
      seed: 0,
    },
    {
      onStep: (s) => {
        steps.push(s);
        if (s.step % args.logEvery === 0 || s.step === 1) {
          const l = LOSS_NAMES.map((k) => `${k} ${s.losses[k].toFixed(4)}`).join('  ');
          console.log(`step ${s.step}/${s.totalSteps}  loss ${s.totalLoss.toFixed(4)}  ${l}  lr ${s.lr.toExponential(2)}${s.gradNorm === undefined ? '' : `  |g| ${s.gradNorm.toFixed(1)}`}  ${s.stepSeconds.toFixed(2)} s/step  ${s.imagesPerSecond.toFixed(2)} img/s`);
        }
      },
      log: (line) => console.log(line),
    },
  );
  console.log(`model built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  try {
    const result = await trainer.run();
    const trainSeconds = (Date.now() - t) / 1000;
    const w = Math.min(args.window, Math.floor(steps.length / 2) || 1);
    console.log(`\n${steps.length} steps in ${trainSeconds.toFixed(1)} s (incl. checkpoint and evaluation); ${result.imagesPerSecond.toFixed(2)} img/s`);
    const stepTimes = steps.slice(1).map((s) => s.stepSeconds);
    console.log(`median step ${[...stepTimes].sort((a, b) => a - b)[Math.floor(stepTimes.length / 2)]?.toFixed(2) ?? '-'} s at batch ${args.batch}`);
    const columns = [...LOSS_NAMES, 'total'] as const;
    // Mean of each loss (and the total) over a block of steps, in `columns` order.
    const blockMeans = (block: readonly StepInfo[]): number[] =>
      columns.map((k) => mean(block.map((s) => (k === 'total' ? s.totalLoss : s.losses[k]))));
    const first = blockMeans(steps.slice(0, w));
    const last = blockMeans(steps.slice(-w));
    console.log(`loss means, first ${w} steps -> last ${w} steps:`);
    columns.forEach((k, i) => {
      console.log(`  ${k.padEnd(17)} ${first[i].toFixed(4)} -> ${last[i].toFixed(4)} ${last[i] < first[i] ? '(falls)' : '(does not fall)'}`);
    });
    console.log(`loss means per ${w}-step block:`);
    console.log(`  steps      ${columns.map((k) => k.replace('loss_', '').padStart(14)).join('')}`);
    for (let b = 0; b < steps.length; b += w) {
      const block = steps.slice(b, b + w);
      console.log(`  ${`${b + 1}-${b + block.length}`.padEnd(10)} ${blockMeans(block).map((c) => c.toFixed(4).padStart(14)).join('')}`);
    }
    const e = result.lastEval ?? (await trainer.evaluate());
    console.log(`held-out (${val.numImages} images): box AP ${e.boxAp.toFixed(4)}  mask AP ${e.maskAp.toFixed(4)}`);
    for (const line of e.lines) console.log(line);
  } finally {
    trainer.dispose();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    process.exit(1);
  });
}
