/**
 * torch's interpolate on arrays: literal taps, a float64 naive loop (bound 1e-6, as before the
 * move from src/data/transforms.ts) and the flip folded into the taps. Bit-for-bit equality with
 * torchvision is in same_pixels.test.ts.
 */
import { bilinearTaps, nearestIndices, resizeBilinear } from '../../src/transform/interpolate';
import { Rng } from '../../src/util/random';

/** PyTorch's upsample_bilinear2d (align_corners=False) written as a plain loop in float64. */
function naiveBilinear(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow * c);
  const coord = (i: number, inSize: number, outSize: number): [number, number, number] => {
    const s = Math.max((inSize / outSize) * (i + 0.5) - 0.5, 0);
    const k = Math.min(Math.floor(s), inSize - 1);
    const l = Math.min(s - k, 1);
    return [k, Math.min(k + 1, inSize - 1), l];
  };
  for (let y = 0; y < oh; y++) {
    const [y0, y1, ly] = coord(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, lx] = coord(x, w, ow);
      for (let k = 0; k < c; k++) {
        const v = (yy: number, xx: number): number => src[(yy * w + xx) * c + k];
        out[(y * ow + x) * c + k] =
          (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
      }
    }
  }
  return out;
}

describe('interpolation indices and weights (torchvision interpolate)', () => {
  test('nearest: identity, exact 2x, and floor(i * in/out)', () => {
    expect(Array.from(nearestIndices(4, 4))).toEqual([0, 1, 2, 3]);
    expect(Array.from(nearestIndices(3, 6))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(nearestIndices(5, 3))).toEqual([0, 1, 3]);
    expect(Array.from(nearestIndices(3, 5))).toEqual([0, 0, 1, 1, 2]);
    expect(Array.from(nearestIndices(480, 800)).slice(0, 6)).toEqual([0, 0, 1, 1, 2, 3]);
    const idx = nearestIndices(333, 555);
    expect(Math.max(...idx)).toBe(332);
  });

  test('bilinear literals', () => {
    expect(Array.from(resizeBilinear(Float32Array.of(0, 1), 1, 2, 1, 1, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(resizeBilinear(Float32Array.of(0, 1, 2, 3), 1, 4, 1, 1, 2))).toEqual([0.5, 2.5]);
    const up = resizeBilinear(Float32Array.of(0, 1, 2, 3), 2, 2, 1, 3, 3);
    // torch gives 2.9999998 in the last corner, not 3: its float32 corner weights sum to 1 - 2^-24
    // there (F.interpolate of [[0, 1], [2, 3]] to 3x3, torch 1.13).
    expect(Array.from(up)).toEqual([0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 2.999999761581421]);
    const t = bilinearTaps(2, 3);
    expect(Array.from(t.i0)).toEqual([0, 0, 1]);
    expect(Array.from(t.i1)).toEqual([1, 1, 1]);
  });

  test('bilinear equals a naive loop on a random image, up and down, 3 channels', () => {
    const rng = new Rng(1);
    const [h, w] = [13, 17];
    const src = Float32Array.from({ length: h * w * 3 }, () => rng.float());
    for (const [oh, ow] of [
      [21, 29],
      [7, 9],
      [13, 17],
      [26, 5],
    ]) {
      const got = resizeBilinear(src, h, w, 3, oh, ow);
      const want = naiveBilinear(src, h, w, 3, oh, ow);
      let err = 0;
      for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      expect(err).toBeLessThan(1e-6);
    }
  });

  test('flip inside the resize equals resizing the flipped image', () => {
    const rng = new Rng(2);
    const [h, w] = [9, 11];
    const src = Float32Array.from({ length: h * w * 3 }, () => rng.float());
    const flipped = new Float32Array(src.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) flipped[(y * w + x) * 3 + k] = src[(y * w + (w - 1 - x)) * 3 + k];
    expect(resizeBilinear(src, h, w, 3, 16, 19, true)).toEqual(resizeBilinear(flipped, h, w, 3, 16, 19, false));
  });
});

