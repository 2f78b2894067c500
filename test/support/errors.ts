/**
 * Error measures and fixture decoding shared by the tests that compare against recorded
 * torchvision / torch results. NaN anywhere in `actual` makes an error NaN, so it fails any
 * `toBeLessThanOrEqual` bound.
 */

function checkLengths(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
}

/** Largest |a - e| / max(|e|, floor) over all entries. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1): number {
  checkLengths(actual, expected);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(err <= worst)) worst = err; // NaN sticks
  }
  return worst;
}

/** Largest |a - e|. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  checkLengths(actual, expected);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Largest |x|. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Norm-wise relative error max|a - e| / max|e|: float32 sums of many products whose partial sums
 * are far larger than the result lose absolute, not relative, precision (a gradient's scale).
 */
export function normRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return maxAbsDiff(actual, expected) / Math.max(maxAbs(expected), Number.MIN_VALUE);
}

/** base64 of little-endian float32 bytes -> Float32Array (copied, so it is aligned). */
export function decodeF32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(4 * i);
  return out;
}
