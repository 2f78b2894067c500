import { blankImage, copyImage, pasteImage, resizeNearest, toRgbaImage } from '../../src/viz/rgba';
import { pixel } from './scenes';

describe('blankImage', () => {
  test('one colour, opaque by default, any alpha', () => {
    const img = blankImage(3, 2, [10, 20, 30]);
    expect(img.width).toBe(3);
    expect(img.height).toBe(2);
    expect(img.data).toBeInstanceOf(Uint8ClampedArray);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(pixel(img, x, y)).toEqual([10, 20, 30, 255]);
    expect(pixel(blankImage(1, 1, [1, 2, 3], 0), 0, 0)).toEqual([1, 2, 3, 0]);
    expect(pixel(blankImage(1, 1), 0, 0)).toEqual([0, 0, 0, 255]);
  });

  test('zero size is an empty picture; a bad size is an error', () => {
    expect(blankImage(0, 5).data.length).toBe(0);
    expect(() => blankImage(-1, 2)).toThrow(/Error in blankImage: the size must be integers >= 0, got -1x2/);
    expect(() => blankImage(1.5, 2)).toThrow(/1.5x2/);
  });
});

describe('toRgbaImage', () => {
  test('uint8 RGB as it is, alpha 255', () => {
    const img = toRgbaImage(Uint8Array.of(1, 2, 3, 250, 251, 252), 2, 1);
    expect(pixel(img, 0, 0)).toEqual([1, 2, 3, 255]);
    expect(pixel(img, 1, 0)).toEqual([250, 251, 252, 255]);
  });

  test('float RGB in [0, 1] scaled to bytes and rounded, clamped outside, NaN black', () => {
    const img = toRgbaImage(Float32Array.of(0, 0.5, 1, -0.2, 1.3, NaN), 1, 2);
    expect(pixel(img, 0, 0)).toEqual([0, 128, 255, 255]); // 127.5 rounds up
    expect(pixel(img, 0, 1)).toEqual([0, 255, 0, 255]);
  });

  test('int32 (a decoded tfjs image) defaults to 0-255; plain arrays to 0-1; range overrides', () => {
    expect(pixel(toRgbaImage(Int32Array.of(0, 100, 255), 1, 1), 0, 0)).toEqual([0, 100, 255, 255]);
    expect(pixel(toRgbaImage([0, 0.2, 1], 1, 1), 0, 0)).toEqual([0, 51, 255, 255]);
    expect(pixel(toRgbaImage([-1, 0, 1], 1, 1, { range: [-1, 1] }), 0, 0)).toEqual([0, 128, 255, 255]);
  });

  test('undoes an ImageNet normalisation', () => {
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const rgb = [0.2, 0.6, 1];
    const normalised = Float32Array.from(rgb.map((v, c) => (v - mean[c]) / std[c]));
    expect(pixel(toRgbaImage(normalised, 1, 1, { mean, std }), 0, 0)).toEqual([51, 153, 255, 255]);
  });

  test('grey to three channels, RGBA keeps its alpha', () => {
    expect(pixel(toRgbaImage(Uint8Array.of(7), 1, 1), 0, 0)).toEqual([7, 7, 7, 255]);
    expect(pixel(toRgbaImage(Uint8Array.of(1, 2, 3, 4), 1, 1, { channels: 4 }), 0, 0)).toEqual([1, 2, 3, 4]);
  });

  test('HWC order: pixel (x, y) from index (y * width + x) * C', () => {
    const data = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i);
    const img = toRgbaImage(data, 3, 2);
    expect(pixel(img, 2, 1)).toEqual([15, 16, 17, 255]);
  });

  test('errors: a length that does not fit, bad options listed together, zero size fine', () => {
    expect(() => toRgbaImage(new Uint8Array(5), 2, 1)).toThrow(/5 values do not hold 2x1 pixels of 1, 3 or 4 channels/);
    expect(() => toRgbaImage(new Uint8Array(6), 2, 1, { channels: 4 })).toThrow(/of 4 channels/);
    expect(() => toRgbaImage(new Uint8Array(3), 1, 1, { range: [1, 0], mean: [0, 0] as unknown as [number, number, number] })).toThrow(
      /range: must be \[lo, hi\].*\n.*mean: must be 3 finite numbers/,
    );
    expect(() => toRgbaImage(new Uint8Array(3), 1, 1, { gamma: 2 } as never)).toThrow(/gamma: unknown option \(valid options: channels, range, mean, std\)/);
    expect(toRgbaImage(new Uint8Array(0), 0, 0).data.length).toBe(0);
  });
});

describe('copyImage, resizeNearest, pasteImage', () => {
  test('copyImage is a new buffer', () => {
    const a = blankImage(1, 1, [1, 2, 3]);
    const b = copyImage(a);
    b.data[0] = 9;
    expect(pixel(a, 0, 0)).toEqual([1, 2, 3, 255]);
  });

  test('resizeNearest: an integer factor repeats each pixel in a block; downscaling takes centres', () => {
    const src = toRgbaImage(Uint8Array.of(0, 0, 0, 255, 255, 255), 2, 1);
    const up = resizeNearest(src, 6, 2);
    expect([0, 1, 2, 3, 4, 5].map((x) => pixel(up, x, 1)[0])).toEqual([0, 0, 0, 255, 255, 255]);
    const row = toRgbaImage(Uint8Array.from([10, 20, 30, 40], (v) => v), 4, 1);
    const down = resizeNearest(row, 2, 1); // centres 0.5 * 2 = 1 and 1.5 * 2 = 3
    expect([pixel(down, 0, 0)[0], pixel(down, 1, 0)[0]]).toEqual([20, 40]);
    expect(resizeNearest(blankImage(0, 0), 3, 3).data.every((v) => v === 0)).toBe(true);
  });

  test('pasteImage copies all four channels, clipped', () => {
    const target = blankImage(4, 3, [0, 0, 0]);
    const source = blankImage(2, 2, [200, 100, 50], 77);
    pasteImage(target, source, 3, -1);
    expect(pixel(target, 3, 0)).toEqual([200, 100, 50, 77]);
    expect(pixel(target, 2, 0)).toEqual([0, 0, 0, 255]);
    expect(pixel(target, 3, 1)).toEqual([0, 0, 0, 255]);
    pasteImage(target, source, 10, 10); // entirely outside: nothing
    pasteImage(target, source, -2, 0);
    expect(pixel(target, 0, 0)).toEqual([0, 0, 0, 255]);
  });
});
