/** Reads the JSON fixtures written by tools/make_target_cases.py (torchvision 0.14). */
import * as fs from 'fs';
import * as path from 'path';
import { decodeF32, maxRelError as relError, normRelError } from '../support/errors';

export { maxAbsDiff } from '../support/errors';

/** Largest |a - e| / max(|e|, floor) over all entries; NaN anywhere makes it NaN. */
export const maxRelError = (actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number => relError(actual, expected, floor);

/** Largest |a - e| relative to the largest |e| (the scale of a gradient). */
export const relToMax = normRelError;

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'targets');

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
  return decodeF32(a.b64);
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
