/**
 * Building blocks for wasm kernels written in TypeScript: calls into the wasm backend's own
 * kernels (XNNPACK conv, transpose, scatterND, ...) at the TensorInfo level, plus a scope that
 * frees intermediates.
 *
 * Why TensorInfo level and not tf ops: a kernel runs inside the engine's kernel call, and ops
 * called from there would be taped and tracked by the engine; backend kernels are neither, so the
 * only bookkeeping is the backend's reference count, which {@link KernelScope} handles.
 *
 * Pitfalls this module encodes (see docs in the kernels): the wasm heap can grow during any
 * allocation, which detaches every typed-array view taken before it, so views are taken after
 * the last allocation of a step; a failed malloc returns offset 0 unchecked, so every output is
 * checked and a clear error is thrown instead of writing over address 0.
 */
import * as tf from '@tensorflow/tfjs';

/** Typed views of the wasm heap. */
export type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * What we use of tfjs-backend-wasm's `BackendWasm`, structurally (its class type exposes
 * internals we do not want in our public types).
 */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): HeapArray;
  getMemoryOffset(dataId: object): number;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** Kernel arguments as the engine passes them. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}

/** A kernel function of the wasm backend. */
export type WasmKernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * The backend's own kernels, captured before we replace any (so `BatchMatMul` here is always
 * the built-in one, not our wrapper). Filled by {@link rememberBuiltinKernel}.
 */
const builtins = new Map<string, WasmKernelFunc>();

/** Records the built-in wasm kernel `name` (only the first time, so ours never shadows it). */
export function rememberBuiltinKernel(name: string, func: WasmKernelFunc): void {
  if (!builtins.has(name)) builtins.set(name, func);
}

/**
 * The built-in wasm kernel `name`; throws when the wasm backend does not provide it.
 *
 * @example
 * ```ts
 * const out = builtinKernel('Transpose')({ inputs: { x }, backend, attrs: { perm: [1, 0] } });
 * ```
 */
export function builtinKernel(name: string): WasmKernelFunc {
  const saved = builtins.get(name);
  if (saved !== undefined) return saved;
  const config = tf.getKernel(name, 'wasm');
  if (config === undefined) {
    throw new Error(`Error in wasm training kernels: the wasm backend has no '${name}' kernel`);
  }
  return config.kernelFunc as WasmKernelFunc;
}

/**
 * The `[K, N]` each data id was first handed to XNNPACK's fully-connected operator with, as the
 * weights operand `b`. See {@link KernelScope.matMul2d}: the wasm backend caches that operator
 * by `b`'s tensor id alone, so an id must never reach it with two shapes.
 */
const xnnWeightShapes = new WeakMap<object, string>();

/** Size of a shape (product of its dims; 1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Owns the intermediates of one kernel call: everything passed to {@link KernelScope.track} is
 * released by {@link KernelScope.dispose}, except what was handed out with
 * {@link KernelScope.release}. Use in `try { ... } finally { scope.dispose(); }`.
 *
 * @example
 * ```ts
 * const scope = new KernelScope(args.backend as WasmBackendLike, 'MyKernel');
 * try {
 *   const at = scope.transpose(a, [1, 0]);          // freed by dispose()
 *   return scope.release(scope.matMul2d(at, b, false, false)); // handed to the engine
 * } finally {
 *   scope.dispose();
 * }
 * ```
 */
