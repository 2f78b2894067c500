/**
 * RoIAlign timings on FPN-size features (an 800 x 1344 batch: maps 200x336 .. 25x42, 256
 * channels), forward and forward + backward, for the Mask R-CNN workloads:
 * 1000 RoIs at 7x7 (box head, inference) and 512 RoIs at 14x14 (mask head, training).
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/rb && NODE_PATH=$PWD/node_modules node /tmp/rb/bench/roi_align_bench.js
 *
 * Options: `--backend cpu|wasm` (default wasm), `--reps N` (default 3, median reported),
 * `--no-torch` to skip the torchvision comparison (run with /usr/bin/python3 on the same boxes,
 * single-threaded like our kernels).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { MultiScaleRoIAlign } from '../src/roi/multi_scale_roi_align';
import { roiAlign } from '../src/roi/roi_align';
import { buildRoiAlignPlan } from '../src/roi/roi_align_plan';

const IMAGE: [number, number] = [800, 1344];
const CHANNELS = 256;
const LEVELS: Array<[number, number]> = [
  [200, 336],
  [100, 168],
  [50, 84],
  [25, 42],
];

interface Workload {
  name: string;
  rois: number;
  out: number;
}
const WORKLOADS: Workload[] = [
  { name: 'box head, inference', rois: 1000, out: 7 },
  { name: 'mask head, training', rois: 512, out: 14 },
];

/** Proposal-like boxes: log-uniform sizes 16..800 px, inside the image (deterministic). */
function makeBoxes(n: number, seed: number): number[][] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const w = 16 * 50 ** rand();
    const h = 16 * 50 ** rand();
    const x1 = rand() * Math.max(1, IMAGE[1] - w);
    const y1 = rand() * Math.max(1, IMAGE[0] - h);
    out.push([x1, y1, Math.min(IMAGE[1], x1 + w), Math.min(IMAGE[0], y1 + h)]);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(reps: number, f: () => void): number {
  f(); // warm-up: JIT, wasm heap growth
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

interface Row {
  workload: string;
  op: string;
  forwardMs: number;
  forwardBackwardMs: number;
}

function benchOurs(reps: number, boxesByWorkload: number[][][]): Row[] {
  const feats = LEVELS.map(([h, w], i) => tf.randomNormal([1, h, w, CHANNELS], 0, 1, 'float32', i) as tf.Tensor4D);
  const names = ['0', '1', '2', '3'];
  const record = (ts: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor4D]));
  const rows: Row[] = [];
  WORKLOADS.forEach((wl, wi) => {
    const boxList = boxesByWorkload[wi];
    const boxes = tf.tensor2d(boxList);
    const idx = tf.zeros([wl.rois], 'int32') as tf.Tensor1D;
    const pooler = new MultiScaleRoIAlign({ featmapNames: names, outputSize: wl.out, samplingRatio: 2 });
    const ms = (ts: tf.Tensor[]) => pooler.forward(record(ts), [boxes], [IMAGE]);
    const single = (t: tf.Tensor) => roiAlign(t as tf.Tensor4D, boxes, idx, [wl.out, wl.out], 0.25, 2);
    const dy = tf.randomNormal([wl.rois, wl.out, wl.out, CHANNELS], 0, 1, 'float32', 7);

    rows.push({
      workload: `${wl.rois} RoIs ${wl.out}x${wl.out} (${wl.name})`,
      op: 'MultiScaleRoIAlign',
      forwardMs: time(reps, () => {
        const y = ms(feats);
        y.dataSync();
        y.dispose();
      }),
      forwardBackwardMs: time(reps, () => {
        const gs = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(ms(ts), dy)))(feats);
        gs.forEach((g) => g.dataSync());
        tf.dispose(gs);
      }),
    });
    rows.push({
      workload: `${wl.rois} RoIs ${wl.out}x${wl.out} (${wl.name})`,
      op: 'roiAlign, all on the 200x336 map',
      forwardMs: time(reps, () => {
        const y = single(feats[0]);
        y.dataSync();
        y.dispose();
      }),
      forwardBackwardMs: time(reps, () => {
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(single(t), dy)))(feats[0]);
        g.dataSync();
        g.dispose();
      }),
    });
    const planMs = time(reps, () => {
      buildRoiAlignPlan(Float32Array.from(boxList.flat()), new Int32Array(wl.rois), {
        batch: 1,
        height: LEVELS[0][0],
        width: LEVELS[0][1],
        outHeight: wl.out,
        outWidth: wl.out,
        spatialScale: 0.25,
        samplingRatio: 2,
        aligned: false,
      });
    });
    console.log(`  (sparse plan for ${wl.rois} RoIs at ${wl.out}x${wl.out}, built in JS: ${planMs.toFixed(1)} ms)`);
    tf.dispose([boxes, idx, dy]);
  });
  tf.dispose(feats);
  return rows;
}

