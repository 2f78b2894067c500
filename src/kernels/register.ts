/**
 * The one place our kernels are registered with tfjs, under one policy:
 *
 * - explicit: registered by calling a function here, never as a side effect of an import, so
 *   importing the library changes no tfjs registry;
 * - per backend: each kernel is registered under a backend name, as tfjs expects, so a call works
 *   before or after `tf.setBackend` (a backend initialised later finds the kernel there);
 * - idempotent: a second call finds our kernel in place and does nothing.
 *
 * | function | kernel | backends | called by |
 * |---|---|---|---|
 * | {@link registerCsrMatMulKernels} | MaskrcnnCsrMatMul (RoIAlign as a sparse product) | cpu, wasm | `csrMatMul` itself, on each call: inference and training need nothing more |
 * | {@link registerWasmTrainingKernels} | the four below | wasm | the Trainer, `maskrcnn train`, the app: opt-in, since they replace built-ins |
 *
 * The wasm training kernels, which the wasm backend lacks or runs slowly:
 *
 * | kernel | built-in wasm | ours |
 * |---|---|---|
 * | Conv2DBackpropFilter | missing (no conv / conv2dTranspose filter gradient) | XNNPACK conv or GEMM |
 * | UnsortedSegmentSum | missing (no gather gradient) | scatterND |
 * | Conv2DBackpropInput | naive loop, ~10x forward | XNNPACK conv where it pays |
 * | BatchMatMul | naive loop with transpose flags / batch > 1 | explicit transposes + XNNPACK |
 *
 * The built-in kernels we replace are captured first and remain reachable for the cases our
 * versions hand back to them; their setup functions are kept on our registrations, so a
 * backend initialised after this call still sets them up.
 */
import * as tf from '@tensorflow/tfjs';
import { CSR_MATMUL_KERNEL, csrMatMulCpu, csrMatMulWasm } from './csr_matmul';
import { batchMatMulWasm } from './wasm/batch_mat_mul';
import { conv2dBackpropFilterWasm } from './wasm/conv2d_backprop_filter';
import { conv2dBackpropInputWasm } from './wasm/conv2d_backprop_input';
import { unsortedSegmentSumWasm } from './wasm/unsorted_segment_sum';
import { rememberBuiltinKernel, WasmKernelFunc } from './wasm/wasm_backend_ops';

/** Kernel names registered (or replaced) on wasm by {@link registerWasmTrainingKernels}. */
export const WASM_TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'UnsortedSegmentSum',
  'Conv2DBackpropInput',
  'BatchMatMul',
] as const;

/** One of {@link WASM_TRAINING_KERNELS}. */
export type WasmTrainingKernelName = (typeof WASM_TRAINING_KERNELS)[number];

const OURS: Record<WasmTrainingKernelName, WasmKernelFunc> = {
  Conv2DBackpropFilter: conv2dBackpropFilterWasm,
  UnsortedSegmentSum: unsortedSegmentSumWasm,
  Conv2DBackpropInput: conv2dBackpropInputWasm,
  BatchMatMul: batchMatMulWasm,
};

/** Built-in kernels our implementations call; all must exist for us to register anything. */
const REQUIRED_BUILTINS = ['Conv2D', 'Transpose', 'ScatterNd', 'BatchMatMul', 'Conv2DBackpropInput'];

/** Looks at the engine's registries directly: tf.findBackend would initialise the backend. */
function wasmBackendRegistered(): boolean {
  const engine = tf.engine() as unknown as {
    registryFactory: Record<string, unknown>;
    registry: Record<string, unknown>;
  };
  return engine.registryFactory.wasm !== undefined || engine.registry.wasm !== undefined;
}

/**
 * Registers `kernelFunc` as `kernelName` on `backendName` unless it is there already. A kernel
 * registered there before (a built-in) is unregistered first (registerKernel over an existing
 * kernel only warns and replaces), handed to `replacing`, and its setup and dispose functions
 * are kept on ours.
 */
function registerOnce(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc, replacing?: (builtin: tf.KernelFunc) => void): void {
  const current = tf.getKernel(kernelName, backendName);
  if (current !== undefined && current.kernelFunc === kernelFunc) return;
  if (current !== undefined) {
    replacing?.(current.kernelFunc);
    tf.unregisterKernel(kernelName, backendName);
  }
  tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: current?.setupFunc, disposeFunc: current?.disposeFunc });
}

/**
 * Registers the `MaskrcnnCsrMatMul` kernels on cpu and wasm (see kernels/csr_matmul.ts).
 * Idempotent and cheap (two registry look-ups once done), so `csrMatMul` calls it on each call;
 * safe before or after `tf.setBackend`, and before `@tensorflow/tfjs-backend-wasm` is imported.
 *
 * @example
 * ```ts
 * registerCsrMatMulKernels();
 * tf.getKernel('MaskrcnnCsrMatMul', 'cpu'); // defined
 * ```
 */
export function registerCsrMatMulKernels(): void {
  registerOnce(CSR_MATMUL_KERNEL, 'cpu', csrMatMulCpu);
  registerOnce(CSR_MATMUL_KERNEL, 'wasm', csrMatMulWasm);
}

/**
 * Registers the wasm training kernels listed in {@link WASM_TRAINING_KERNELS}. Idempotent; does
 * nothing when `@tensorflow/tfjs-backend-wasm` has not been imported (no wasm backend or kernels).
 * Safe to call before or after `tf.setBackend('wasm')`.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmTrainingKernels } from './kernels/register';
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 * const { grads } = tf.variableGrads(() => loss()); // conv / gather / dense gradients on wasm
 * ```
 */
export function registerWasmTrainingKernels(): void {
  if (!wasmBackendRegistered()) return;
  if (REQUIRED_BUILTINS.some((name) => tf.getKernel(name, 'wasm') === undefined)) return;
  for (const name of WASM_TRAINING_KERNELS) {
    registerOnce(name, 'wasm', OURS[name] as tf.KernelFunc, (builtin) => rememberBuiltinKernel(name, builtin as WasmKernelFunc));
  }
}

/**
 * Whether our kernel is the one registered on wasm for `name`.
 *
 * @example
 * ```ts
 * registerWasmTrainingKernels();
 * isWasmTrainingKernelRegistered('UnsortedSegmentSum'); // true once the wasm backend is imported
 * ```
 */
export function isWasmTrainingKernelRegistered(name: WasmTrainingKernelName): boolean {
  return tf.getKernel(name, 'wasm')?.kernelFunc === OURS[name];
}
