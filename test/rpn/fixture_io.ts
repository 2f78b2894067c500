/** Reads the JSON fixtures written by tools/make_rpn_cases.py. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fromTorchLayout, type TorchLayer } from '../../src/nn/torch_layer';
import { decodeF32 } from '../support/errors';

export { decodeF32, maxAbs, maxRelError } from '../support/errors';

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'rpn');

export function readFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as T;
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

/** IoU of two xyxy boxes in float64. */
export function iou1(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const ix = Math.max(0, Math.min(a[4 * ai + 2], b[4 * bi + 2]) - Math.max(a[4 * ai], b[4 * bi]));
  const iy = Math.max(0, Math.min(a[4 * ai + 3], b[4 * bi + 3]) - Math.max(a[4 * ai + 1], b[4 * bi + 1]));
  const inter = ix * iy;
  const areaA = (a[4 * ai + 2] - a[4 * ai]) * (a[4 * ai + 3] - a[4 * ai + 1]);
  const areaB = (b[4 * bi + 2] - b[4 * bi]) * (b[4 * bi + 3] - b[4 * bi + 1]);
  return inter / (areaA + areaB - inter);
}
