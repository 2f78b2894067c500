/**
 * A literal, loop-by-loop transcription of torchvision 0.14's CPU RoIAlign (forward and
 * backward) on NHWC arrays: one sample at a time, four corners each, float32 coordinate math.
 * Deliberately unoptimised and independent of src/roi (no separable merging, no sparse matrix).
 */
export { maxRelError } from '../../support/errors';

const f32 = Math.fround;

export interface NaiveInput {
  features: Float32Array;
  shape: [number, number, number, number]; // [N, H, W, C]
  boxes: number[][]; // [R][4] xyxy
  boxIndices: number[];
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

interface Corner {
  y: number;
  x: number;
  w: number;
}

/** torchvision's bilinear_interpolate_gradient: the four corners of one sample, or none. */
function corners(H: number, W: number, yIn: number, xIn: number): Corner[] {
  let y = yIn;
  let x = xIn;
  if (y < -1.0 || y > H || x < -1.0 || x > W) return [];
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  let yLow = Math.trunc(y);
  let xLow = Math.trunc(x);
  let yHigh: number;
  let xHigh: number;
  if (yLow >= H - 1) {
    yHigh = yLow = H - 1;
    y = yLow;
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= W - 1) {
    xHigh = xLow = W - 1;
    x = xLow;
  } else {
    xHigh = xLow + 1;
  }
  const ly = f32(y - yLow);
  const lx = f32(x - xLow);
  const hy = f32(1 - ly);
  const hx = f32(1 - lx);
  return [
    { y: yLow, x: xLow, w: f32(hy * hx) },
    { y: yLow, x: xHigh, w: f32(hy * lx) },
    { y: yHigh, x: xLow, w: f32(ly * hx) },
    { y: yHigh, x: xHigh, w: f32(ly * lx) },
  ];
}

/** Calls `visit(r, ph, pw, corner, count)` for every corner of every sample, in kernel order. */
function forEachCorner(
  p: NaiveInput,
  visit: (r: number, ph: number, pw: number, c: Corner, count: number) => void,
): void {
  const [, H, W] = p.shape;
  const [oh, ow] = p.outputSize;
  const scale = f32(p.spatialScale);
  const offset = p.aligned ? 0.5 : 0;
  p.boxes.forEach((b, r) => {
    const sw = f32(f32(f32(b[0]) * scale) - offset);
    const sh = f32(f32(f32(b[1]) * scale) - offset);
    const ew = f32(f32(f32(b[2]) * scale) - offset);
    const eh = f32(f32(f32(b[3]) * scale) - offset);
    let rw = f32(ew - sw);
    let rh = f32(eh - sh);
    if (!p.aligned) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = f32(rh / oh);
    const bw = f32(rw / ow);
    const gh = p.samplingRatio > 0 ? p.samplingRatio : Math.ceil(f32(rh / oh));
    const gw = p.samplingRatio > 0 ? p.samplingRatio : Math.ceil(f32(rw / ow));
    const count = Math.max(gh * gw, 1);
    for (let ph = 0; ph < oh; ph++) {
      for (let pw = 0; pw < ow; pw++) {
        for (let iy = 0; iy < gh; iy++) {
          const y = f32(f32(sh + f32(ph * bh)) + f32(f32(f32(iy + 0.5) * bh) / gh));
          for (let ix = 0; ix < gw; ix++) {
            const x = f32(f32(sw + f32(pw * bw)) + f32(f32(f32(ix + 0.5) * bw) / gw));
            for (const c of corners(H, W, y, x)) visit(r, ph, pw, c, count);
          }
        }
      }
    }
  });
}

/** Forward: [R, oh, ow, C] flattened. */
export function naiveRoiAlign(p: NaiveInput): Float64Array {
  const [, H, W, C] = p.shape;
  const [oh, ow] = p.outputSize;
  const out = new Float64Array(p.boxes.length * oh * ow * C);
  forEachCorner(p, (r, ph, pw, c, count) => {
    const src = ((p.boxIndices[r] * H + c.y) * W + c.x) * C;
    const dst = ((r * oh + ph) * ow + pw) * C;
    for (let ch = 0; ch < C; ch++) out[dst + ch] += (c.w * p.features[src + ch]) / count;
  });
  return out;
}

/** Adjoint: d(sum(out * dy)) / d features, [N, H, W, C] flattened. */
export function naiveRoiAlignAdjoint(p: NaiveInput, dy: ArrayLike<number>): Float64Array {
  const [N, H, W, C] = p.shape;
  const [oh, ow] = p.outputSize;
  const grad = new Float64Array(N * H * W * C);
  forEachCorner(p, (r, ph, pw, c, count) => {
    const dst = ((p.boxIndices[r] * H + c.y) * W + c.x) * C;
    const src = ((r * oh + ph) * ow + pw) * C;
    for (let ch = 0; ch < C; ch++) grad[dst + ch] += (dy[src + ch] * c.w) / count;
  });
  return grad;
}

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
export function seededValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

