/**
 * wasm training-kernel benchmark: built-in wasm kernels vs ours (src/kernels) on Mask R-CNN
 * shapes (ResNet-50 layer2-4 at an 800x1216 input, FPN 3x3 at 200x304, mask head, fc6/fc7),
 * with the forward conv as the yardstick where the built-in kernel is missing.
 *
 * Prints, per case, milliseconds (median of the repeats) and the built-in / ours ratio, and the
 * relative difference max|ours - builtin| / max|builtin| as a sanity check at full size.
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/kbench && NODE_PATH=$PWD/node_modules \
 *      node /tmp/kbench/bench/kernels_bench.js [--quick] [--only=matmul|conv]
 * (--quick skips the FPN 200x304 case, whose built-in input gradient takes tens of seconds.)
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/kernels/register';
import { conv2dBackpropFilterWith } from '../src/kernels/wasm/conv2d_backprop_filter';

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: {}; attrs?: tf.NamedAttrMap }) =>
  | tf.TensorInfo
  | tf.TensorInfo[];

/** Deterministic values in [-1, 1). */
function randomTensor(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2147483648 - 1;
  }
  return tf.tensor(v, shape);
}

/** Median wall time of `f` in ms; repeats while under ~1.5 s in total (at least once, at most 5). */
function timeIt(f: () => tf.Tensor, warmup: boolean): { ms: number; out: Float32Array } {
  if (warmup) tf.dispose(f());
  const times: number[] = [];
  let out = new Float32Array(0);
  let total = 0;
  while (times.length < 5 && (times.length === 0 || total < 1500)) {
    const t0 = performance.now();
    const y = f();
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
    if (times.length === 1) out = Float32Array.from(y.dataSync());
    y.dispose();
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], out };
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** Runs a captured built-in kernel and wraps its output in a tensor that owns it. */
function runBuiltin(func: KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.Tensor {
  const info = func({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
  // A fresh kernel output has one reference, which the new tensor takes over.
  return tf.engine().makeTensorFromTensorInfo(info);
}

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: number;
  big?: boolean;
}

const pad = (k: number): [[0, 0], [number, number], [number, number], [0, 0]] => {
  const p = (k - 1) >> 1;
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
};

const CONV_CASES: ConvCase[] = [
  { name: 'stem 7x7 s2 3->64 @400x608', x: [1, 400, 608, 3], k: 7, cout: 64, stride: 2 },
  { name: 'layer2 3x3 128->128 @100x152', x: [1, 100, 152, 128], k: 3, cout: 128, stride: 1 },
  { name: 'layer2 3x3 s2 128->128 200x304->100x152', x: [1, 200, 304, 128], k: 3, cout: 128, stride: 2 },
  { name: 'layer2 1x1 512->128 @100x152', x: [1, 100, 152, 512], k: 1, cout: 128, stride: 1 },
  { name: 'layer2 1x1 128->512 @100x152', x: [1, 100, 152, 128], k: 1, cout: 512, stride: 1 },
  { name: 'layer2 downsample 1x1 s2 256->512', x: [1, 200, 304, 256], k: 1, cout: 512, stride: 2 },
  { name: 'layer3 3x3 256->256 @50x76', x: [1, 50, 76, 256], k: 3, cout: 256, stride: 1 },
  { name: 'layer3 3x3 s2 256->256 100x152->50x76', x: [1, 100, 152, 256], k: 3, cout: 256, stride: 2 },
  { name: 'layer3 1x1 1024->256 @50x76', x: [1, 50, 76, 1024], k: 1, cout: 256, stride: 1 },
  { name: 'layer4 3x3 512->512 @25x38', x: [1, 25, 38, 512], k: 3, cout: 512, stride: 1 },
  { name: 'layer4 3x3 s2 512->512 50x76->25x38', x: [1, 50, 76, 512], k: 3, cout: 512, stride: 2 },
  { name: 'layer4 1x1 2048->512 @25x38', x: [1, 25, 38, 2048], k: 1, cout: 512, stride: 1 },
  { name: 'mask head 3x3 256->256 @14x14 x64 RoIs', x: [64, 14, 14, 256], k: 3, cout: 256, stride: 1 },
  { name: 'mask upsample ConvT 2x2 s2 14->28 x64', x: [64, 28, 28, 256], k: 2, cout: 256, stride: 2 },
  { name: 'FPN 3x3 256->256 @200x304', x: [1, 200, 304, 256], k: 3, cout: 256, stride: 1, big: true },
];

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function benchConv(c: ConvCase, builtinInput: KernelFunc): void {
  const x = randomTensor(c.x, 1) as tf.Tensor4D;
  const w = randomTensor([c.k, c.k, c.x[3], c.cout], 2) as tf.Tensor4D;
  const strides: [number, number] = [c.stride, c.stride];
  const fwd = timeIt(() => tf.conv2d(x, w, c.stride, pad(c.k)), true);
  const dy = randomTensor(tf.tidy(() => tf.conv2d(x, w, c.stride, pad(c.k))).shape, 3);
  const inputAttrs = { strides, pad: pad(c.k), dataFormat: 'NHWC', inputShape: c.x } as unknown as tf.NamedAttrMap;
  const filterAttrs = {
    strides,
    pad: pad(c.k),
    dataFormat: 'NHWC',
    filterShape: w.shape,
  } as unknown as tf.NamedAttrMap;
  const inBuiltin = timeIt(() => runBuiltin(builtinInput, { dy, filter: w }, inputAttrs), false);
  const inOurs = timeIt(
    () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, inputAttrs) as tf.Tensor,
    true,
  );
  const filt = timeIt(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, filterAttrs) as tf.Tensor, true);
  let dilated = '';
  if (c.k > 1) {
    const alt = timeIt(
      () =>
        tf.engine().makeTensorFromTensorInfo(
          conv2dBackpropFilterWith({ inputs: { x, dy }, backend: tf.backend(), attrs: filterAttrs }, 'dilated-conv'),
        ),
      true,
    );
    dilated = `; dilated-conv form ${fmt(alt.ms)} (${(alt.ms / fwd.ms).toFixed(1)}x fwd, diff ${relDiff(alt.out, filt.out).toExponential(1)})`;
  }
  console.log(
    `${c.name.padEnd(42)} fwd ${fmt(fwd.ms).padStart(6)} | dX builtin ${fmt(inBuiltin.ms).padStart(6)} ours ` +
      `${fmt(inOurs.ms).padStart(6)} (x${(inBuiltin.ms / inOurs.ms).toFixed(1)}, ${(inOurs.ms / fwd.ms).toFixed(1)}x fwd, ` +
      `diff ${relDiff(inOurs.out, inBuiltin.out).toExponential(1)})` +
      ` | dW builtin missing, ours ${fmt(filt.ms).padStart(6)} (${(filt.ms / fwd.ms).toFixed(1)}x fwd)${dilated}`,
  );
  tf.dispose([x, w, dy]);
}

