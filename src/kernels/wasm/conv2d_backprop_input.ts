/**
 * Faster `Conv2DBackpropInput` for the wasm backend (the input gradient of conv2d, and the
 * forward pass of conv2dTranspose).
 *
 * Why: the built-in wasm kernel is a naive loop, ~10x slower than the XNNPACK forward conv.
 * Re-expressed on XNNPACK:
 * - 1x1 filters without padding: dx = dY @ W^T at the strided pixels ([N, Co] @ [Co, Ci]),
 *   scattered back to the stride grid when the stride is > 1.
 * - other filters, stride 1: dx = conv(dy, W flipped in space with its channel axes swapped),
 *   padding FH-1-padTop on top (and so on).
 * - stride s > 1: dx is split into s*s output phases dx[r::s, c::s]; each is a stride-1 conv of
 *   dy with the filter taps that reach that phase. The work equals the forward conv's, where a
 *   zero-dilated dy would cost s^2 times more (3-4x slower than this in our measurements, and
 *   slower than the built-in loop on the 7x7 stride-2 stem; phases are 10x faster there).
 * Measured (bench/kernels_bench.ts): 10-14x faster than the built-in kernel, 1.0-1.1x the
 * forward conv, on every ResNet / FPN / mask-head shape, the stem included. NCHW and
 * non-float32 inputs go to the built-in kernel.
 *
 * Shapes: dy [B, OH, OW, Co], filter [FH, FW, Ci, Co], attrs inputShape [B, H, W, Ci] -> dx [B, H, W, Ci].
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2dGeometry, conv2dGeometry, dyShapeNhwc } from './conv2d_geometry';
import { builtinKernel, KernelArgs, kernelInput, KernelScope, sizeOf, WasmBackendLike } from './wasm_backend_ops';

const NAME = 'Conv2DBackpropInput';

/**
 * Whether the XNNPACK formulation is used for this geometry: every NHWC conv (the phase split
 * made it faster than the built-in loop on all measured shapes, the 7x7 stride-2 stem included).
 */
export function useXnnpackForInputGrad(g: Conv2dGeometry): boolean {
  return !g.channelsFirst;
}

/** Places src [B, OH, OW, C] at rows oh*sh and cols ow*sw of a zero tensor [B, outH, outW, C]. */
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

/**
 * One output phase along one axis: the input positions h = q*s + r (q < count) receive
 * dy[q + offset - (taps-1) + i] * W[f0 + (taps-1-i)*s] for i < taps, a stride-1 correlation of
 * dy with a sub-filter, padded by `before` / `after` (negative: crop dy instead).
 */
interface AxisPhase {
  r: number;
  count: number;
  f0: number;
  taps: number;
  before: number;
  after: number;
}

/** The `stride` phases of one axis (input size `n`, dy size `m`, filter size `f`, leading pad `pad`). */
function axisPhases(n: number, m: number, f: number, stride: number, pad: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let r = 0; r < stride; r++) {
    const count = r < n ? Math.ceil((n - r) / stride) : 0;
    const f0 = (r + pad) % stride;
    const offset = Math.floor((r + pad) / stride);
    const taps = f0 < f ? Math.ceil((f - f0) / stride) : 0;
    phases.push({ r, count, f0, taps, before: taps - 1 - offset, after: count + offset - m });
  }
  return phases;
}

/** Rows [r0, r1) and columns [c0, c1) of x [B, H, W, C] (x itself when that is all of it). */
function window(scope: KernelScope, x: tf.TensorInfo, r0: number, r1: number, c0: number, c1: number): tf.TensorInfo {
  const [B, H, W, C] = x.shape;
  if (r0 === 0 && c0 === 0 && r1 === H && c1 === W) return x;
  const h = r1 - r0;
  const w = c1 - c0;
  const out = scope.alloc([B, h, w, C]);
  const src = scope.view(x) as Float32Array;
  const dst = scope.view(out) as Float32Array;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let r = r0; r < r1; r++) {
      const s = ((b * H + r) * W + c0) * C;
      dst.set(src.subarray(s, s + w * C), o);
      o += w * C;
    }
  }
  return out;
}

/**
 * The sub-filter of one 2-D phase, flipped and with its channel axes swapped:
 * swapped [FH, FW, Co, Ci] -> [th, tw, Co, Ci] with out[i, j] = swapped[f0h + (th-1-i)*sh, f0w + (tw-1-j)*sw].
 */
