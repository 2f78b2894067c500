import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { readImage, readImageInfo } from '../../src/data/image_io';
import { handWrittenPng } from '../support/png';

/** A 16-bit PNG written by hand (sharp's raw input is 8-bit only). */
function png16(w: number, h: number, channels: 1 | 3, values: number[]): Buffer {
  const raw = Buffer.alloc(h * (1 + w * channels * 2));
  let o = 0;
  for (let y = 0; y < h; y++) {
    raw[o++] = 0;
    for (let i = 0; i < w * channels; i++, o += 2) raw.writeUInt16BE(values[y * w * channels + i], o);
  }
  return handWrittenPng(w, h, 16, channels === 1 ? 0 : 2, raw);
}

/** A 4x3 RGB test pattern: pixel (x, y) = (10x + y, 50 + 20y, 200 - 30x). */
const W = 4;
const H = 3;
const pattern = Uint8Array.from({ length: W * H * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  const x = p % W;
  const y = Math.floor(p / W);
  return [10 * x + y, 50 + 20 * y, 200 - 30 * x][i % 3];
});
const rawInput = { raw: { width: W, height: H, channels: 3 as const } };

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'image-io-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('readImage', () => {
  test('PNG, lossless WebP and JPEG decode to RGB HWC row-major', async () => {
    const png = await sharp(Buffer.from(pattern), rawInput).png().toBuffer();
    const webp = await sharp(Buffer.from(pattern), rawInput).webp({ lossless: true }).toBuffer();
    for (const buf of [png, webp]) {
      const img = await readImage(buf);
      expect([img.height, img.width]).toEqual([H, W]);
      expect(Array.from(img.data)).toEqual(Array.from(pattern));
    }
    const f = path.join(tmp, 'p.jpg');
    await sharp(Buffer.from(pattern), rawInput).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(f);
    const jpg = await readImage(f);
    expect([jpg.height, jpg.width]).toEqual([H, W]);
    const maxErr = Math.max(...Array.from(jpg.data, (v, i) => Math.abs(v - pattern[i])));
    expect(maxErr).toBeLessThan(12);
  });

  test('grayscale is expanded to three equal channels', async () => {
    const gray = Uint8Array.of(0, 50, 100, 150, 200, 250);
    const png = await sharp(Buffer.from(gray), { raw: { width: 3, height: 2, channels: 1 } }).png().toBuffer();
    const img = await readImage(png);
    expect(Array.from(img.data)).toEqual(Array.from(gray).flatMap((v) => [v, v, v]));
  });

  test('alpha is dropped without compositing (PIL convert("RGB"))', async () => {
    const rgba = Uint8Array.of(10, 20, 30, 0, 40, 50, 60, 128);
    const png = await sharp(Buffer.from(rgba), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    const img = await readImage(png);
    expect(Array.from(img.data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  test('16-bit PNG (gray and RGB) is scaled to 8 bits', async () => {
    const g = await readImage(png16(3, 1, 1, [0, 10000, 65535]));
    expect(Array.from(g.data)).toEqual([0, 0, 0, 39, 39, 39, 255, 255, 255]);
    const rgb = await readImage(png16(2, 1, 3, [0, 1000, 2000, 30000, 65535, 257]));
    expect(Array.from(rgb.data)).toEqual([0, 3, 7, 117, 255, 1]);
  });

  test('EXIF orientation is applied (and can be turned off)', async () => {
    // Orientation 6: the stored image is shown rotated 90 degrees clockwise.
    const plain = await sharp(Buffer.from(pattern), rawInput).png().toBuffer();
    const tagged = await sharp(plain).withMetadata({ orientation: 6 }).png().toBuffer();
    const up = await readImage(tagged);
    expect([up.height, up.width]).toEqual([W, H]);
    // After a clockwise turn, the stored top-left pixel (0, 0) is at the top-right.
    const topRight = (up.width - 1) * 3;
    expect(Array.from(up.data.subarray(topRight, topRight + 3))).toEqual(Array.from(pattern.subarray(0, 3)));
    const stored = await readImage(tagged, { applyExifOrientation: false });
    expect([stored.height, stored.width]).toEqual([H, W]);
    expect(Array.from(stored.data)).toEqual(Array.from(pattern));
  });

  test('errors name the file and say what is wrong', async () => {
    await expect(readImage(path.join(tmp, 'absent.png'))).rejects.toThrow(/image file not found: .*absent\.png/);
    const empty = path.join(tmp, 'empty.png');
    await fs.writeFile(empty, '');
    await expect(readImage(empty)).rejects.toThrow(/empty\.png is empty \(0 bytes\)/);
    const corrupt = path.join(tmp, 'corrupt.jpg');
    await fs.writeFile(corrupt, 'definitely not a jpeg');
    await expect(readImage(corrupt)).rejects.toThrow(/cannot decode .*corrupt\.jpg.*unsupported format; supported: JPEG, PNG, WebP/);
    const full = await sharp(Buffer.from(pattern), rawInput).png().toBuffer();
    const truncated = path.join(tmp, 'truncated.png');
    await fs.writeFile(truncated, full.subarray(0, full.length - 20));
    await expect(readImage(truncated)).rejects.toThrow(/cannot decode .*truncated\.png/);
    await expect(readImage(tmp)).rejects.toThrow(/is not a regular file/);
    await expect(readImage(new Uint8Array(0), { name: 'upload.jpg' })).rejects.toThrow(/upload\.jpg is empty/);
    await expect(readImage(Uint8Array.of(1, 2, 3), { name: 'upload.jpg' })).rejects.toThrow(/cannot decode upload\.jpg/);
    await expect(readImage(42 as unknown as string)).rejects.toThrow(/expected a file path or a Uint8Array/);
  });
});

describe('readImageInfo', () => {
  test('reads format and size from the header without decoding, and refuses what readImage refuses', async () => {
    const png = path.join(tmp, 'info.png');
    await sharp(Buffer.from(pattern), rawInput).png().toFile(png);
    expect(await readImageInfo(png)).toEqual({ format: 'png', width: W, height: H });
    // A valid header in front of damaged pixel data passes: only decoding finds that.
    const bytes = await fs.readFile(png);
    const damaged = path.join(tmp, 'damaged.png');
    await fs.writeFile(damaged, bytes.subarray(0, bytes.indexOf('IDAT') + 8)); // cut inside the pixel data
    expect(await readImageInfo(damaged)).toEqual({ format: 'png', width: W, height: H });
    await expect(readImage(damaged)).rejects.toThrow(/cannot decode .*damaged\.png/);
    await expect(readImageInfo(path.join(tmp, 'absent.png'))).rejects.toThrow(`readImage: image file not found: ${path.join(tmp, 'absent.png')}`);
    await expect(readImageInfo(tmp)).rejects.toThrow(`readImage: ${tmp} is not a regular file`);
    const svg = path.join(tmp, 'info.svg');
    await fs.writeFile(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"></svg>');
    await expect(readImageInfo(svg)).rejects.toThrow(/is SVG \(sharp format 'svg'\), which is not an accepted input format/);
    await expect(readImageInfo(png, { maxPixels: 11 })).rejects.toThrow(/is 4x3 = 0\.0 MP \(12 pixels\), above the limit/);
  });
});
