/**
 * Faster `Conv2DBackpropInput` for the wasm backend (the input gradient of conv2d, and the
 * forward pass of conv2dTranspose).
 *
 * Why: the built-in wasm kernel is a naive loop, ~10x slower than the XNNPACK forward conv.
 * Re-expressed on XNNPACK:
 * - 1x1 filters without padding: dx = dY @ W^T at the strided pixels ([N, Co] @ [Co, Ci]),
 *   scattered back to the stride grid when the stride is > 1.
 * - other filters: dx = conv(dy zero-dilated by the stride, W flipped in space with its
 *   channel axes swapped), stride 1, padding FH-1-padTop on top (and so on).
 * With stride > 1 the zero-dilated form wastes (stride^2 - 1)/stride^2 of its work, so it only
 * pays while XNNPACK's advantage is larger than that: {@link useXnnpackForInputGrad} holds the
 * rule we measured (bench/kernels_bench.ts). Everything else (NCHW, unusual padding) goes to
 * the built-in kernel.
 *
 * Shapes: dy [B, OH, OW, Co], filter [FH, FW, Ci, Co], attrs inputShape [B, H, W, Ci] -> dx [B, H, W, Ci].
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2dGeometry, conv2dGeometry, dyShapeNhwc } from './conv2d_geometry';
import { builtinKernel, KernelArgs, kernelInput, KernelScope, sizeOf, WasmBackendLike } from './wasm_backend_ops';

const NAME = 'Conv2DBackpropInput';

/**
 * Whether the XNNPACK formulation is used for this geometry. Measured on Node 20, single-thread
 * wasm SIMD (bench/kernels_bench.ts): always faster for stride 1 and for 1x1 filters; for
 * stride 2 it wins on 3x3 filters but loses on the 7x7 stem, whose built-in loop is kept.
 */
export function useXnnpackForInputGrad(g: Conv2dGeometry): boolean {
  if (g.channelsFirst) return false;
  if (g.filterHeight === 1 && g.filterWidth === 1) return g.padTop === 0 && g.padLeft === 0;
  if (g.strideHeight === 1 && g.strideWidth === 1) return true;
  return g.filterHeight * g.filterWidth <= 9 && g.strideHeight <= 2 && g.strideWidth <= 2;
}

/** W [FH, FW, Ci, Co] -> W' [FH, FW, Co, Ci] with W'[i, j] = W[FH-1-i, FW-1-j]^T. */
function flippedFilter(scope: KernelScope, filter: tf.TensorInfo): tf.TensorInfo {
  const [FH, FW, Ci, Co] = filter.shape;
  // [FH, FW, Ci, Co] -> [FH, FW, Co, Ci]
  const swapped = scope.transpose(filter, [0, 1, 3, 2]);
  const out = scope.alloc([FH, FW, Co, Ci]);
  const src = scope.view(swapped) as Float32Array;
  const dst = scope.view(out) as Float32Array;
  const block = Co * Ci;
  for (let i = 0; i < FH; i++) {
    for (let j = 0; j < FW; j++) {
      const s = ((FH - 1 - i) * FW + (FW - 1 - j)) * block;
      dst.set(src.subarray(s, s + block), (i * FW + j) * block);
    }
  }
  return out;
}

/**
 * Places src [B, OH, OW, C] at rows oh*sh + offH and cols ow*sw + offW of a zero tensor
 * [B, outH, outW, C].
 */
function spreadOnGrid(
  scope: KernelScope,
  src: tf.TensorInfo,
  outH: number,
  outW: number,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [B, OH, OW, C] = src.shape;
  const out = scope.zeros([B, outH, outW, C]);
  const s = scope.view(src) as Float32Array;
  const d = scope.view(out) as Float32Array;
  let i = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const row = (b * outH + oh * sh) * outW;
      for (let ow = 0; ow < OW; ow++) {
        d.set(s.subarray(i, i + C), (row + ow * sw) * C);
        i += C;
      }
    }
  }
  return out;
}

/** dx for NHWC dy, or undefined when the geometry needs padding the XNNPACK form cannot express. */
function inputGradNhwc(
  scope: KernelScope,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: Conv2dGeometry,
): tf.TensorInfo | undefined {
  const { batch: B, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = g;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  const { strideHeight: sh, strideWidth: sw } = g;

  if (FH === 1 && FW === 1) {
    // [B, OH, OW, Co] -> [B*OH*OW, Co]; [1, 1, Ci, Co] -> [Ci, Co]
    const dy2 = scope.reshape(dy, [B * OH * OW, Co]);
    const w2 = scope.reshape(filter, [Ci, Co]);
    const dx2 = scope.matMul2d(dy2, w2, false, true);
    // [B*OH*OW, Ci] -> [B, OH, OW, Ci]
    const dx4 = scope.reshape(dx2, [B, OH, OW, Ci]);
    if (sh === 1 && sw === 1 && OH === H && OW === W) return dx4;
    return spreadOnGrid(scope, dx4, H, W, sh, sw);
  }

  const top = FH - 1 - g.padTop;
  const left = FW - 1 - g.padLeft;
  const bottom = H - 1 - (OH - 1) * sh + g.padTop;
  const right = W - 1 - (OW - 1) * sw + g.padLeft;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  const dilated = sh === 1 && sw === 1 ? dy : spreadOnGrid(scope, dy, (OH - 1) * sh + 1, (OW - 1) * sw + 1, sh, sw);
  const flipped = flippedFilter(scope, filter);
  return scope.conv2d(dilated, flipped, [1, 1], [1, 1], [top, bottom, left, right]);
}

/**
 * The registered `Conv2DBackpropInput` kernel function (wasm); calls the built-in kernel where
 * {@link useXnnpackForInputGrad} says it is faster.
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2dBackpropInputWasm });
 * const y = tf.conv2dTranspose(x, w, [1, 14, 14, 256], 2, 'valid'); // mask head upsampling
 * ```
 */
export function conv2dBackpropInputWasm(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const dy = kernelInput(args, 'dy', NAME);
  const filter = kernelInput(args, 'filter', NAME);
  const inputShape = args.attrs?.inputShape;
  if (!Array.isArray(inputShape)) throw new Error(`Error in ${NAME}: attribute inputShape is missing`);
  const g = conv2dGeometry(NAME, inputShape as number[], filter.shape, args.attrs);
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || !useXnnpackForInputGrad(g)) {
    return builtinKernel(NAME)(args);
  }
  const expected = dyShapeNhwc(g);
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`Error in ${NAME}: dy has shape [${dy.shape}], the conv output is [${expected}]`);
  }
  if (sizeOf(dy.shape) === 0 || sizeOf(filter.shape) === 0) return builtinKernel(NAME)(args);
  const scope = new KernelScope(args.backend as WasmBackendLike, NAME);
  try {
    const dx = inputGradNhwc(scope, dy, filter, g);
    if (dx === undefined) return builtinKernel(NAME)(args);
    return scope.release(dx);
  } finally {
    scope.dispose();
  }
}
