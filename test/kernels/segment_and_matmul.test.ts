/**
 * UnsortedSegmentSum (gather's gradient) and BatchMatMul (dense-layer gradients, transposes,
 * batches) on wasm with our kernels, against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import {
  isWasmTrainingKernelRegistered,
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
} from '../../src/kernels/register';
import { useBackend } from '../support/backends';
import { backendDataIds, Figures, REL_TOL, seededTensor, wasmVsCpu } from './compare';

const figures = new Figures('UnsortedSegmentSum / BatchMatMul, wasm vs cpu');

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
});
afterAll(() => figures.print());

describe('registration', () => {
  test('registers every kernel, and a second call changes nothing', () => {
    for (const name of WASM_TRAINING_KERNELS) expect(isWasmTrainingKernelRegistered(name)).toBe(true);
    const before = WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, 'wasm'));
    registerWasmTrainingKernels();
    const after = WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, 'wasm'));
    after.forEach((k, i) => expect(k.kernelFunc).toBe(before[i].kernelFunc));
  });

  test('replaced kernels keep the built-in setup function', () => {
    // The built-in BatchMatMul / Conv2DBackpropInput bind their wasm functions in setupFunc;
    // without it a backend initialised later could not run the fallbacks.
    expect(tf.getKernel('BatchMatMul', 'wasm').setupFunc).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm').setupFunc).toBeDefined();
  });
});

describe('UnsortedSegmentSum', () => {
  const cases: { name: string; x: number[]; ids: number[]; n: number }[] = [
    { name: '1-D ids, duplicates', x: [6, 5], ids: [2, 0, 2, 3, 2, 0], n: 4 },
    { name: 'rank-3 x', x: [6, 2, 3], ids: [1, 0, 1, 4, 4, 0], n: 5 },
    { name: 'out-of-range ids dropped', x: [5, 3], ids: [1, -1, 2, 7, 1], n: 3 },
    { name: 'empty segments stay zero', x: [3, 2], ids: [0, 0, 5], n: 8 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const errors = await wasmVsCpu(() => {
        const x = seededTensor(c.x, 30);
        const ids = tf.tensor1d(c.ids, 'int32');
        return tf.unsortedSegmentSum(x, ids, c.n);
      });
      figures.add(`segment sum ${c.name}`, errors);
      expect(errors[0]).toBeLessThan(REL_TOL);
    });
  }

  test('int32 values are summed exactly', async () => {
    await useBackend('wasm');
    const out = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor1d([5, 7, -2, 1], 'int32'), tf.tensor1d([1, 1, 0, 1], 'int32'), 3),
    );
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.dataSync())).toEqual([-2, 13, 0]);
    out.dispose();
  });

  test('gather gradient (axis 0 and 1, repeated indices)', async () => {
    const errors = await wasmVsCpu(() => {
      const x = seededTensor([10, 6], 31);
      const idx0 = tf.tensor1d([3, 1, 3, 9, 0, 3], 'int32');
      const idx1 = tf.tensor1d([5, 5, 2], 'int32');
      const f = (t: tf.Tensor): tf.Tensor => {
        const a = tf.gather(t, idx0, 0); // [6, 6]
        const b = tf.gather(t, idx1, 1); // [10, 3]
        return tf.add(tf.sum(tf.mul(a, seededTensor(a.shape, 32))), tf.sum(tf.mul(b, seededTensor(b.shape, 33))));
      };
      return tf.grad(f)(x);
    });
    figures.add('grad gather (axis 0 + axis 1)', errors);
    expect(errors[0]).toBeLessThan(REL_TOL);
  });
});

describe('BatchMatMul', () => {
  const cases: { name: string; a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
    { name: 'plain 2-D', a: [33, 40], b: [40, 17], tA: false, tB: false },
    { name: 'transposeB (dA of a dense layer)', a: [64, 32], b: [48, 32], tA: false, tB: true },
    { name: 'transposeA (dW of a dense layer)', a: [64, 96], b: [64, 32], tA: true, tB: false },
    { name: 'both transposed', a: [40, 30], b: [20, 40], tA: true, tB: true },
    { name: 'transposeB, wide B (computed as (B @ A^T)^T)', a: [16, 24], b: [200, 24], tA: false, tB: true },
    { name: 'transposeA, tall K (computed as (B^T @ A)^T)', a: [300, 8], b: [300, 20], tA: true, tB: false },
    { name: 'batch 3, same B batch', a: [3, 40, 50], b: [3, 50, 30], tA: false, tB: false },
    { name: 'batch 3 x broadcast B', a: [3, 40, 50], b: [1, 30, 50], tA: false, tB: true },
    { name: 'broadcast A x batch 3, transposeA', a: [1, 50, 40], b: [3, 50, 30], tA: true, tB: false },
    { name: 'rank 4 batches', a: [2, 2, 32, 24], b: [2, 2, 24, 40], tA: false, tB: false },
    { name: 'small batch (built-in path)', a: [4, 3, 5], b: [4, 5, 2], tA: false, tB: false },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const errors = await wasmVsCpu(() => tf.matMul(seededTensor(c.a, 40), seededTensor(c.b, 41), c.tA, c.tB));
      figures.add(`matMul ${c.name}`, errors);
      expect(errors[0]).toBeLessThan(REL_TOL);
    });
  }

  test('mismatched inner dimensions still raise tfjs error', async () => {
    await useBackend('wasm');
    const a = tf.zeros([3, 4]);
    const b = tf.zeros([5, 2]);
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes/);
    tf.dispose([a, b]);
  });

  test('dense layer gradient via tf.variableGrads (x, W, b)', async () => {
    const errors = await wasmVsCpu(() => {
      const x = tf.variable(seededTensor([64, 96], 42), true, 'kernels_test_x');
      const w = tf.variable(seededTensor([96, 32], 43), true, 'kernels_test_w');
      const b = tf.variable(seededTensor([32], 44), true, 'kernels_test_b');
      const m = seededTensor([64, 32], 45);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.relu(tf.add(tf.matMul(x, w), b)), m)) as tf.Scalar);
      const out = [value, grads[x.name], grads[w.name], grads[b.name]];
      tf.dispose([x, w, b]);
      return out;
    });
    figures.add('grad dense layer (loss, dx, dW, db)', errors);
    expect(Math.max(...errors)).toBeLessThan(REL_TOL);
  });
});

test('no tensors or wasm buffers leak (gather, segment sum, matMul forward + backward)', async () => {
  await useBackend('wasm');
  const x = tf.variable(seededTensor([20, 16], 50));
  const w = tf.variable(seededTensor([16, 8], 51));
  const idx = tf.tensor1d([0, 4, 4, 19, 7], 'int32');
  const badIds = tf.tensor1d([0, -3, 1, 9], 'int32');
  const vals = seededTensor([4, 3], 52);
  const loss = (): tf.Scalar => tf.sum(tf.square(tf.matMul(tf.gather(x, idx), w))) as tf.Scalar;
  const warm = tf.variableGrads(loss);
  tf.dispose([warm.value, ...Object.values(warm.grads)]);
  const tensorsBefore = tf.memory().numTensors;
  const buffersBefore = backendDataIds();
  for (let i = 0; i < 2; i++) {
    const { value, grads } = tf.variableGrads(loss);
    tf.dispose([value, ...Object.values(grads)]);
    tf.tidy(() => {
      tf.unsortedSegmentSum(vals, badIds, 2);
      tf.matMul(tf.zeros([3, 40, 50]), tf.zeros([3, 30, 50]), false, true);
    });
  }
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(backendDataIds()).toBe(buffersBefore);
  tf.dispose([x, w, idx, badIds, vals]);
});
