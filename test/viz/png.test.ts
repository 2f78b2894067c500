import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { drawDetections } from '../../src/viz/overlay';
import { overlayToPng, writeOverlayPng, writePicturePng } from '../../src/viz/png';
import { blankImage } from '../../src/viz/rgba';
import { RgbaImage } from '../../src/viz/draw';
import { croppedMask, detection, greyImage, prediction } from './scenes';

const [W, H] = [48, 32];
const pred = prediction(W, H, [detection([10, 14, 40, 30], croppedMask(W, H, [12, 16, 20, 12], (c, r) => (c - 10) ** 2 + (r - 6) ** 2 < 30), 0.97)]);

/** A test pattern with varied colours: pixel (x, y) = (5x, 7y, 255 - 3x). */
function pattern(): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) data.set([5 * (p % W), 7 * Math.floor(p / W), 255 - 3 * (p % W)], 3 * p);
  return { data, width: W, height: H };
}

async function decodeRgba(png: Buffer | string): Promise<{ data: number[]; width: number; height: number }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(4);
  return { data: Array.from(data), width: info.width, height: info.height };
}

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'viz-png-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('overlayToPng', () => {
  test('round trip: the PNG decodes to the same RGBA, alpha included', async () => {
    const picture = drawDetections(pattern(), pred);
    picture.data[3] = 7; // one translucent pixel
    const png = await overlayToPng(picture);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(await decodeRgba(png)).toEqual({ data: Array.from(picture.data), width: W, height: H });
  });

  test('rejects a buffer of the wrong size', async () => {
    const bad: RgbaImage = { data: new Uint8ClampedArray(10), width: W, height: H };
    await expect(overlayToPng(bad)).rejects.toThrow(`Error in overlayToPng: the picture data must be ${4 * W * H} bytes of RGBA (48x32), got 10`);
  });
});

describe('writeOverlayPng', () => {
  test('from an image file: the file holds drawDetections of the decoded pixels', async () => {
    const src = pattern();
    const input = path.join(tmp, 'input.png');
    await sharp(Buffer.from(src.data), { raw: { width: W, height: H, channels: 3 } }).png().toFile(input);
    const out = path.join(tmp, 'out.png');
    const returned = await writeOverlayPng(input, pred, out, { colorBy: 'label' });
    const expected = drawDetections(src, pred, { colorBy: 'label' });
    expect(Array.from(returned.data)).toEqual(Array.from(expected.data));
    expect(await decodeRgba(out)).toEqual({ data: Array.from(expected.data), width: W, height: H });
  });

  test('from encoded bytes and from raw pixels', async () => {
    const src = pattern();
    const bytes = await sharp(Buffer.from(src.data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    const expected = Array.from(drawDetections(src, pred).data);
    const a = path.join(tmp, 'a.png');
    const b = path.join(tmp, 'b.png');
    await writeOverlayPng(new Uint8Array(bytes), pred, a);
    await writeOverlayPng(src, pred, b);
    expect((await decodeRgba(a)).data).toEqual(expected);
    expect((await decodeRgba(b)).data).toEqual(expected);
  });

  test('errors name the problem: options before reading, sizes, the image file and the output file', async () => {
    const out = path.join(tmp, 'never.png');
    await expect(writeOverlayPng(path.join(tmp, 'missing.png'), pred, out, { alpha: 3 })).rejects.toThrow(
      /^Error in writeOverlayPng: invalid options:\n {2}alpha: must be a number in \[0, 1\], got 3$/,
    );
    await expect(writeOverlayPng(path.join(tmp, 'missing.png'), pred, out)).rejects.toThrow(/Error in writeOverlayPng: readImage: image file not found: .*missing\.png/);
    await expect(writeOverlayPng(greyImage(20, 16), pred, out)).rejects.toThrow(/Error in writeOverlayPng: the image is 20x16 \(width x height\) but the prediction was made on a 48x32 image/);
    const noDir = path.join(tmp, 'no', 'such', 'dir', 'x.png');
    await expect(writeOverlayPng(pattern(), pred, noDir)).rejects.toThrow(`Error in writeOverlayPng: cannot write ${noDir}`);
    await expect(fs.stat(out)).rejects.toThrow(/ENOENT/);
  });

  test('the image file is decoded with predict\'s pixel limit, which maxPixels raises', async () => {
    const input = path.join(tmp, 'limit.png');
    await sharp(Buffer.from(pattern().data), { raw: { width: W, height: H, channels: 3 } }).png().toFile(input);
    await expect(writeOverlayPng(input, pred, path.join(tmp, 'l.png'), { maxPixels: 100 })).rejects.toThrow(/above the limit/);
    await expect(writeOverlayPng(input, pred, path.join(tmp, 'l.png'), { maxPixels: W * H })).resolves.toBeDefined();
  });

  test('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    const input = path.join(tmp, 'leak.png');
    await sharp(Buffer.from(pattern().data), { raw: { width: W, height: H, channels: 3 } }).png().toFile(input);
    await writeOverlayPng(input, pred, path.join(tmp, 'leak.out.png'));
    await overlayToPng(drawDetections(pattern(), pred));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('writePicturePng', () => {
  test('writes any picture as PNG, atomically (no temporary file left), and decodes to the same RGBA', async () => {
    const picture = blankImage(5, 3, [10, 200, 30]);
    picture.data.set([1, 2, 3, 4], 4 * 7);
    const file = path.join(tmp, 'stage.png');
    await writePicturePng(file, picture);
    const back = await decodeRgba(file);
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(back.data).toEqual(Array.from(picture.data));
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith('stage') || f.includes('.tmp'))).toEqual(['stage.png']);
  });

  test('an empty picture or a bad path is an error naming writePicturePng', async () => {
    await expect(writePicturePng(path.join(tmp, 'empty.png'), blankImage(0, 0))).rejects.toThrow(/Error in writePicturePng: the picture size must be positive integers, got 0x0/);
    await expect(writePicturePng('', blankImage(1, 1))).rejects.toThrow(/Error in writePicturePng: outFile must be a file path/);
    await expect(writePicturePng(path.join(tmp, 'no', 'such', 'dir.png'), blankImage(1, 1))).rejects.toThrow(/Error in writePicturePng: cannot write/);
  });
});
