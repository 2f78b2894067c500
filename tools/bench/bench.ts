/**
 * `npm run bench`: this library on the wasm backend and torchvision 0.14 (Debian's
 * python3-torchvision, run by /usr/bin/python3) on the same inputs and the same seeded weights,
 * in the same run, interleaved (ours, theirs, ours, theirs, ...) after warm-up. Prints medians
 * and the ratio ours / torchvision, and writes bench/results/latest.json and latest.md.
 *
 * Measured, each part in fresh worker processes so that each peak memory is that part's:
 * - inference latency at one thread, with the time of each stage (preprocess, backbone + FPN,
 *   RPN, RoI box head, mask head + paste): one our worker, one torch worker with 1 thread;
 * - throughput with both cores: two our workers (one wasm backend each, the images split between
 *   them) against one torch worker with 2 threads, in images per second;
 * - one training step, batch 2 with targets, at one thread;
 * - peak resident memory of the processes of each part.
 *
 * Only one side computes at a time (a worker idles between commands), so the two never compete
 * for the cores; other jobs on the machine still do, hence the load average in the report.
 *
 * Run: `npm run bench` (800 px; 19 minutes on the shared 2-core machine at load 2-9) or
 * `npm run bench -- --quick` (320 px; 8 minutes there); `npm run bench -- --help` lists the options.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resizedSize } from '../../src';
import { BenchChild } from './child';
import { writeBenchInputs } from './inputs';
import { BENCH_PARTS, BENCH_USAGE, type BenchOptions, parseBenchArgs } from './options';
import { BENCH_STAGES, type BenchRecord, type BenchStage, benchRows, markdownReport, type SideRuns } from './report';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** One side's runs as the parts fill them in. */
type SideInProgress = Omit<Mutable<SideRuns>, 'peakMiB'> & { peakMiB: Mutable<SideRuns['peakMiB']> };

/** The folder holding package.json, above this file in src and in build alike. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Error in bench: no package.json above tools/bench');
    dir = up;
  }
  return dir;
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/**
 * Learning rate of the timed training steps: 0. The step still does all of its arithmetic
 * (targets, gradients, weight decay, momentum, the update) on both sides, but the weights stay
 * the seeded ones, so every timed step does the same work. The seeded weights' classifier gain
 * (make_fixtures.py) starts loss_classifier near 105: at torchvision's reference lr for batch 2
 * (0.0025) both sides reach losses of 1e11 after one step and NaN after two.
 */
const TRAIN_LR = 0;

/** Both sides' workers of one part. */
interface Workers {
  readonly ours: BenchChild[];
  readonly theirs: BenchChild;
}

class Bench {
  readonly ours: SideInProgress = { peakMiB: {} };
  readonly theirs: SideInProgress = { peakMiB: {} };
  readonly versions: Record<string, string> = {};

  constructor(
    private readonly o: BenchOptions,
    private readonly root: string,
    private readonly weights: string,
    private readonly manifest: string,
  ) {}

