import { padImages } from '../../src/transform/batch_images';

describe('padImages', () => {
  test('pads to the largest size rounded up to 32, zeros bottom and right', () => {
    const a = { height: 2, width: 3, image: Float32Array.from({ length: 18 }, (_, i) => i + 1) };
    const b = { height: 40, width: 1, image: new Float32Array(120).fill(-1) };
    const p = padImages([a, b]);
    expect([p.batchHeight, p.batchWidth]).toEqual([64, 32]);
    expect(p.imageSizes).toEqual([
      [2, 3],
      [40, 1],
    ]);
    const at = (n: number, y: number, x: number, c: number): number => p.images[((n * 64 + y) * 32 + x) * 3 + c];
    expect(at(0, 1, 2, 2)).toBe(18);
    expect(at(0, 0, 0, 0)).toBe(1);
    expect(at(0, 2, 0, 0)).toBe(0);
    expect(at(0, 0, 3, 0)).toBe(0);
    expect(at(1, 39, 0, 1)).toBe(-1);
    expect(at(1, 39, 1, 1)).toBe(0);
    let sum = 0;
    for (const v of p.images) sum += v;
    expect(sum).toBe(171 - 120);
    expect(padImages([a], 1).batchHeight).toBe(2);
    expect(() => padImages([])).toThrow('Error in padImages: no samples');
    expect(() => padImages([a], 0)).toThrow('Error in padImages: sizeDivisible must be a positive integer, got 0');
  });
});
