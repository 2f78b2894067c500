/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it (so `tf.gather` has no gradient on
 * wasm without this kernel).
 *
 * out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] == s, expressed as the wasm
 * scatterND kernel, which sums duplicate indices.
 *
 * Ids outside [0, numSegments) are dropped, as the cpu backend and TensorFlow do. The wasm
 * scatterND does not check bounds (it would write outside its output), so ids are validated
 * here; when some are out of range they are redirected to one extra scratch row that is cut off.
 *
 * Shapes: x [...idsShape, ...rest], segmentIds idsShape (int32) -> [numSegments, ...rest].
 */
import * as tf from '@tensorflow/tfjs';
import { KernelArgs, kernelInput, KernelScope, sizeOf, WasmBackendLike } from './wasm_backend_ops';

const NAME = 'UnsortedSegmentSum';

/**
 * The registered `UnsortedSegmentSum` kernel function (wasm).
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm });
 * tf.grad((t: tf.Tensor) => tf.gather(t, [2, 0, 2]).sum())(x); // gather's gradient now runs on wasm
 * ```
 */
export function unsortedSegmentSumWasm(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', NAME);
  const ids = kernelInput(args, 'segmentIds', NAME);
  const numSegments = Number(args.attrs?.numSegments);
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`Error in ${NAME}: numSegments must be a non-negative integer, got ${String(args.attrs?.numSegments)}`);
  }
  if (ids.dtype !== 'int32') throw new Error(`Error in ${NAME}: segmentIds must be int32, got ${ids.dtype}`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`Error in ${NAME}: x must be float32 or int32, got ${x.dtype}`);
  }
  const idsRank = ids.shape.length;
  if (x.shape.length < idsRank || ids.shape.some((d, i) => x.shape[i] !== d)) {
    throw new Error(`Error in ${NAME}: segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  const rest = x.shape.slice(idsRank);
  const m = sizeOf(ids.shape);
  const inner = sizeOf(rest);
  const outShape = [numSegments, ...rest];

  const scope = new KernelScope(args.backend as WasmBackendLike, NAME);
  try {
    if (m === 0 || inner === 0 || numSegments === 0) {
      return scope.release(scope.zeros(outShape, x.dtype));
    }
    const idValues = scope.view(ids) as Int32Array;
    let invalid = false;
    for (let i = 0; i < m; i++) {
      const s = idValues[i];
      if (s < 0 || s >= numSegments) {
        invalid = true;
        break;
      }
    }
    // [...idsShape, ...rest] -> [m, inner]
    const updates = scope.reshape(x, [m, inner]);
    if (!invalid) {
      // idsShape -> [m, 1]
      const indices = scope.reshape(ids, [m, 1]);
      const summed = scope.run('ScatterNd', { indices, updates }, { shape: [numSegments, inner] });
      // [numSegments, inner] -> [numSegments, ...rest]
      return scope.release(scope.reshape(summed, outShape));
    }
    // Out-of-range ids go to scratch row numSegments, which is dropped below.
    const redirected = scope.alloc([m, 1], 'int32');
    const src = scope.view(ids) as Int32Array;
    const dst = scope.view(redirected) as Int32Array;
    for (let i = 0; i < m; i++) {
      const s = src[i];
      dst[i] = s < 0 || s >= numSegments ? numSegments : s;
    }
    const summed = scope.run('ScatterNd', { indices: redirected, updates }, { shape: [numSegments + 1, inner] });
    const out = scope.alloc(outShape, x.dtype);
    // The first numSegments rows of [numSegments + 1, inner] are contiguous.
    scope.view(out).set(scope.view(summed).subarray(0, numSegments * inner));
    return scope.release(out);
  } finally {
    scope.dispose();
  }
}