  private start(ourWorkers: number, torchThreads: number): Workers {
    const ours = Array.from({ length: ourWorkers }, (_, i) =>
      BenchChild.start(ourWorkers === 1 ? 'ours' : `ours#${i + 1}`, process.execPath, [path.join(__dirname, 'our_worker.js')], { verbose: this.o.verbose }),
    );
    const threads = String(torchThreads);
    const theirs = BenchChild.start('torchvision', this.o.python, [path.join(this.root, 'tools', 'bench', 'torch_bench.py'), '--threads', threads], {
      env: { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
      verbose: this.o.verbose,
    });
    return { ours, theirs };
  }

  /** Starts the workers, sets them up, runs `body`, reads their peak memory, stops them. */
  private async withWorkers(ourWorkers: number, torchThreads: number, mode: 'infer' | 'train', minSize: number, body: (w: Workers) => Promise<void>): Promise<{ ours: number; theirs: number }> {
    const w = this.start(ourWorkers, torchThreads);
    try {
      const setup = { cmd: 'setup', mode, weights: this.weights, manifest: this.manifest, minSize, lr: TRAIN_LR };
      const replies = await Promise.all([...w.ours, w.theirs].map((c) => c.request(setup)));
      for (const r of replies) Object.assign(this.versions, r.versions as Record<string, string>);
      await body(w);
      const peaks = await Promise.all([...w.ours, w.theirs].map(async (c) => Number((await c.request({ cmd: 'memory' })).peakMiB)));
      return { ours: peaks.slice(0, -1).reduce((a, b) => a + b, 0), theirs: peaks[peaks.length - 1] };
    } finally {
      await Promise.all([...w.ours, w.theirs].map((c) => c.close()));
    }
  }

  /** Latency at one thread, stage by stage. */
  async inference(): Promise<void> {
    const runs = { ours: emptyInference(), theirs: emptyInference() };
    const peaks = await this.withWorkers(1, 1, 'infer', this.o.minSize, async ({ ours: [ours], theirs }) => {
      for (let i = 0; i < this.o.warmup + this.o.runs; i++) {
        const timed = i >= this.o.warmup;
        const o = await ours.request({ cmd: 'infer', count: 1 });
        const t = await theirs.request({ cmd: 'infer', count: 1 });
        if (timed) {
          addInference(runs.ours, o);
          addInference(runs.theirs, t);
        }
        log(`inference ${timed ? `run ${i - this.o.warmup + 1}/${this.o.runs}` : 'warm-up'}: ours ${ms(o)} ms, torchvision ${ms(t)} ms`);
      }
    });
    this.ours.inference = runs.ours;
    this.theirs.inference = runs.theirs;
    this.ours.peakMiB.inference = peaks.ours;
    this.theirs.peakMiB.inference = peaks.theirs;
  }

  /** Images per second with both cores: two our workers against torch with two threads. */
  async throughput(): Promise<void> {
    const n = this.o.throughputImages;
    const ours: number[] = [];
    const theirs: number[] = [];
    const peaks = await this.withWorkers(2, 2, 'infer', this.o.minSize, async (w) => {
      if (this.o.warmup > 0) {
        await Promise.all(w.ours.map((c) => c.request({ cmd: 'infer', count: this.o.warmup })));
        await w.theirs.request({ cmd: 'infer', count: this.o.warmup });
      }
      for (let i = 0; i < this.o.runs; i++) {
        let t0 = performance.now();
        await Promise.all(w.ours.map((c) => c.request({ cmd: 'infer', count: n / 2 })));
        ours.push(n / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        await w.theirs.request({ cmd: 'infer', count: n });
        theirs.push(n / ((performance.now() - t0) / 1000));
        log(`throughput round ${i + 1}/${this.o.runs}: ours ${ours[i].toPrecision(3)} img/s, torchvision ${theirs[i].toPrecision(3)} img/s`);
      }
    });
    this.ours.throughput = ours;
    this.theirs.throughput = theirs;
    this.ours.peakMiB.throughput = peaks.ours;
    this.theirs.peakMiB.throughput = peaks.theirs;
  }

  /** One training step, batch 2 with targets, at one thread. */
  async training(): Promise<void> {
    const ours: number[] = [];
    const theirs: number[] = [];
    const losses: Array<Record<string, number>> = [];
    const peaks = await this.withWorkers(1, 1, 'train', this.o.trainSize, async ({ ours: [o], theirs: t }) => {
      for (let i = 0; i < this.o.warmup + this.o.runs; i++) {
        const timed = i >= this.o.warmup;
        const a = await o.request({ cmd: 'train' });
        const b = await t.request({ cmd: 'train' });
        if (timed) {
          ours.push(Number(a.ms));
          theirs.push(Number(b.ms));
        }
        losses.splice(0, 2, a.losses as Record<string, number>, b.losses as Record<string, number>);
        const total = (r: Record<string, unknown>) => Object.values(r.losses as Record<string, number>).reduce((x, y) => x + y, 0).toFixed(2);
        log(`training ${timed ? `step ${i - this.o.warmup + 1}/${this.o.runs}` : 'warm-up'}: ours ${Number(a.ms).toFixed(0)} ms (loss ${total(a)}), torchvision ${Number(b.ms).toFixed(0)} ms (loss ${total(b)})`);
      }
    });
    this.ours.trainStepMs = ours;
    this.theirs.trainStepMs = theirs;
    [this.ours.trainLosses, this.theirs.trainLosses] = losses;
    this.ours.peakMiB.training = peaks.ours;
    this.theirs.peakMiB.training = peaks.theirs;
  }
}

function emptyInference(): { totalMs: number[]; stagesMs: Record<BenchStage, number[]>; detections: number[] } {
  return { totalMs: [], stagesMs: Object.fromEntries(BENCH_STAGES.map((s) => [s, []])) as unknown as Record<BenchStage, number[]>, detections: [] };
}

/** Adds an `infer {count: 1}` reply to `runs`. */
function addInference(runs: ReturnType<typeof emptyInference>, reply: Record<string, unknown>): void {
  const stages = (reply.stages as Array<Record<BenchStage, number>>)[0];
  runs.totalMs.push((reply.ms as number[])[0]);
  runs.detections.push((reply.detections as number[])[0]);
  for (const s of BENCH_STAGES) runs.stagesMs[s].push(stages[s]);
}

const ms = (reply: Record<string, unknown>): string => (reply.ms as number[])[0].toFixed(0);

function existing(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new Error(`Error in bench: ${what} ${file} does not exist (npm run fixtures makes the parity fixtures, or pass the option)`);
  return file;
}

/** Runs the bench with `argv` (npm's arguments after `--`). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const o = parseBenchArgs(argv);
  if (o === 'help') {
    console.log(BENCH_USAGE);
    return;
  }
  const root = repoRoot();
  const fixtures = path.join(root, '.fixtures', 'parity');
  const weights = existing(o.weights ?? path.join(fixtures, 'maskrcnn_seeded.pth'), 'the weights');
  const photo = existing(o.image ?? path.join(fixtures, 'images', 'coffee.png'), 'the image');
  const fixturePhotos = ['chelsea', 'coffee'].map((n) => path.join(fixtures, 'images', `${n}.png`));
  const trainPhotos = fixturePhotos.every((f) => fs.existsSync(f)) ? fixturePhotos : [photo, photo];
  existing(o.python, 'python');

  const loadBefore = os.loadavg()[0];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-bench-'));
  let record: BenchRecord;
  try {
    const manifest = await writeBenchInputs(tmp, { photo, trainPhotos, trainSize: o.trainSize });
    const bench = new Bench(o, root, weights, manifest);
    // A part that fails (a worker's error, the wasm heap) is reported; the others still run.
    const failed: string[] = [];
    for (const part of o.parts) {
      log(`${part} ...`);
      try {
        await bench[part]();
      } catch (e) {
        const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        failed.push(`${part}: failed: ${why}`);
        log(failed[failed.length - 1]);
        process.exitCode = 1;
      }
    }
    const image = JSON.parse(fs.readFileSync(manifest, 'utf8')).inference as { height: number; width: number };
    const resized = resizedSize(image.height, image.width, o.minSize, 1333);
    const leftOut = [
      ...failed,
      ...BENCH_PARTS.filter((p) => !o.parts.includes(p)).map((p) => `${p}: not asked for (--only)`),
      'training with both cores: our library has no data-parallel training step yet (issue 15 plans worker threads with summed gradients)',
    ];
    record = {
      date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      machine: { cpu: os.cpus()[0]?.model ?? 'unknown CPU', cores: os.cpus().length, loadBefore, loadAfter: os.loadavg()[0] },
      versions: bench.versions,
      settings: {
        imageSize: [image.height, image.width],
        resizedSize: [resized.height, resized.width],
        minSize: o.minSize,
        trainSize: o.trainSize,
        trainLr: TRAIN_LR,
        warmup: o.warmup,
        runs: o.runs,
        throughputImages: o.throughputImages,
        weights: path.relative(root, weights),
      },
      ours: bench.ours,
      theirs: bench.theirs,
      leftOut,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const outDir = o.outDir ?? path.join(root, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const md = markdownReport(record);
  fs.writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify({ ...record, rows: benchRows(record) }, null, 1)}\n`);
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  console.log(md);
  log(`wrote ${path.join(outDir, 'latest.json')} and latest.md`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
