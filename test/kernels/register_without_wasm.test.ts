/**
 * registerWasmTrainingKernels without @tensorflow/tfjs-backend-wasm imported: nothing happens
 * (jest gives each test file its own globals, so the wasm backend is absent here).
 */
import * as tf from '@tensorflow/tfjs';
import { isWasmTrainingKernelRegistered, registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../src/kernels/register';

test('does nothing, and does not throw, when the wasm backend is not registered', () => {
  expect(tf.engine().registryFactory.wasm).toBeUndefined();
  expect(() => registerWasmTrainingKernels()).not.toThrow();
  for (const name of WASM_TRAINING_KERNELS) {
    expect(tf.getKernel(name, 'wasm')).toBeUndefined();
    expect(isWasmTrainingKernelRegistered(name)).toBe(false);
  }
  // The other backends are untouched.
  expect(tf.getKernel('UnsortedSegmentSum', 'cpu')).toBeDefined();
});