export class KernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  constructor(
    readonly backend: WasmBackendLike,
    /** Kernel name for error messages. */
    readonly kernelName: string,
  ) {}

  /** Takes ownership of `info` (one backend reference) and returns it. */
  track(info: tf.TensorInfo): tf.TensorInfo {
    this.checkAllocated(info);
    this.owned.push(info);
    return info;
  }

  /** Gives up ownership of `info` (the kernel's output) and returns it. */
  release(info: tf.TensorInfo): tf.TensorInfo {
    const i = this.owned.indexOf(info);
    if (i >= 0) this.owned.splice(i, 1);
    return info;
  }

  /** Releases every tracked intermediate (one reference each). */
  dispose(): void {
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.length = 0;
  }

  /** A new uninitialised tensor on the heap, tracked. */
  alloc(shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
    return this.track(this.backend.makeOutput(shape, dtype));
  }

  /** A new zero-filled float32/int32 tensor, tracked. */
  zeros(shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
    const info = this.alloc(shape, dtype);
    this.view(info).fill(0);
    return info;
  }

  /** Heap view of `info`; valid only until the next allocation. */
  view(info: tf.TensorInfo): HeapArray {
    return this.backend.typedArrayFromHeap(info);
  }

  /** Runs the built-in wasm kernel `name` and tracks its output. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const out = builtinKernel(name)({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`Error in ${this.kernelName}: '${name}' returned several outputs`);
    return this.track(out);
  }

  /** A view of `x` with another shape (shares data; one more reference, tracked). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    if (sizeOf(shape) !== sizeOf(x.shape)) {
      throw new Error(`Error in ${this.kernelName}: cannot reshape [${x.shape}] to [${shape}]`);
    }
    this.backend.incRef(x.dataId);
    return this.track({ dataId: x.dataId, shape, dtype: x.dtype });
  }

  /** `tf.transpose(x, perm)` with the wasm kernel (a copy; a reshape when only size-1 dims move). */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    const outShape = perm.map((p) => x.shape[p]);
    const moved = perm.filter((p) => x.shape[p] !== 1);
    if (moved.every((p, i) => i === 0 || moved[i - 1] < p)) return this.reshape(x, outShape);
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * XNNPACK conv2d, NHWC, with explicit padding `[top, bottom, left, right]`.
   * x [B, H, W, Cin], filter [FH, FW, Cin, Cout] -> [B, Ho, Wo, Cout].
   */
  conv2d(
    x: tf.TensorInfo,
    filter: tf.TensorInfo,
    strides: [number, number],
    dilations: [number, number],
    pad: [number, number, number, number],
  ): tf.TensorInfo {
    const explicit = [
      [0, 0],
      [pad[0], pad[1]],
      [pad[2], pad[3]],
      [0, 0],
    ];
    return this.run('Conv2D', { x, filter }, { strides, dilations, pad: explicit, dataFormat: 'NHWC' });
  }

  /**
   * `op(a) @ op(b)` for 2-D float32 operands through XNNPACK's fully-connected operator. The
   * built-in kernel falls back to a naive loop whenever a transpose flag is set (6-11x slower),
   * so operands are transposed explicitly. Of the two equivalent products, C = op(a) @ op(b)
   * and C = (op(b)^T @ op(a)^T)^T, the one that moves fewer floats is used (explicit
   * transposes, XNNPACK's packing of its right operand, and the output transpose): for the
   * input gradient of a wide dense layer, dY [512, 1024] @ W^T with W [12544, 1024], this avoids
   * transposing and packing all of W.
   *
   * The operand that becomes XNNPACK's weights is never handed over under a data id that has
   * already been used with another `[K, N]`: tfjs-backend-wasm 4.22 caches the fully-connected
   * operator (the packed weights and their dimensions) under the key (b's tensor id, bias id,
   * activation), reading b's shape only when it creates the operator. A reshape shares its
   * source's id, so without this check the same id used as `[Co, 1]` and later as `[1, Co]`
   * (the input and filter gradients of a 1x1 conv over a 1x1 feature map) reuses the first
   * operator: it reads past `a` and fills only part of the output, the rest keeping whatever the
   * heap held. That was the random NaN (or silently wrong) gradient of `rpn.head.bbox_pred` on
   * the FPN 'pool' level of small training images.
   * a [M, K] (or [K, M] with transposeA), b [K, N] (or [N, K]) -> [M, N].
   */
  matMul2d(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
    const M = transposeA ? a.shape[1] : a.shape[0];
    const K = transposeA ? a.shape[0] : a.shape[1];
    const N = transposeB ? b.shape[0] : b.shape[1];
    const direct = (transposeA ? M * K : 0) + (transposeB ? K * N : 0) + K * N;
    const swapped = (transposeB ? 0 : K * N) + (transposeA ? 0 : M * K) + M * K + M * N;
    if (swapped < direct) {
      // C^T = op(b)^T @ op(a)^T: [N, K] @ [K, M] -> [N, M]
      return this.transpose(this.matMulNoFlags(b, a, !transposeB, !transposeA), [1, 0]);
    }
    return this.matMulNoFlags(a, b, transposeA, transposeB);
  }

  /** `op(a) @ op(b)` with the flagged operands transposed explicitly first. */
  private matMulNoFlags(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
    const a2 = transposeA ? this.transpose(a, [1, 0]) : a;
    const b2 = transposeB ? this.transpose(b, [1, 0]) : b;
    // [M, K] -> [1, M, K]; [K, N] -> [1, K, N]
    const a3 = this.reshape(a2, [1, a2.shape[0], a2.shape[1]]);
    const b3 = this.reshape(this.weightsOperand(b2), [1, b2.shape[0], b2.shape[1]]);
    const out = this.run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    // [1, M, N] -> [M, N]
    return this.reshape(out, [a2.shape[0], b2.shape[1]]);
  }

  /**
   * `b` itself when its data id has not reached XNNPACK's fully-connected operator with another
   * shape, else a private copy (a new id). See {@link KernelScope.matMul2d}.
   */
  private weightsOperand(b: tf.TensorInfo): tf.TensorInfo {
    const shape = `${b.shape[0]}x${b.shape[1]}`;
    const seen = xnnWeightShapes.get(b.dataId);
    if (seen === undefined) {
      xnnWeightShapes.set(b.dataId, shape);
      return b;
    }
    if (seen === shape) return b;
    const copy = this.alloc([...b.shape], b.dtype);
    this.view(copy).set(this.view(b));
    xnnWeightShapes.set(copy.dataId, shape);
    return copy;
  }

  /** Throws when the wasm heap could not hold `info` (malloc returned 0). */
  checkAllocated(info: tf.TensorInfo): void {
    if (sizeOf(info.shape) > 0 && this.backend.getMemoryOffset(info.dataId) === 0) {
      throw new Error(
        `Error in ${this.kernelName}: the wasm heap (4 GB at most) could not hold a ` +
          `[${info.shape}] ${info.dtype} tensor`,
      );
    }
  }
}

/** Reads a `[number, number]` or number attribute (strides, dilations). */
export function pairAttr(value: unknown, kernelName: string, attrName: string): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number];
  }
  throw new Error(`Error in ${kernelName}: attribute ${attrName} must be a number or a pair, got ${String(value)}`);
}

/** Fetches a named kernel input or throws a clear error. */
export function kernelInput(args: KernelArgs, name: string, kernelName: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`Error in ${kernelName}: input '${name}' is missing`);
  return t;
}
