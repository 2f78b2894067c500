/**
 * `Conv2DBackpropFilter` for the wasm backend, which lacks it (so conv2d and conv2dTranspose
 * have no filter gradient on wasm without this kernel).
 *
 * dW[fh, fw, ci, co] = sum over b, oh, ow of x[b, oh*sh + fh - padTop, ow*sw + fw - padLeft, ci]
 *                      * dy[b, oh, ow, co]
 *
 * On XNNPACK GEMMs:
 * - 1x1 filters without padding: dW = X^T @ dY with X the (strided) input pixels [B*OH*OW, Ci]
 *   and dY [B*OH*OW, Co]: one GEMM.
 * - other filters ('taps'): one GEMM per filter tap, A^T [Ci, B*OH*OW] @ dY, with A the pixels
 *   that tap reads. 1.3-1.6x the forward conv's time in bench/kernels_bench.ts.
 * - the alternative 'dilated-conv' form (the sum above is a stride-1 conv in which Ci plays the
 *   batch, B the input channels and dy the filter, dilated by the stride) is kept selectable for
 *   the benchmark: it measured 3.0-3.4x the forward conv on ResNet 3x3 layers (XNNPACK reads one
 *   float per indirection entry when B = 1), so 'taps' is the default.
 * The cpu backend's loop is ~1000x slower than either.
 *
 * Shapes: x [B, H, W, Ci] (NCHW: [B, Ci, H, W]), dy [B, OH, OW, Co] (NCHW: [B, Co, OH, OW]),
 * attrs filterShape [FH, FW, Ci, Co] -> dW [FH, FW, Ci, Co].
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2dGeometry, conv2dGeometry, dyShapeNhwc } from './conv2d_geometry';
import { KernelArgs, kernelInput, KernelScope, WasmBackendLike } from './wasm_backend_ops';

const NAME = 'Conv2DBackpropFilter';

/**
 * Copies x[b, oh*sh, ow*sw, :] for oh < outH, ow < outW into a new [B*outH*outW, C] tensor
 * (the pixels a 1x1 strided conv reads).
 */
function stridedPixels(scope: KernelScope, x: tf.TensorInfo, g: Conv2dGeometry): tf.TensorInfo {
  const [B, H, W, C] = x.shape;
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = g;
  const out = scope.alloc([B * OH * OW, C]);
  const src = scope.view(x) as Float32Array;
  const dst = scope.view(out) as Float32Array;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const row = (b * H + oh * sh) * W;
      for (let ow = 0; ow < OW; ow++) {
        const s = (row + ow * sw) * C;
        dst.set(src.subarray(s, s + C), o);
        o += C;
      }
    }
  }
  return out;
}

/** The first `h` rows and `w` columns of x [B, H, W, C] as a new tensor. */
function cropTopLeft(scope: KernelScope, x: tf.TensorInfo, h: number, w: number): tf.TensorInfo {
  const [B, H, W, C] = x.shape;
  if (h === H && w === W) return x;
  const out = scope.alloc([B, h, w, C]);
  const src = scope.view(x) as Float32Array;
  const dst = scope.view(out) as Float32Array;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < h; r++) {
      const s = (b * H + r) * W * C;
      dst.set(src.subarray(s, s + w * C), o);
      o += w * C;
    }
  }
  return out;
}

/** How the general (not 1x1) filter gradient is computed; see the file comment. */
export type FilterGradMethod = 'taps' | 'dilated-conv';