function phaseFilter(scope: KernelScope, swapped: tf.TensorInfo, ph: AxisPhase, pw: AxisPhase, sh: number, sw: number): tf.TensorInfo {
  const [, FW, Co, Ci] = swapped.shape;
  const out = scope.alloc([ph.taps, pw.taps, Co, Ci]);
  const src = scope.view(swapped) as Float32Array;
  const dst = scope.view(out) as Float32Array;
  const block = Co * Ci;
  for (let i = 0; i < ph.taps; i++) {
    for (let j = 0; j < pw.taps; j++) {
      const fh = ph.f0 + (ph.taps - 1 - i) * sh;
      const fw = pw.f0 + (pw.taps - 1 - j) * sw;
      const s = (fh * FW + fw) * block;
      dst.set(src.subarray(s, s + block), (i * pw.taps + j) * block);
    }
  }
  return out;
}

/**
 * dx for NHWC dy. Stride 1 is one conv with the flipped filter; stride s > 1 is split into
 * s*s output phases (dx[r::s, c::s]), each a stride-1 conv of dy with the taps that reach it,
 * so the work equals the forward conv's instead of the s^2 times more of a zero-dilated dy.
 */
function inputGradNhwc(scope: KernelScope, dy: tf.TensorInfo, filter: tf.TensorInfo, g: Conv2dGeometry): tf.TensorInfo {
  const { batch: B, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = g;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  const { strideHeight: sh, strideWidth: sw } = g;

  if (FH === 1 && FW === 1 && g.padTop === 0 && g.padLeft === 0) {
    // [B, OH, OW, Co] -> [B*OH*OW, Co]; [1, 1, Ci, Co] -> [Ci, Co]
    const dy2 = scope.reshape(dy, [B * OH * OW, Co]);
    const w2 = scope.reshape(filter, [Ci, Co]);
    const dx2 = scope.matMul2d(dy2, w2, false, true);
    // [B*OH*OW, Ci] -> [B, OH, OW, Ci]
    const dx4 = scope.reshape(dx2, [B, OH, OW, Ci]);
    if (sh === 1 && sw === 1 && OH === H && OW === W) return dx4;
    return spreadOnGrid(scope, dx4, H, W, sh, sw);
  }

  // [FH, FW, Ci, Co] -> [FH, FW, Co, Ci]
  const swapped = scope.transpose(filter, [0, 1, 3, 2]);
  const single = sh === 1 && sw === 1;
  const dx = single ? undefined : scope.zeros([B, H, W, Ci]);
  for (const ph of axisPhases(H, OH, FH, sh, g.padTop)) {
    for (const pw of axisPhases(W, OW, FW, sw, g.padLeft)) {
      if (ph.count === 0 || pw.count === 0 || ph.taps === 0 || pw.taps === 0) continue;
      const r0 = Math.max(0, -ph.before);
      const r1 = OH + Math.min(0, ph.after);
      const c0 = Math.max(0, -pw.before);
      const c1 = OW + Math.min(0, pw.after);
      if (r1 <= r0 || c1 <= c0) continue; // no dy reaches this phase: it stays zero
      const inner = new KernelScope(scope.backend, scope.kernelName);
      try {
        const dyWin = window(inner, dy, r0, r1, c0, c1);
        const sub = phaseFilter(inner, swapped, ph, pw, sh, sw);
        const pads: [number, number, number, number] = [
          Math.max(0, ph.before),
          Math.max(0, ph.after),
          Math.max(0, pw.before),
          Math.max(0, pw.after),
        ];
        const part = inner.conv2d(dyWin, sub, [1, 1], [1, 1], pads); // [B, ph.count, pw.count, Ci]
        if (dx === undefined) return scope.track(inner.release(part));
        // dx[b, q*sh + ph.r, p*sw + pw.r, :] = part[b, q, p, :]
        const src = inner.view(part) as Float32Array;
        const dst = scope.view(dx) as Float32Array;
        let i = 0;
        for (let b = 0; b < B; b++) {
          for (let q = 0; q < ph.count; q++) {
            const row = (b * H + q * sh + ph.r) * W;
            for (let p = 0; p < pw.count; p++) {
              dst.set(src.subarray(i, i + Ci), (row + p * sw + pw.r) * Ci);
              i += Ci;
            }
          }
        }
      } finally {
        inner.dispose();
      }
    }
  }
  return dx ?? scope.zeros([B, H, W, Ci]);
}

/**
 * The registered `Conv2DBackpropInput` kernel function (wasm); calls the built-in kernel where
 * {@link useXnnpackForInputGrad} declines (NCHW) and for non-float32 or empty tensors.
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
    return scope.release(inputGradNhwc(scope, dy, filter, g));
  } finally {
    scope.dispose();
  }
}
