import { IMAGENET_NORMALIZATION, normalizeUnitImage, toFloatImage } from '../../src/transform/normalize';

describe('normalisation', () => {
  test('toFloatImage: v / 255 in float32, then (x - mean) / std', () => {
    const px = Uint8Array.of(0, 128, 255);
    expect(Array.from(toFloatImage(px))).toEqual([0, Math.fround(128 / 255), 1]);
    const n = toFloatImage(px, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] });
    expect(n[0]).toBeCloseTo(-2, 6);
    expect(n[1]).toBeCloseTo((128 / 255 - 0.5) / 0.5, 6);
    expect(n[2]).toBeCloseTo(0.5, 6);
  });

  test('8-bit and [0, 1] inputs give the same float32 values (v / 255 first)', () => {
    const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => i % 256);
    const unit = Float32Array.from(bytes, (v) => Math.fround(v / 255));
    expect(normalizeUnitImage(unit, IMAGENET_NORMALIZATION)).toEqual(toFloatImage(bytes, IMAGENET_NORMALIZATION));
    expect(toFloatImage(Int32Array.from(bytes), IMAGENET_NORMALIZATION)).toEqual(toFloatImage(bytes, IMAGENET_NORMALIZATION));
    expect(normalizeUnitImage(unit)).toEqual(unit);
  });
});
