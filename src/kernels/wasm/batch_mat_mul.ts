/**
 * `BatchMatMul` for the wasm backend that keeps every product on XNNPACK.
 *
 * Why: the built-in wasm kernel uses XNNPACK's fully-connected operator only when neither
 * transpose flag is set and both batch sizes are 1; otherwise it runs a naive blocked loop,
 * 6-11x slower. The gradient of every dense layer sets a flag (dA = dC @ B^T, dB = A^T @ dC),
 * so a detector's box head (fc6 12544 -> 1024 over 512 RoIs) hits the slow loop twice per step.
 *
 * Here flagged operands are transposed explicitly (one memory pass, cheap next to the product),
 * a batch of A against a single B is folded into one taller product, and other batches run
 * one XNNPACK product per batch entry. Cases this does not improve go to the built-in kernel:
 * non-float32 dtypes, empty tensors, batch broadcasting beyond "one side is 1", and batched
 * products too small for the per-call setup to pay.
 *
 * Shapes: a [...batchA, M, K] (or [..., K, M] with transposeA), b [...batchB, K, N] (or
 * [..., N, K] with transposeB) -> [...broadcast(batchA, batchB), M, N].
 */
import * as tf from '@tensorflow/tfjs';
import { builtinKernel, KernelArgs, kernelInput, KernelScope, sizeOf, WasmBackendLike } from './wasm_backend_ops';

const NAME = 'BatchMatMul';

/** Below this many multiply-adds per batch entry the built-in loop beats one XNNPACK call each. */
const MIN_MACS_PER_BATCH_ENTRY = 16384;

/** Copies batch entry `i` of `x` ([batch, r, c]) into a new [r, c] tensor. */
function batchEntry(scope: KernelScope, x: tf.TensorInfo, i: number): tf.TensorInfo {
  const [, r, c] = x.shape;
  const out = scope.alloc([r, c], x.dtype);
  scope.view(out).set(scope.view(x).subarray(i * r * c, (i + 1) * r * c));
  return out;
}

/**
 * The registered `BatchMatMul` kernel function (wasm). Falls back to the built-in kernel for
 * the cases listed in the file comment.
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMulWasm });
 * tf.matMul(a, b, false, true); // now dy @ W^T runs on XNNPACK
 * ```
 */
export function batchMatMulWasm(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const a = kernelInput(args, 'a', NAME);
  const b = kernelInput(args, 'b', NAME);
  const transposeA = args.attrs?.transposeA === true;
  const transposeB = args.attrs?.transposeB === true;
  const builtin = (): tf.TensorInfo | tf.TensorInfo[] => builtinKernel(NAME)(args);

  if (a.dtype !== 'float32' || b.dtype !== 'float32') return builtin();
  const rA = a.shape.length;
  const rB = b.shape.length;
  if (rA < 2 || rB < 2) return builtin();
  const M = transposeA ? a.shape[rA - 1] : a.shape[rA - 2];
  const Ka = transposeA ? a.shape[rA - 2] : a.shape[rA - 1];
  const Kb = transposeB ? b.shape[rB - 1] : b.shape[rB - 2];
  const N = transposeB ? b.shape[rB - 2] : b.shape[rB - 1];
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  // The built-in kernel raises tfjs's own error for mismatched inner dims.
  if (Ka !== Kb || M * N * Ka === 0) return builtin();
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return builtin();
  const outShape = tf.broadcast_util
    .assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
    .concat([M, N]);
  const batch = Math.max(batchA, batchB);
  if (batch > 1 && !(batchB === 1 && !transposeA) && M * N * Ka < MIN_MACS_PER_BATCH_ENTRY) return builtin();

  const scope = new KernelScope(args.backend as WasmBackendLike, NAME);
  try {
    // [...batch, r, c] -> [batch, r, c]
    const a3 = scope.reshape(a, [batchA, a.shape[rA - 2], a.shape[rA - 1]]);
    const b3 = scope.reshape(b, [batchB, b.shape[rB - 2], b.shape[rB - 1]]);
    let out: tf.TensorInfo;
    if (batch === 1 || (batchB === 1 && !transposeA)) {
      // One B for every batch entry: stack the A rows. [batchA, M, K] -> [batchA*M, K]
      // (with transposeA, batch is 1: [1, K, M] -> [K, M]).
      const a2 = scope.reshape(a3, transposeA ? [Ka, M] : [batchA * M, Ka]);
      const b2 = scope.reshape(b3, [b3.shape[1], b3.shape[2]]);
      out = scope.matMul2d(a2, b2, transposeA, transposeB);
    } else {
      out = scope.alloc([batch, M, N]);
      for (let i = 0; i < batch; i++) {
        const inner = new KernelScope(scope.backend, NAME);
        try {
          const ai = batchEntry(inner, a3, Math.min(i, batchA - 1));
          const bi = batchEntry(inner, b3, Math.min(i, batchB - 1));
          const ci = inner.matMul2d(ai, bi, transposeA, transposeB);
          scope.view(out).set(inner.view(ci), i * M * N);
        } finally {
          inner.dispose();
        }
      }
    }
    // [batch*M, N] or [batch, M, N] -> [...batch, M, N]
    return scope.release(scope.reshape(out, outShape));
  } finally {
    scope.dispose();
  }
}
