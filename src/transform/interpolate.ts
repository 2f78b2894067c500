/**
 * torch's `interpolate` as detection uses it, on row-major `[H, W, C]` float32 arrays: bilinear
 * (align_corners=False, no antialiasing) for images, nearest for masks. Training samples and
 * inference batches are both resized here, so the two see the same pixels.
 *
 * The arithmetic is what torch 1.13's CPU kernel computes (the build that made the reference
 * fixtures, found by probing it): the source coordinate `scale * (i + 0.5) - 0.5` in float64 from
 * the float32 `scale = in / out`; per axis the weights `lambda` and `1 - lambda` in float32; the
 * four corner weights `wy * wx` rounded to float32; and the output the four products summed
 * without intermediate float32 rounding, rounded once. That equals `F.interpolate` bit for bit
 * (every value of 37x53 -> 64x91, 120x200 -> 54x90, 300x451 -> 320x481 and 480x640 -> 800x1066,
 * on [0, 1] and on normalised images). The separable float32 form (W, then H, each rounded) that
 * this file had before differed from it by up to 2.4e-6 on [0, 1] images, 1.9e-5 normalised.
 */

const f32 = Math.fround;

/**
 * Source indices of `interpolate(mode='nearest')` from `inSize` to `outSize` with no explicit
 * scale (PyTorch's `nearest_idx`: float32 `scale = in / out`, `floor(i * scale)`).
 *
 * @example
 * ```ts
 * nearestIndices(5, 3); // Int32Array [0, 1, 3]
 * ```
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  if (outSize === inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i;
  } else if (outSize === 2 * inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i >> 1;
  } else {
    const scale = f32(inSize / outSize);
    for (let i = 0; i < outSize; i++) idx[i] = Math.min(Math.floor(f32(i * scale)), inSize - 1);
  }
  return idx;
}

/**
 * Taps of `interpolate(mode='bilinear', align_corners=False)` along one axis (PyTorch's
 * `compute_indices_weights_linear`): output i reads `i0[i]` and `i1[i]` with weights `w0[i]`,
 * `w1[i]` (float32).
 *
 * @example
 * ```ts
 * bilinearTaps(2, 3); // i0 [0, 0, 1], i1 [1, 1, 1], w1 [0, 0.5, 0.1666...]
 * ```
 */
export function bilinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w0: Float32Array; w1: Float32Array } {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // float32 scale times the float64 `i + 0.5`: torch keeps this coordinate in float64.
    const real = Math.max(scale * (i + 0.5) - 0.5, 0);
    const k = Math.min(Math.floor(real), inSize - 1);
    const lambda = f32(Math.min(Math.max(real - k, 0), 1));
    i0[i] = k;
    i1[i] = k + (k < inSize - 1 ? 1 : 0);
    w0[i] = f32(1 - lambda);
    w1[i] = lambda;
  }
  return { i0, i1, w0, w1 };
}

/**
 * Bilinear resize of a `[H, W, C]` float32 image (align_corners=False, no antialiasing), as
 * torchvision's detection transform. `flip` mirrors the input horizontally first.
 *
 * @example
 * ```ts
 * const out = resizeBilinear(src, 480, 640, 3, 800, 1066); // [800, 1066, 3]
 * ```
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number, flip = false): Float32Array {
  if (src.length !== h * w * c) throw new Error(`Error in resizeBilinear: input has ${src.length} values, expected ${h}*${w}*${c}`);
  const ty = bilinearTaps(h, outH);
  const tx = bilinearTaps(w, outW);
  if (flip) {
    for (let i = 0; i < outW; i++) {
      tx.i0[i] = w - 1 - tx.i0[i];
      tx.i1[i] = w - 1 - tx.i1[i];
    }
  }
  const out = new Float32Array(outH * outW * c); // [H', W', C]
  const rowLen = w * c;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y] * rowLen;
    const r1 = ty.i1[y] * rowLen;
    const wy0 = ty.w0[y];
    const wy1 = ty.w1[y];
    for (let x = 0; x < outW; x++) {
      const x0 = tx.i0[x] * c;
      const x1 = tx.i1[x] * c;
      // Corner weights in float32; the sum of the four float32 products is exact enough in
      // float64 that rounding it once is torch's result.
      const w00 = f32(wy0 * tx.w0[x]);
      const w01 = f32(wy0 * tx.w1[x]);
      const w10 = f32(wy1 * tx.w0[x]);
      const w11 = f32(wy1 * tx.w1[x]);
      const a = r0 + x0;
      const b = r0 + x1;
      const d = r1 + x0;
      const e = r1 + x1;
      for (let k = 0; k < c; k++) out[o++] = src[a + k] * w00 + src[b + k] * w01 + src[d + k] * w10 + src[e + k] * w11;
    }
  }
  return out;
}
