/**
 * One kernel registration policy (kernels/register.ts): explicit (importing the library
 * registers nothing), per backend (callable before or after setBackend), idempotent; csrMatMul
 * registers its own kernels when called, so inference needs no set-up call.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as library from '../../src';
import { registerCsrMatMulKernels, WASM_TRAINING_KERNELS, isWasmTrainingKernelRegistered } from '../../src/kernels/register';
import { csrMatMul } from '../../src/roi/csr_matmul';
import { useBackend } from '../support/backends';

const CSR = 'MaskrcnnCsrMatMul';
const identity2 = { numRows: 2, numCols: 2, rowPtr: Int32Array.of(0, 1, 2), colIdx: Int32Array.of(0, 1), values: Float32Array.of(1, 1) };

test('importing the library registers no kernel and no IO router', () => {
  expect(typeof library.load).toBe('function');
  expect(tf.getKernel(CSR, 'cpu')).toBeUndefined();
  expect(tf.getKernel(CSR, 'wasm')).toBeUndefined();
  for (const name of WASM_TRAINING_KERNELS) expect(isWasmTrainingKernelRegistered(name)).toBe(false);
  expect(tf.io.getSaveHandlers('file:///tmp/maskrcnn-probe')).toEqual([]);
});

test('csrMatMul registers its kernels on cpu and wasm when first called, and runs its kernel', async () => {
  await useBackend('cpu');
  const x = tf.tensor2d([[1], [2]]);
  const y = csrMatMul(identity2, x, { implementation: 'kernel' });
  expect(Array.from(await y.data())).toEqual([1, 2]);
  expect(tf.getKernel(CSR, 'cpu')).toBeDefined();
  expect(tf.getKernel(CSR, 'wasm')).toBeDefined();
  tf.dispose([x, y]);
});

test('registration is per backend: made before setBackend("wasm") it serves wasm; a second call changes nothing', async () => {
  tf.unregisterKernel(CSR, 'wasm'); // as if never registered, and the wasm backend not yet set up
  expect(tf.engine().registry.wasm).toBeUndefined();
  registerCsrMatMulKernels();
  const before = tf.getKernel(CSR, 'wasm')!.kernelFunc;
  await useBackend('wasm');
  registerCsrMatMulKernels();
  expect(tf.getKernel(CSR, 'wasm')!.kernelFunc).toBe(before);
  const x = tf.tensor2d([[3], [4]]);
  const y = csrMatMul(identity2, x, { implementation: 'kernel', transpose: true });
  expect(Array.from(await y.data())).toEqual([3, 4]);
  tf.dispose([x, y]);
});
