/** Reads the JSON fixtures written by tools/make_rpn_cases.py. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fromTorchLayout, type TorchLayer } from '../../src/nn/torch_layer';

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'rpn');

export function readFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as T;
}

/** base64 of little-endian float32 bytes -> Float32Array (copied, so it is aligned). */
export function decodeF32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(4 * i);
  return out;
}

export interface TensorB64 {
  shape: number[];
  nhwc?: string;
  data?: string;
}

/** Writes torch-layout tensors into the layer's variables by state_dict key. */
export function loadTorchState(layer: TorchLayer, state: Record<string, TensorB64>): void {
  const params = layer.stateDict();
  for (const [key, p] of params) {
    const entry = state[key];
    if (!entry?.data) throw new Error(`fixture lacks ${key}`);
    const torchTensor = tf.tensor(decodeF32(entry.data), entry.shape);
    const ours = fromTorchLayout(torchTensor, p.layout);
    p.variable.write(ours);
    tf.dispose([torchTensor, ours]);
  }
  const extra = Object.keys(state).filter((k) => !params.has(k));
  if (extra.length > 0) throw new Error(`fixture has unknown keys ${extra}`);
}

/** Largest |a - e| / max(|e|, floor) over all entries. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(err <= worst)) worst = err; // NaN propagates as a failure
  }
  return worst;
}

/** Largest |x|. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** IoU of two xyxy boxes in float64. */
export function iou1(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const ix = Math.max(0, Math.min(a[4 * ai + 2], b[4 * bi + 2]) - Math.max(a[4 * ai], b[4 * bi]));
  const iy = Math.max(0, Math.min(a[4 * ai + 3], b[4 * bi + 3]) - Math.max(a[4 * ai + 1], b[4 * bi + 1]));
  const inter = ix * iy;
  const areaA = (a[4 * ai + 2] - a[4 * ai]) * (a[4 * ai + 3] - a[4 * ai + 1]);
  const areaB = (b[4 * bi + 2] - b[4 * bi]) * (b[4 * bi + 3] - b[4 * bi + 1]);
  return inter / (areaA + areaB - inter);
}
