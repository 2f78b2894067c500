/**
 * A guard against the wasm backend's 4 GiB heap limit.
 *
 * The wasm backend keeps every tensor in one WebAssembly memory that grows on demand, never
 * shrinks, and cannot pass 4 GiB (wasm32). When an allocation no longer fits, its malloc returns
 * 0 unchecked and the tensor is placed at address 0, silently corrupting other tensors: training
 * continues with garbage instead of failing. Checking the heap size between steps turns that
 * into a clear error while there is still headroom, and the heap is a high-water mark (it holds
 * the largest step so far), so a heap near the cap means the next step of the same size may
 * overflow it.
 *
 * On every other backend (cpu, webgl, tensorflow) the functions here do nothing.
 */
import * as tf from '@tensorflow/tfjs';

const GIB = 1024 ** 3;
/** The wasm32 memory limit the wasm backend is built with: 4 GiB. */
export const WASM_HEAP_CAP_BYTES = 4 * GIB;
/** Default limit of {@link checkHeap}: 3.5 GiB, half a GiB below the cap. */
export const DEFAULT_HEAP_LIMIT_BYTES = 3.5 * GIB;

/** The part of the wasm backend this module reads: its Emscripten module's byte view of memory. */
interface WasmBackendLike {
  readonly wasm?: { readonly HEAPU8?: Uint8Array };
}

function gib(bytes: number): string {
  return (bytes / GIB).toFixed(2);
}

/**
 * Current size of the wasm backend's memory in bytes (its high-water mark, since it never
 * shrinks), or undefined when the active backend is not wasm.
 *
 * @example
 * ```ts
 * const bytes = wasmHeapBytes();
 * if (bytes !== undefined) console.log(`wasm heap ${(bytes / 2 ** 30).toFixed(2)} GiB`);
 * ```
 */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() === undefined) return undefined;
  // The Emscripten module replaces HEAPU8 whenever memory grows, so it always spans all of it.
  const heap = (tf.backend() as unknown as WasmBackendLike).wasm?.HEAPU8;
  return heap instanceof Uint8Array ? heap.buffer.byteLength : undefined;
}

/**
 * Throws when the wasm heap has grown past `limitBytes`, with advice on how to shrink the work;
 * returns the heap size (undefined on other backends, where it never throws). Call it between
 * training steps. Creates no tensors.
 *
 * @param context what was running, for the message (`"epoch 2, step 1400"`).
 * @param limitBytes default {@link DEFAULT_HEAP_LIMIT_BYTES} (3.5 GiB); at most the 4 GiB cap.
 *
 * @example
 * ```ts
 * for (const batch of loader) {
 *   trainStep(batch);
 *   checkHeap(`epoch ${epoch}, step ${step}`);
 * }
 * ```
 */
export function checkHeap(context: string, limitBytes: number = DEFAULT_HEAP_LIMIT_BYTES): number | undefined {
  if (typeof context !== 'string') throw new Error(`Error in checkHeap: context must be a string, got ${typeof context}`);
  if (typeof limitBytes !== 'number' || !(limitBytes > 0) || limitBytes > WASM_HEAP_CAP_BYTES) {
    throw new Error(`Error in checkHeap: limitBytes must be in (0, ${WASM_HEAP_CAP_BYTES}] (the 4 GiB cap), got ${String(limitBytes)}`);
  }
  const bytes = wasmHeapBytes();
  if (bytes !== undefined && bytes > limitBytes) {
    throw new Error(
      `Error in checkHeap (${context}): the wasm heap is at ${gib(bytes)} GiB of its 4 GiB cap (limit ${gib(limitBytes)} GiB). ` +
        'Past the cap, allocations fail silently and corrupt tensors, so training stops here. ' +
        'Use smaller images (minSize/maxSize) or a smaller batch size, or train on the tensorflow backend (tfjs-node), which has no such cap.',
    );
  }
  return bytes;
}

/** Input of {@link estimateTrainingBytes}. */
export interface TrainingSizeArgs {
  /** Images per step. */
  readonly batch: number;
  /** Padded batch height and width in pixels (after resizing, e.g. 800 x 1344). */
  readonly height: number;
  readonly width: number;
  /** Memory per input pixel for activations and their gradients; default {@link TRAINING_BYTES_PER_PIXEL}. */
  readonly bytesPerPixel?: number;
  /** Memory per image that does not scale with its size (RoI heads); default {@link TRAINING_BYTES_PER_IMAGE}. */
  readonly bytesPerImage?: number;
  /** Memory independent of the batch (weights, gradients, optimizer slots); default {@link TRAINING_FIXED_BYTES}. */
  readonly fixedBytes?: number;
}

/**
 * Memory per input pixel of a training step: activations kept for the backward pass and the
 * gradients alive at its peak. Measured on wasm (tf.profile peakBytes of a ResNet-50-FPN
 * forward + backward with torchvision's 3 trainable stages, batch 1, 128^2 to 512^2 images):
 * 6220 B/px, linear within 0.1%; plus ~400 B/px counted for the RPN head on the five levels.
 */
export const TRAINING_BYTES_PER_PIXEL = 6600;
/**
 * Per image: box head on 512 sampled RoIs (7x7x256 pooled + two 1024 fc layers) and mask head
 * on up to 128 positive RoIs (14x14x256 through four convs and a deconvolution), with gradients.
 * Counted from the shapes, not measured.
 */
export const TRAINING_BYTES_PER_IMAGE = 300 * 1024 ** 2;
/**
 * Independent of the batch: ~380 MiB measured for the backbone's gradients and transients (the
 * intercept of the measurement above), ~170 MiB of weights, two optimizer slots per trainable
 * weight (up to ~340 MiB) and the heads' gradients.
 */
export const TRAINING_FIXED_BYTES = 1024 ** 3;

/**
 * A rough estimate of the peak memory of one Mask R-CNN (ResNet-50-FPN) training step, to
 * choose image sizes and batch sizes that fit the wasm heap before starting. The per-pixel term
 * (the one that dominates) is measured, the others are counted: expect +-20%.
 *
 * @example
 * ```ts
 * estimateTrainingBytes({ batch: 1, height: 800, width: 1344 }) / 2 ** 30; // ~7.9 GiB: no fit on wasm
 * estimateTrainingBytes({ batch: 1, height: 512, width: 512 }) / 2 ** 30;  // ~2.9 GiB: fits
 * ```
 */
export function estimateTrainingBytes(args: TrainingSizeArgs): number {
  for (const k of ['batch', 'height', 'width'] as const) {
    const v = args?.[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new Error(`Error in estimateTrainingBytes: ${k} must be a positive integer, got ${String(v)}`);
    }
  }
  for (const k of ['bytesPerPixel', 'bytesPerImage', 'fixedBytes'] as const) {
    const v = args[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new Error(`Error in estimateTrainingBytes: ${k} must be a non-negative number, got ${String(v)}`);
    }
  }
  const perPixel = args.bytesPerPixel ?? TRAINING_BYTES_PER_PIXEL;
  const perImage = args.bytesPerImage ?? TRAINING_BYTES_PER_IMAGE;
  const fixed = args.fixedBytes ?? TRAINING_FIXED_BYTES;
  return fixed + args.batch * (args.height * args.width * perPixel + perImage);
}
