/**
 * Reads the fixtures of tools/make_heads_cases.py and regenerates their hashed tensors.
 *
 * Weights and pooled features are not stored: each is described by (shape, seed, scale) and
 * rebuilt here with the generator of tools/make_heads_cases.py, bit for bit:
 *   x = lowbias32((i + seed * 0x9E3779B9) mod 2^32);  u = ((x >>> 8) - 2^23) / 2^23;
 *   value = float32(u * float32(scale)).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fromTorchLayout, type TorchLayer } from '../../../src/nn/torch_layer';
import { decodeF32 } from '../../support/errors';

export { decodeF32, maxRelError, normRelError } from '../../support/errors';

export const HEADS_FIXTURE_DIR = path.join(__dirname, '..', '..', 'fixtures', 'heads');

export function readHeadsFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(HEADS_FIXTURE_DIR, name), 'utf8')) as T;
}

/** Description of a hashed tensor, in torch layout. */
export interface HashedSpec {
  shape: number[];
  seed: number;
  scale: number;
}

const cache = new Map<string, Float32Array>();

/** The hashed tensor's values in torch (row-major) order (cached: fc6 alone is 12.8M values). */
export function hashedValues(spec: HashedSpec): Float32Array {
  const key = `${spec.shape}/${spec.seed}/${spec.scale}`;
  let out = cache.get(key);
  if (!out) {
    out = computeHashed(spec);
    cache.set(key, out);
  }
  return out;
}

// Global lookups of Math are slow inside jest's sandbox; the loops below run 12.8M times for fc6.
const imul = Math.imul;

function computeHashed(spec: HashedSpec): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const base = imul(spec.seed, 0x9e3779b9);
  const scale = Math.fround(spec.scale);
  for (let i = 0; i < n; i++) {
    let x = (i + base) >>> 0;
    x ^= x >>> 16;
    x = imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = imul(x, 0x846ca68b);
    x ^= x >>> 16;
    const u = ((x >>> 8) - 8388608) / 8388608; // exact in float32
    out[i] = u * scale; // stored as float32: one rounding of an exact double product
  }
  return out;
}

/** Hashed NCHW features `[R, C, H, W]` as our NHWC `[R, H, W, C]`. */
export function hashedNhwc(spec: HashedSpec): tf.Tensor4D {
  return nchwToNhwc(hashedValues(spec), spec.shape as [number, number, number, number]);
}

/** NCHW values -> NHWC tensor, permuted in JS (the cpu backend's transpose is slow under jest). */
export function nchwToNhwc(values: Float32Array, shape: readonly [number, number, number, number]): tf.Tensor4D {
  const [n, c, h, w] = shape;
  const t = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) t[((i * h + y) * w + x) * c + ch] = values[((i * c + ch) * h + y) * w + x];
  return tf.tensor4d(t, [n, h, w, c]);
}

/** Writes hashed torch-layout weights into the layer by state_dict key; all keys must match. */
export function loadHashedWeights(layer: TorchLayer, specs: Record<string, HashedSpec>, prefix = ''): void {
  const params = layer.stateDict();
  const wanted = Object.keys(specs).filter((k) => k.startsWith(prefix));
  for (const [key, p] of params) {
    const spec = specs[prefix + key];
    if (!spec) throw new Error(`fixture lacks ${prefix + key}`);
    const values = hashedValues(spec);
    if (p.layout === 'linear') {
      // [out, in] -> [in, out] in JS: the cpu backend's transpose takes tens of seconds on fc6
      const [o, i] = spec.shape;
      const t = new Float32Array(values.length);
      for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) t[c * o + r] = values[r * i + c];
      tf.tidy(() => {
        p.variable.write(tf.tensor(t, [i, o]));
      });
    } else if (p.layout === 'conv' || p.layout === 'conv_transpose') {
      // torch [b, a, kh, kw] -> ours [kh, kw, a, b] (both layouts permute 2, 3, 1, 0)
      const [b, a, kh, kw] = spec.shape;
      const t = new Float32Array(values.length);
      for (let ib = 0; ib < b; ib++)
        for (let ia = 0; ia < a; ia++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++) t[((y * kw + x) * a + ia) * b + ib] = values[((ib * a + ia) * kh + y) * kw + x];
      tf.tidy(() => {
        p.variable.write(tf.tensor(t, [kh, kw, a, b]));
      });
    } else {
      tf.tidy(() => {
        p.variable.write(fromTorchLayout(tf.tensor(values, spec.shape), p.layout));
      });
    }
  }
  const extra = wanted.filter((k) => !params.has(k.slice(prefix.length)));
  if (extra.length > 0) throw new Error(`fixture has keys the layer lacks: ${extra}`);
}

/** base64 of np.packbits (big bit order) -> one 0/1 byte per bit, `n` of them. */
export function decodeBits(b64: string, n: number): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

/** IoU of two xyxy boxes given as 4-element arrays, in float64. */
export function boxIou1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** A detection list as plain arrays. */
export interface PlainDetections {
  boxes: number[][];
  scores: number[];
  labels: number[];
}

/**
 * Fraction of `reference` detections that have a match in `candidate` (same label,
 * IoU >= minIou, |score difference| <= maxScoreDiff), each candidate used at most once.
 */
export function matchedFraction(reference: PlainDetections, candidate: PlainDetections, minIou = 0.99, maxScoreDiff = 1e-3): number {
  if (reference.scores.length === 0) return 1;
  const used = new Uint8Array(candidate.scores.length);
  let matched = 0;
  reference.scores.forEach((s, i) => {
    for (let j = 0; j < candidate.scores.length; j++) {
      if (used[j] || candidate.labels[j] !== reference.labels[i]) continue;
      if (Math.abs(candidate.scores[j] - s) > maxScoreDiff) continue;
      if (boxIou1(reference.boxes[i], candidate.boxes[j]) < minIou) continue;
      used[j] = 1;
      matched++;
      return;
    }
  });
  return matched / reference.scores.length;
}
