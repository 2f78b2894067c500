/**
 * `A @ X` (or `A^T @ X`) for a sparse {@link CsrMatrix} A held in JS and a dense float32 tensor
 * X [rows, C], differentiable with respect to X.
 *
 * Runs the dedicated `MaskrcnnCsrMatMul` kernel where one is registered (cpu, wasm; it registers
 * them itself, see kernels/register.ts), otherwise a composition of gather, mul and scatterND
 * that any backend runs (webgl, tensorflow). The
 * gradient of `A @ X` is `A^T @ dy`: the same op transposed, so no gather gradient (which needs
 * UnsortedSegmentSum, missing on wasm) is ever taken.
 */
import * as tf from '@tensorflow/tfjs';
import { CsrMatrix, checkCsrMatrix } from './csr_matrix';
import { CSR_MATMUL_KERNEL } from '../kernels/csr_matmul';
import { registerCsrMatMulKernels } from '../kernels/register';

/** `auto`: the kernel where registered, else composed. `kernel` throws when there is none. */
export type CsrMatMulImplementation = 'auto' | 'kernel' | 'composed';

/** Options of {@link csrMatMul}. */
export interface CsrMatMulOptions {
  /** Compute `A^T @ X` instead of `A @ X` (default false). */
  readonly transpose?: boolean;
  /** Which implementation runs (default `auto`); the others exist for tests and benchmarks. */
  readonly implementation?: CsrMatMulImplementation;
}

/** Upper bound on the [entries, C] intermediate of the composed path, in elements (64 MB). */
const COMPOSED_CHUNK_ELEMENTS = 1 << 24;

/**
 * Multiplies a sparse matrix by a dense float32 matrix.
 *
 * @param a sparse matrix `numRows x numCols`.
 * @param dense [numCols, C] (or [numRows, C] when `transpose`).
 * @returns [numRows, C] (or [numCols, C] when `transpose`).
 *
 * @example
 * ```ts
 * const a = { numRows: 1, numCols: 2, rowPtr: Int32Array.of(0, 2), colIdx: Int32Array.of(0, 1),
 *             values: Float32Array.of(0.25, 0.75) };
 * csrMatMul(a, tf.tensor2d([[4], [8]])); // [[7]]
 * ```
 */
export function csrMatMul(a: CsrMatrix, dense: tf.Tensor2D, options: CsrMatMulOptions = {}): tf.Tensor2D {
  const transpose = options.transpose === true;
  const implementation = options.implementation ?? 'auto';
  if (!['auto', 'kernel', 'composed'].includes(implementation)) {
    throw new Error(`Error in csrMatMul: implementation must be one of auto, kernel, composed; got ${implementation}`);
  }
  checkCsrMatrix(a, 'csrMatMul');
  // Kernels are registered by call, never on import (kernels/register.ts); idempotent and cheap,
  // so inference and training find the kernel whoever set the backend up, and in whatever order.
  registerCsrMatMulKernels();
  if (!(dense instanceof tf.Tensor) || dense.rank !== 2 || dense.dtype !== 'float32') {
    throw new Error(`Error in csrMatMul: dense must be a float32 tensor of rank 2, got ${describe(dense)}`);
  }
  const expectedRows = transpose ? a.numRows : a.numCols;
  if (dense.shape[0] !== expectedRows) {
    throw new Error(
      `Error in csrMatMul: dense must have ${expectedRows} rows for a ${a.numRows} x ${a.numCols} matrix` +
        `${transpose ? ' (transposed)' : ''}, got shape [${dense.shape}]`,
    );
  }
  return differentiableCsrMatMul(a, dense, transpose, implementation);
}

function describe(x: unknown): string {
  return x instanceof tf.Tensor ? `${x.dtype} [${x.shape}]` : typeof x;
}

function differentiableCsrMatMul(
  a: CsrMatrix,
  dense: tf.Tensor2D,
  transpose: boolean,
  implementation: CsrMatMulImplementation,
): tf.Tensor2D {
  const op = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
    value: applyCsr(a, x as tf.Tensor2D, transpose, implementation),
    // d(A X)/dX applied to dy is A^T dy; built from the same JS matrix, so nothing is saved.
    gradFunc: (dy: tf.Tensor2D) => differentiableCsrMatMul(a, dy, !transpose, implementation),
  }));
  return op(dense) as tf.Tensor2D;
}

