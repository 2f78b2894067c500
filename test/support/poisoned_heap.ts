/**
 * Poisons the wasm backend's heap: every block the backend allocates for a tensor starts filled
 * with NaN (all bits set) instead of whatever an earlier tensor left there. A kernel that reads
 * memory it never wrote, or writes only part of its output, then gives NaN every time instead
 * of at random, so a comparison with the cpu backend catches it.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmModuleLike {
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
}

/**
 * Poisons the heap of the current (wasm) backend until the returned function is called.
 *
 * @example
 * ```ts
 * const restore = poisonWasmHeap();
 * try { ...kernels under test... } finally { restore(); }
 * ```
 */
export function poisonWasmHeap(): () => void {
  if (tf.getBackend() !== 'wasm') throw new Error(`poisonWasmHeap: the backend is ${tf.getBackend()}, not wasm`);
  const wasm = (tf.backend() as unknown as { wasm: WasmModuleLike }).wasm;
  const malloc = wasm._malloc;
  wasm._malloc = (bytes: number): number => {
    const offset = malloc.call(wasm, bytes) >>> 0;
    // Read HEAPU8 after the call: the allocation may have grown (and replaced) the heap.
    if (offset !== 0) wasm.HEAPU8.fill(0xff, offset, offset + bytes);
    return offset;
  };
  return () => {
    wasm._malloc = malloc;
  };
}