interface MatMulCase {
  name: string;
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

const MATMUL_CASES: MatMulCase[] = [
  { name: 'fc6 forward x[512,12544] @ W[12544,1024]', a: [512, 12544], b: [12544, 1024], tA: false, tB: false },
  { name: 'fc6 dX = dY[512,1024] @ W^T', a: [512, 1024], b: [12544, 1024], tA: false, tB: true },
  { name: 'fc6 dW = X^T @ dY[512,1024]', a: [512, 12544], b: [512, 1024], tA: true, tB: false },
  { name: 'fc7 dX = dY[512,1024] @ W^T', a: [512, 1024], b: [1024, 1024], tA: false, tB: true },
  { name: 'fc7 dW = X^T @ dY', a: [512, 1024], b: [512, 1024], tA: true, tB: false },
  { name: 'batched [8,128,256] @ [8,256,128]', a: [8, 128, 256], b: [8, 256, 128], tA: false, tB: false },
];

function benchMatMul(c: MatMulCase, builtin: KernelFunc): void {
  const a = randomTensor(c.a, 4);
  const b = randomTensor(c.b, 5);
  const attrs = { transposeA: c.tA, transposeB: c.tB } as tf.NamedAttrMap;
  const base = timeIt(() => runBuiltin(builtin, { a, b }, attrs), true);
  const ours = timeIt(() => tf.matMul(a, b, c.tA, c.tB), true);
  console.log(
    `${c.name.padEnd(42)} builtin ${fmt(base.ms).padStart(6)} ours ${fmt(ours.ms).padStart(6)} ` +
      `(x${(base.ms / ours.ms).toFixed(1)}, diff ${relDiff(ours.out, base.out).toExponential(1)})`,
  );
  tf.dispose([a, b]);
}

function benchSegmentSum(): void {
  // gather's gradient over 512 sampled RoI rows of 1024 features out of 2000 proposals.
  const rows = 512;
  const x = randomTensor([rows, 1024], 6);
  const ids = tf.tensor1d(
    Array.from({ length: rows }, (_, i) => (i * 7919) % 2000),
    'int32',
  );
  const ours = timeIt(() => tf.unsortedSegmentSum(x, ids, 2000), true);
  const xg = randomTensor([2000, 1024], 7);
  const grad = timeIt(() => tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(xg), true);
  console.log(
    `UnsortedSegmentSum [512,1024] -> [2000,1024]: builtin missing, ours ${fmt(ours.ms)} ms; ` +
      `gather [2000,1024] -> 512 rows, full gradient ${fmt(grad.ms)} ms`,
  );
  tf.dispose([x, ids, xg]);
}

export async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  await tf.setBackend('wasm');
  await tf.ready();
  const builtinInput = tf.getKernel('Conv2DBackpropInput', 'wasm').kernelFunc as KernelFunc;
  const builtinMatMul = tf.getKernel('BatchMatMul', 'wasm').kernelFunc as KernelFunc;
  registerWasmTrainingKernels();
  if (tf.getKernel('Conv2DBackpropInput', 'wasm').kernelFunc === builtinInput) {
    throw new Error('kernels_bench: registerWasmTrainingKernels did not replace the built-in kernels');
  }
  console.log('wasm training kernels, ms (median), single thread; ratios are builtin / ours');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  if (only === undefined || only === 'matmul') {
    for (const c of MATMUL_CASES) benchMatMul(c, builtinMatMul);
    benchSegmentSum();
  }
  if (only === undefined || only === 'conv') {
    for (const c of CONV_CASES) {
      if (quick && c.big) continue;
      benchConv(c, builtinInput);
    }
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