const TORCH_SCRIPT = String.raw`
import json, sys, time
import torch, torchvision
from torchvision.ops import MultiScaleRoIAlign, roi_align
torch.set_num_threads(1)
cfg = json.load(open(sys.argv[1]))
reps = cfg['reps']
g = torch.Generator().manual_seed(0)
feats = {str(i): torch.randn(1, cfg['channels'], h, w, generator=g) for i, (h, w) in enumerate(cfg['levels'])}
def med(f):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[len(ts) // 2]
out = []
for wl, boxes in zip(cfg['workloads'], cfg['boxes']):
    b = torch.tensor(boxes, dtype=torch.float32)
    rois = torch.cat([torch.zeros(len(b), 1), b], 1)
    pooler = MultiScaleRoIAlign(['0', '1', '2', '3'], wl['out'], 2)
    dy = torch.randn(len(b), cfg['channels'], wl['out'], wl['out'], generator=g)
    def ms_fwd():
        with torch.no_grad():
            pooler(feats, [b], [tuple(cfg['image'])])
    def ms_bwd():
        fs = {k: v.clone().requires_grad_(True) for k, v in feats.items()}
        (pooler(fs, [b], [tuple(cfg['image'])]) * dy).sum().backward()
    def one_fwd():
        with torch.no_grad():
            roi_align(feats['0'], rois, wl['out'], 0.25, 2)
    def one_bwd():
        f0 = feats['0'].clone().requires_grad_(True)
        (roi_align(f0, rois, wl['out'], 0.25, 2) * dy).sum().backward()
    out.append([med(ms_fwd), med(ms_bwd), med(one_fwd), med(one_bwd)])
print(json.dumps(out))
`;

function benchTorch(reps: number, boxesByWorkload: number[][][]): number[][] | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roi-bench-'));
  try {
    const cfgPath = path.join(dir, 'cfg.json');
    fs.writeFileSync(
      cfgPath,
      JSON.stringify({ reps, channels: CHANNELS, levels: LEVELS, image: IMAGE, workloads: WORKLOADS, boxes: boxesByWorkload }),
    );
    const res = spawnSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, cfgPath], { encoding: 'utf8' });
    if (res.status !== 0) {
      console.log(`torchvision comparison skipped: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}`);
      return null;
    }
    return JSON.parse(res.stdout.trim().split('\n').pop() ?? 'null') as number[][];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const backend = arg('--backend') ?? 'wasm';
  const reps = Number(arg('--reps') ?? 3);
  if (!['cpu', 'wasm'].includes(backend)) throw new Error(`roi_align_bench: --backend must be cpu or wasm, got ${backend}`);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`roi_align_bench: --reps must be a positive integer`);
  await tf.setBackend(backend);
  await tf.ready();
  const boxes = WORKLOADS.map((wl, i) => makeBoxes(wl.rois, 17 + i));
  console.log(`RoIAlign on ${backend}, ${os.cpus().length} cpus, ${CHANNELS} channels, image ${IMAGE.join('x')}, median of ${reps}`);
  const ours = benchOurs(reps, boxes);
  const torch = argv.includes('--no-torch') ? null : benchTorch(reps, boxes);
  for (const [i, r] of ours.entries()) {
    const t = torch === null ? null : torch[Math.floor(i / 2)].slice((i % 2) * 2, (i % 2) * 2 + 2);
    const ratio = (a: number, b: number | undefined) => (b === undefined ? '' : `  (${(a / b).toFixed(2)}x torchvision ${b.toFixed(0)} ms)`);
    console.log(`${r.workload}, ${r.op}:`);
    console.log(`  forward            ${r.forwardMs.toFixed(0).padStart(6)} ms${ratio(r.forwardMs, t?.[0])}`);
    console.log(`  forward + backward ${r.forwardBackwardMs.toFixed(0).padStart(6)} ms${ratio(r.forwardBackwardMs, t?.[1])}`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
