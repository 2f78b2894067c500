/** Reads the JSON fixtures written by tools/make_target_cases.py (torchvision 0.14). */
import * as fs from 'fs';
import * as path from 'path';

export const FIXTURE_DIR = path.join(__dirname, '..', '..', 'fixtures', 'targets');

/** An array as the generator stores it: little-endian bytes in base64. */
export interface Arr {
  shape: number[];
  dtype: 'float32' | 'int32' | 'uint8';
  b64: string;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as T;
}

function bytes(a: Arr): Buffer {
  return Buffer.from(a.b64, 'base64');
}

export function f32(a: Arr): Float32Array {
  if (a.dtype !== 'float32') throw new Error(`fixture array is ${a.dtype}, expected float32`);
  const b = bytes(a);
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(4 * i);
  return out;
}

export function i32(a: Arr): Int32Array {
  if (a.dtype !== 'int32') throw new Error(`fixture array is ${a.dtype}, expected int32`);
  const b = bytes(a);
  const out = new Int32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt32LE(4 * i);
  return out;
}

export function u8(a: Arr): Uint8Array {
  if (a.dtype !== 'uint8') throw new Error(`fixture array is ${a.dtype}, expected uint8`);
  return new Uint8Array(bytes(a));
}

/** Largest |a - e| / max(|e|, floor) over all entries; NaN anywhere makes it NaN. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(err <= worst)) worst = err;
  }
  return worst;
}

/** Largest |a - e| relative to the largest |e| (the scale of a gradient). */
export function relToMax(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  return maxAbsDiff(actual, expected) / Math.max(scale, 1e-30);
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Rows `r` (4 values each) of a [n * 4] array. */
export function rows4(values: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * 4);
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < 4; j++) out[4 * i + j] = values[4 * rows[i] + j];
  return out;
}

/** Indices where `pred` holds. */
export function indicesWhere(values: ArrayLike<number>, pred: (v: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (pred(values[i])) out.push(i);
  return out;
}