/** dW by the dilated-conv formulation. Returns a tracked [FH, FW, Ci, Co] tensor. */
function filterGradDilatedConv(scope: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: Conv2dGeometry): tf.TensorInfo {
  const { inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = g;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  // Bottom/right padding that makes the dilated conv produce exactly FH x FW outputs; negative
  // when trailing input rows/cols are never read (e.g. 'valid' with a stride that does not
  // divide), in which case those rows are cropped instead.
  const padBottom = FH + (OH - 1) * g.strideHeight - g.padTop - H;
  const padRight = FW + (OW - 1) * g.strideWidth - g.padLeft - W;
  const xc = cropTopLeft(scope, x, H + Math.min(padBottom, 0), W + Math.min(padRight, 0));
  // [B, H, W, Ci] -> [Ci, H, W, B]
  const xt = scope.transpose(xc, [3, 1, 2, 0]);
  // [B, OH, OW, Co] -> [OH, OW, B, Co]
  const dyt = scope.transpose(dy, [1, 2, 0, 3]);
  const dwt = scope.conv2d(
    xt,
    dyt,
    [1, 1],
    [g.strideHeight, g.strideWidth],
    [g.padTop, Math.max(padBottom, 0), g.padLeft, Math.max(padRight, 0)],
  );
  if (dwt.shape[1] !== FH || dwt.shape[2] !== FW) {
    throw new Error(`Error in ${NAME}: internal conv produced [${dwt.shape}], expected [${Ci},${FH},${FW},${Co}]`);
  }
  // [Ci, FH, FW, Co] -> [FH, FW, Ci, Co]
  return scope.transpose(dwt, [1, 2, 0, 3]);
}

/**
 * dW one filter tap at a time: dW[fh, fw] = A^T @ dY with A^T [Ci, B*OH*OW] the input pixels
 * that tap reads (zero where it reads padding), gathered from x^T [Ci, B, H, W]. Every product
 * reuses the XNNPACK operator packed for dY (its cache is keyed by dY's id).
 * Returns a tracked [FH, FW, Ci, Co] tensor.
 */
function filterGradTaps(scope: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: Conv2dGeometry): tf.TensorInfo {
  const { batch: B, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = g;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  const { strideHeight: sh, strideWidth: sw, padTop, padLeft } = g;
  const N = B * OH * OW;
  // [B, H, W, Ci] -> [Ci, B, H, W]
  const xt = scope.transpose(x, [3, 0, 1, 2]);
  // [B, OH, OW, Co] -> [N, Co]
  const dy2 = scope.reshape(dy, [N, Co]);
  const dw = scope.alloc([FH, FW, Ci, Co]);
  const rows = Ci * B;
  for (let fh = 0; fh < FH; fh++) {
    for (let fw = 0; fw < FW; fw++) {
      // Output columns whose input column ow*sw + fw - padLeft lies inside [0, W).
      const owLo = Math.max(0, Math.ceil((padLeft - fw) / sw));
      const owHi = Math.min(OW - 1, Math.floor((W - 1 + padLeft - fw) / sw));
      const inner = new KernelScope(scope.backend, NAME);
      try {
        const a = inner.alloc([Ci, N]);
        const src = inner.view(xt) as Float32Array;
        const dst = inner.view(a) as Float32Array;
        for (let rb = 0; rb < rows; rb++) {
          for (let oh = 0; oh < OH; oh++) {
            const d = (rb * OH + oh) * OW;
            const h = oh * sh + fh - padTop;
            if (h < 0 || h >= H || owHi < owLo) {
              dst.fill(0, d, d + OW);
              continue;
            }
            const s0 = (rb * H + h) * W + fw - padLeft;
            if (owLo > 0) dst.fill(0, d, d + owLo);
            if (owHi < OW - 1) dst.fill(0, d + owHi + 1, d + OW);
            if (sw === 1) {
              dst.set(src.subarray(s0 + owLo, s0 + owHi + 1), d + owLo);
            } else {
              for (let ow = owLo; ow <= owHi; ow++) dst[d + ow] = src[s0 + ow * sw];
            }
          }
        }
        // [Ci, N] @ [N, Co] -> [Ci, Co]
        const tap = inner.matMul2d(a, dy2, false, false);
        (scope.view(dw) as Float32Array).set(inner.view(tap), (fh * FW + fw) * Ci * Co);
      } finally {
        inner.dispose();
      }
    }
  }
  return dw;
}

/**
 * The method used for non-1x1 filters: 'taps', faster or equal on every shape measured in
 * bench/kernels_bench.ts (stem, ResNet 3x3, FPN, mask head).
 */
export const DEFAULT_FILTER_GRAD_METHOD: FilterGradMethod = 'taps';

/** dW for NHWC x and dy. Returns a tracked [FH, FW, Ci, Co] tensor. */
export function conv2dFilterGradNhwc(
  scope: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: Conv2dGeometry,
  method: FilterGradMethod = DEFAULT_FILTER_GRAD_METHOD,
): tf.TensorInfo {
  const { batch: B, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = g;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;

  if (FH === 1 && FW === 1 && g.padTop === 0 && g.padLeft === 0) {
    // [B, H, W, Ci] -> [B*OH*OW, Ci] (a view when every pixel is read)
    const pixels =
      g.strideHeight === 1 && g.strideWidth === 1 && OH === H && OW === W
        ? scope.reshape(x, [B * H * W, Ci])
        : stridedPixels(scope, x, g);
    // [B, OH, OW, Co] -> [B*OH*OW, Co]
    const dy2 = scope.reshape(dy, [B * OH * OW, Co]);
    const dw = scope.matMul2d(pixels, dy2, true, false);
    // [Ci, Co] -> [1, 1, Ci, Co]
    return scope.reshape(dw, [FH, FW, Ci, Co]);
  }
  return method === 'taps' ? filterGradTaps(scope, x, dy, g) : filterGradDilatedConv(scope, x, dy, g);
}

/**
 * The registered `Conv2DBackpropFilter` kernel function (wasm).
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm });
 * const dW = tf.grad((w: tf.Tensor4D) => tf.conv2d(x, w, 1, 'same').sum())(w);
 * ```
 */
export function conv2dBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  return conv2dBackpropFilterWith(args, undefined);
}

/**
 * {@link conv2dBackpropFilterWasm} with the method for non-1x1 filters forced (for the benchmark
 * and tests; `undefined` picks {@link DEFAULT_FILTER_GRAD_METHOD}).
 *
 * @example
 * ```ts
 * const info = conv2dBackpropFilterWith({ inputs: { x, dy }, backend: tf.backend(), attrs }, 'dilated-conv');
 * ```
 */
export function conv2dBackpropFilterWith(args: KernelArgs, method: FilterGradMethod | undefined): tf.TensorInfo {
  const x = kernelInput(args, 'x', NAME);
  const dy = kernelInput(args, 'dy', NAME);
  const filterShape = args.attrs?.filterShape;
  if (!Array.isArray(filterShape)) throw new Error(`Error in ${NAME}: attribute filterShape is missing`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Error in ${NAME}: x and dy must be float32, got ${x.dtype} and ${dy.dtype}`);
  }
  const g = conv2dGeometry(NAME, x.shape, filterShape as number[], args.attrs);
  const scope = new KernelScope(args.backend as WasmBackendLike, NAME);
  try {
    // NCHW -> NHWC: [B, C, H, W] -> [B, H, W, C]
    const xn = g.channelsFirst ? scope.transpose(x, [0, 2, 3, 1]) : x;
    const dyn = g.channelsFirst ? scope.transpose(dy, [0, 2, 3, 1]) : dy;
    const expected = dyShapeNhwc(g);
    if (dyn.shape.some((d, i) => d !== expected[i])) {
      throw new Error(`Error in ${NAME}: dy has shape [${dy.shape}], the conv output is [${expected}] (NHWC)`);
    }
    if (g.batch * g.outHeight * g.outWidth === 0 || g.inChannels * g.outChannels === 0) {
      return scope.release(scope.zeros(filterShape as number[]));
    }
    return scope.release(conv2dFilterGradNhwc(scope, xn, dyn, g, method ?? DEFAULT_FILTER_GRAD_METHOD));
  } finally {
    scope.dispose();
  }
}
