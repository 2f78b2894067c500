/**
 * Training reliability probe (issue 10): many short from-scratch runs on the synthetic shapes,
 * each in its own process, reporting how many finished without a non-finite gradient, and
 * whether two runs with the same seed gave bit-identical losses.
 *
 * The configuration is the one that used to stop on a NaN gradient of rpn.head.bbox_pred at
 * random: 64 px images, batch 1, trainable backbone layers 0, RPN top-n 100, RoI batch 32,
 * RPN batch 64, lr 1e-3 with the default warmup.
 *
 * Run: `npm run build:all && node build/bench/train_probe.js --runs 20 --steps 50 --parallel 2`
 * Options: --runs N (default 20; seeds 1..N), --steps S (default 50), --parallel P (default 2),
 * --repeat-seed K (default 1: seed K is run a second time and compared step by step; 0 skips it).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface RunResult {
  seed: number;
  ok: boolean;
  steps: number;
  /** Total loss of every step, as printed with full precision. */
  losses: number[];
  error?: string;
}

const MARK = 'PROBE_RESULT ';

/** One run, in this process (the child side). */
async function runOne(seed: number, steps: number, dataDir: string): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  const { selectBackend } = await import('../src/backend');
  const { registerWasmTrainingKernels } = await import('../src/kernels/register');
  const { Trainer } = await import('../src/train/trainer');
  registerWasmTrainingKernels();
  await selectBackend({ backend: 'wasm' });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `train-probe-${seed}-`));
  const losses: number[] = [];
  let result: RunResult;
  const trainer = await Trainer.create(
    {
      train: { annotationFile: path.join(dataDir, 'instances.json'), imagesDir: path.join(dataDir, 'images') },
      outputDir: out,
      minSizes: [64],
      maxSize: 96,
      batchSize: 1,
      trainableBackboneLayers: 0,
      rpnPreNmsTopN: 100,
      rpnPostNmsTopN: 100,
      roiBatchSizePerImage: 32,
      rpnBatchSizePerImage: 64,
      lr: 1e-3,
      maxSteps: steps,
      checkpointEvery: steps + 1,
      keep: 1,
      seed,
    },
    { onStep: (s) => losses.push(s.totalLoss) },
  );
  try {
    await trainer.run();
    result = { seed, ok: true, steps: losses.length, losses };
  } catch (e) {
    result = { seed, ok: false, steps: losses.length, losses, error: e instanceof Error ? e.message : String(e) };
  } finally {
    trainer.dispose();
    fs.rmSync(out, { recursive: true, force: true });
  }
  process.stdout.write(`${MARK}${JSON.stringify(result)}\n`);
}

function spawnRun(seed: number, steps: number, dataDir: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, '--one', String(seed), '--steps', String(steps), '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (line !== undefined) resolve(JSON.parse(line.slice(MARK.length)) as RunResult);
      else resolve({ seed, ok: false, steps: 0, losses: [], error: `process exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const opt = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const steps = opt('--steps', 50);
  if (argv.includes('--one')) {
    const i = argv.indexOf('--data');
    return runOne(opt('--one', 1), steps, argv[i + 1]);
  }
  const runs = opt('--runs', 20);
  const parallel = opt('--parallel', 2);
  const repeatSeed = opt('--repeat-seed', 1);
  const { generateShapesDataset } = await import('../src/data');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-probe-data-'));
  await generateShapesDataset({ outDir: dataDir, numImages: 50, seed: 1, overwrite: true, width: [64, 90], height: 64, shapesPerImage: [1, 3], sizeRange: [0.25, 0.5] });
  const seeds = Array.from({ length: runs }, (_, i) => i + 1);
  if (repeatSeed > 0) seeds.push(repeatSeed);
  const results: RunResult[] = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < seeds.length) {
        const seed = seeds[next++];
        const r = await spawnRun(seed, steps, dataDir);
        results.push(r);
        console.log(`seed ${seed}: ${r.ok ? 'finished' : 'FAILED'} after ${r.steps} steps${r.error ? ` (${r.error.slice(0, 200)})` : ''}, last loss ${r.losses.at(-1)?.toFixed(4) ?? '-'}`);
      }
    }),
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
  const main = results.slice(0, runs);
  const finished = results.filter((r) => r.ok).length;
  console.log(`\n${finished} of ${results.length} runs of ${steps} steps finished without a non-finite gradient (${((Date.now() - t0) / 60000).toFixed(1)} min)`);
  if (repeatSeed > 0) {
    const twice = results.filter((r) => r.seed === repeatSeed);
    const [a, b] = twice;
    const same = a !== undefined && b !== undefined && a.losses.length === b.losses.length && a.losses.every((v, i) => Object.is(v, b.losses[i]));
    console.log(`seed ${repeatSeed} twice: ${same ? 'bit-identical' : 'DIFFERENT'} total losses over ${a?.losses.length ?? 0} steps`);
  }
  const firstLosses = main.map((r) => r.losses[0]).filter((v) => v !== undefined);
  console.log(`step-1 total loss over seeds: min ${Math.min(...firstLosses).toFixed(4)}, max ${Math.max(...firstLosses).toFixed(4)}`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