function applyCsr(
  a: CsrMatrix,
  dense: tf.Tensor2D,
  transpose: boolean,
  implementation: CsrMatMulImplementation,
): tf.Tensor2D {
  const channels = dense.shape[1];
  const outRows = transpose ? a.numCols : a.numRows;
  const hasKernel = tf.getKernel(CSR_MATMUL_KERNEL, tf.getBackend()) !== undefined;
  if (implementation === 'kernel' && !hasKernel) {
    throw new Error(`Error in csrMatMul: no ${CSR_MATMUL_KERNEL} kernel for backend ${tf.getBackend()}`);
  }
  if (outRows * channels === 0 || a.rowPtr[a.numRows] === 0) return tf.zeros([outRows, channels]);
  if (implementation === 'composed' || !hasKernel) {
    return transpose ? composedTransposed(a, dense) : composedForward(a, dense);
  }
  return tf.tidy(() => {
    const inputs = {
      rowPtr: tf.tensor1d(a.rowPtr, 'int32'),
      colIdx: tf.tensor1d(a.colIdx, 'int32'),
      values: tf.tensor1d(a.values, 'float32'),
      dense,
    };
    const attrs = { transpose, numCols: a.numCols };
    return tf.engine().runKernel(CSR_MATMUL_KERNEL, inputs, attrs) as tf.Tensor2D;
  });
}

/** Row index of each entry: [nnz]. */
function entryRows(a: CsrMatrix): Int32Array {
  const rows = new Int32Array(a.rowPtr[a.numRows]);
  for (let r = 0; r < a.numRows; r++) rows.fill(r, a.rowPtr[r], a.rowPtr[r + 1]);
  return rows;
}

/** `A @ X` as gather + mul + scatterND (sums duplicates), in chunks of whole rows. */
function composedForward(a: CsrMatrix, dense: tf.Tensor2D): tf.Tensor2D {
  const channels = dense.shape[1];
  const rows = entryRows(a);
  const maxEntries = Math.max(1, Math.floor(COMPOSED_CHUNK_ELEMENTS / channels));
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    let r0 = 0;
    while (r0 < a.numRows) {
      let r1 = r0 + 1;
      while (r1 < a.numRows && a.rowPtr[r1 + 1] - a.rowPtr[r0] <= maxEntries) r1++;
      const e0 = a.rowPtr[r0];
      const e1 = a.rowPtr[r1];
      if (e1 === e0) {
        parts.push(tf.zeros([r1 - r0, channels]));
      } else {
        const local = rows.subarray(e0, e1).map((r) => r - r0);
        const picked = tf.gather(dense, tf.tensor1d(a.colIdx.subarray(e0, e1), 'int32')); // [e, C]
        const weighted = tf.mul(picked, tf.tensor2d(a.values.subarray(e0, e1), [e1 - e0, 1]));
        parts.push(tf.scatterND(tf.tensor2d(local, [e1 - e0, 1], 'int32'), weighted, [r1 - r0, channels]) as tf.Tensor2D);
      }
      r0 = r1;
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  });
}

/** `A^T @ X` as gather + mul + scatterND into [numCols, C], chunks of entries summed. */
function composedTransposed(a: CsrMatrix, dense: tf.Tensor2D): tf.Tensor2D {
  const channels = dense.shape[1];
  const rows = entryRows(a);
  const nnz = rows.length;
  const maxEntries = Math.max(1, Math.floor(COMPOSED_CHUNK_ELEMENTS / channels));
  return tf.tidy(() => {
    let total: tf.Tensor2D | null = null;
    for (let e0 = 0; e0 < nnz; e0 += maxEntries) {
      const e1 = Math.min(nnz, e0 + maxEntries);
      const picked = tf.gather(dense, tf.tensor1d(rows.subarray(e0, e1), 'int32')); // [e, C]
      const weighted = tf.mul(picked, tf.tensor2d(a.values.subarray(e0, e1), [e1 - e0, 1]));
      const targets = tf.tensor2d(a.colIdx.subarray(e0, e1), [e1 - e0, 1], 'int32');
      const part = tf.scatterND(targets, weighted, [a.numCols, channels]) as tf.Tensor2D;
      total = total === null ? part : tf.add<tf.Tensor2D>(total, part);
    }
    return total ?? tf.zeros([a.numCols, channels]);
  });
}
