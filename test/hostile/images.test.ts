/**
 * Hostile images. Inputs covered:
 *  - PNG bomb: a ~200 KB solid-colour PNG declaring 8000x8000 (64 MP), as a file and as bytes
 *    given to predict: refused from the header, peak RSS of a fresh process under 500 MB,
 *    no tensor leaked;
 *  - a PNG whose header declares 100000x100000 with no pixel data behind it;
 *  - SVG (118 bytes declaring 8000x8000, and a 10x10 one): refused as a format, whatever its size;
 *  - libvips' native `.v` format (sharp can open it; not an accepted format);
 *  - unknown bytes (text, a PDF header, random bytes): refused as unrecognised, first bytes shown;
 *  - a 51.2 MP PNG (just above the default limit): refused by default, decoded with a raised
 *    `maxPixels`; a 24 MP camera-sized JPEG passes by default;
 *  - an animated GIF: only its first frame is decoded, and the limit applies to one frame;
 *  - invalid `maxPixels` values, also on the command line (`maskrcnn predict --max-pixels`).
 * And the cost of masks in results: the default cropped mask is the window of the full mask
 * (`masks: 'full'`), the RLE format and `toCocoResults` give the same pycocotools strings from
 * every format.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { CroppedMask, DetectionMask, MaskRCNNModel, maskToCocoRle, maskToFull, maskToRle } from '../../src/api/model';
import { toCocoResults } from '../../src/api/coco_results';
import { createProgram } from '../../src/cli/main';
import { DEFAULT_MAX_PIXELS, readImage } from '../../src/data/image_io';
import { fromMaskRowMajor } from '../../src/data/mask/encode';
import { toCompressedJson } from '../../src/data/mask/rle_string';
import { COCO_CATEGORY_NAMES } from '../../src/model/coco_names';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { useBackend } from '../support/backends';
import { handWrittenPng } from '../support/png';
import { runInChild } from '../support/child_process';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-images-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A solid-colour PNG of any size: compresses to about 3 KB per megapixel. */
function solidPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 10 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** A PNG whose IHDR declares `w x h` RGB, with almost no pixel data. */
function headerOnlyPng(w: number, h: number): Buffer {
  return handWrittenPng(w, h, 8, 2, Buffer.alloc(10));
}

const SVG_BOMB = '<svg xmlns="http://www.w3.org/2000/svg" width="8000" height="8000"><rect width="8000" height="8000" fill="red"/></svg>';

describe('hostile images', () => {
  test('the default limit admits a 24 MP photo and refuses 8000x8000', () => {
    expect(DEFAULT_MAX_PIXELS).toBe(50_000_000);
    expect(6000 * 4000).toBeLessThanOrEqual(DEFAULT_MAX_PIXELS);
    expect(8000 * 8000).toBeGreaterThan(DEFAULT_MAX_PIXELS);
  });

  test('an 8000x8000 PNG bomb is refused from its header, in a fresh process under 500 MB', async () => {
    const bomb = path.join(tmp, 'bomb.png');
    await fs.writeFile(bomb, await solidPng(8000, 8000));
    expect((await fs.stat(bomb)).size).toBeLessThan(400_000);
    const r = await runInChild(`
      const { readImage } = require(root + '/src/data/image_io');
      const fs = require('fs');
      for (const input of [${JSON.stringify(bomb)}, new Uint8Array(fs.readFileSync(${JSON.stringify(bomb)}))]) {
        try {
          await readImage(input, { name: 'upload.png' });
          console.log('DECODED');
        } catch (e) {
          console.log('ERROR ' + e.message);
        }
      }
    `);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^ERROR readImage: .*bomb\.png is 8000x8000 = 64\.0 MP \(64000000 pixels\), above the limit of 50\.0 MP \(maxPixels 50000000\); raise maxPixels/,
    );
    expect(lines[1]).toMatch(/^ERROR readImage: upload\.png is 8000x8000 = 64\.0 MP/);
    console.log(`hostile: PNG bomb 8000x8000 refused, child peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
    expect(r.maxRssMiB).toBeLessThan(500);
  });

  test('a header declaring 100000x100000 with no pixel data is refused by size', async () => {
    await expect(readImage(headerOnlyPng(100000, 100000), { name: 'liar.png' })).rejects.toThrow(
      'readImage: liar.png is 100000x100000 = 10000.0 MP (10000000000 pixels), above the limit of 50.0 MP',
    );
  });

  test('SVG is refused as a format, whatever its size', async () => {
    expect(Buffer.byteLength(SVG_BOMB)).toBeLessThan(120);
    const file = path.join(tmp, 'bomb.svg');
    await fs.writeFile(file, SVG_BOMB);
    const accepted = 'accepted: JPEG, PNG, WebP, GIF (first frame), TIFF (first page), AVIF';
    await expect(readImage(file)).rejects.toThrow(`readImage: ${file} is SVG (sharp format 'svg'), which is not an accepted input format; ${accepted}`);
    const small = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>';
    await expect(readImage(Buffer.from(small), { name: 'icon.svg' })).rejects.toThrow("icon.svg is SVG (sharp format 'svg')");
  });

  test("libvips' native .v format is refused as a format", async () => {
    const file = path.join(tmp, 'image.v');
    await sharp({ create: { width: 4, height: 3, channels: 3, background: 'blue' } }).toFile(file);
    await expect(readImage(file)).rejects.toThrow(`${file} is libvips native (.v) (sharp format 'vips'), which is not an accepted input format`);
  });

  test('unknown bytes are refused as unrecognised, showing their first bytes', async () => {
    const cases: [string, Buffer, string][] = [
      ['notes.txt', Buffer.from('just some text'), '6a 75 73 74 20 73 6f 6d'],
      ['doc.pdf', Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF'), '25 50 44 46 2d 31 2e 34'],
      ['noise.bin', Buffer.from([0, 255, 1, 254, 2]), '00 ff 01 fe 02'],
    ];
    for (const [name, bytes, hex] of cases) {
      const file = path.join(tmp, name);
      await fs.writeFile(file, bytes);
      const re = new RegExp(`readImage: cannot decode .*${name.replace('.', '\\.')}: .*starts with bytes \\[${hex}\\] \\(corrupt file or unsupported format; supported: JPEG, PNG`);
      await expect(readImage(file)).rejects.toThrow(re);
      await expect(readImage(bytes, { name })).rejects.toThrow(re);
    }
  });

  test('maxPixels raises the limit: a 51.2 MP PNG decodes with it, a 24 MP JPEG passes by default', async () => {
    const big = path.join(tmp, 'big.png');
    await fs.writeFile(big, await solidPng(8000, 6400));
    const photo = path.join(tmp, 'photo.jpg');
    await sharp({ create: { width: 6000, height: 4000, channels: 3, background: { r: 200, g: 40, b: 10 } } }).jpeg().toFile(photo);
    const r = await runInChild(`
      const { readImage } = require(root + '/src/data/image_io');
      const show = (img) => console.log('OK ' + img.width + 'x' + img.height + ' ' + img.data.length + ' ' + Array.from(img.data.subarray(0, 3)));
      show(await readImage(${JSON.stringify(photo)}));
      try { await readImage(${JSON.stringify(big)}); console.log('DECODED'); } catch (e) { console.log('ERROR ' + e.message); }
      show(await readImage(${JSON.stringify(big)}, { maxPixels: 52000000 }));
    `);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^OK 6000x4000 72000000 /);
    expect(lines[1]).toMatch(/^ERROR readImage: .*big\.png is 8000x6400 = 51\.2 MP \(51200000 pixels\), above the limit of 50\.0 MP/);
    expect(lines[2]).toBe('OK 8000x6400 153600000 200,40,10');
    console.log(`hostile: 24 MP JPEG + 51.2 MP PNG with maxPixels, child peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
  });

  test('an animated GIF gives its first frame; the limit is on one frame', async () => {
    const [w, h] = [4, 3];
    const raw = Buffer.alloc(w * h * 2 * 3);
    raw.fill(200, 0, w * h * 3);
    raw.fill(20, w * h * 3);
    const gif = await sharp(raw, { raw: { width: w, height: 2 * h, channels: 3, pageHeight: h } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const img = await readImage(gif, { maxPixels: 12 });
    expect([img.width, img.height]).toEqual([4, 3]);
    expect(new Set(img.data)).toEqual(new Set([200]));
  });

  test('maskrcnn predict --max-pixels: parsed as a positive integer', async () => {
    const program = createProgram().exitOverride();
    const predict = program.commands.find((c) => c.name() === 'predict')!;
    predict.exitOverride().configureOutput({ writeErr: () => undefined });
    let seen: unknown;
    predict.action((_images: string[], opts: { maxPixels?: number }) => {
      seen = opts.maxPixels;
    });
    await program.parseAsync(['node', 'maskrcnn', 'predict', '--weights', 'w.pth', '--max-pixels', '64000000', 'big.png']);
    expect(seen).toBe(64_000_000);
    for (const bad of ['0', '1.5', 'lots']) {
      await expect(program.parseAsync(['node', 'maskrcnn', 'predict', '--weights', 'w.pth', '--max-pixels', bad, 'big.png'])).rejects.toThrow(
        `option '--max-pixels <n>' argument '${bad}' is invalid. expected an integer in [1, ${Number.MAX_SAFE_INTEGER}], got '${bad}'`,
      );
    }
  });

  test('invalid maxPixels values are refused, naming the input', async () => {
    const png = await solidPng(4, 3);
    for (const bad of [0, -1, 1.5, NaN, '100' as unknown as number]) {
      await expect(readImage(png, { name: 'x.png', maxPixels: bad })).rejects.toThrow(/readImage: maxPixels must be a positive integer, got .* \(reading x\.png\)/);
    }
    await expect(readImage(png, { maxPixels: 11 })).rejects.toThrow('<buffer> is 4x3 = 0.0 MP (12 pixels), above the limit of 0.0 MP (maxPixels 11)');
    expect((await readImage(png, { maxPixels: 12 })).width).toBe(4);
  });
});

/** A deterministic pseudo-random 0/1 pattern. */
function bits(n: number, seed: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 1);
}

describe('mask formats', () => {
  test('maskToRle / maskToFull of a cropped mask equal pycocotools on the pasted full mask (edges, empty windows)', () => {
    const [H, W] = [7, 9];
    const windows: [number, number, number, number][] = [
      [0, 0, 9, 7], // the whole image
      [2, 1, 3, 4], // inside
      [6, 4, 3, 3], // touching the right and bottom edges
      [0, 3, 1, 4], // one column at the left edge
      [9, 7, 0, 0], // empty (box outside the image)
      [4, 0, 0, 5], // empty width
    ];
    windows.forEach(([x, y, width, height], k) => {
      const crop: CroppedMask = { format: 'cropped', x, y, width, height, data: bits(width * height, k + 1), imageWidth: W, imageHeight: H };
      const full = new Uint8Array(H * W);
      for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) full[(y + r) * W + x + c] = crop.data[r * width + c];
      expect(Array.from(maskToFull(crop))).toEqual(Array.from(full));
      const ref = fromMaskRowMajor(full, H, W);
      expect(maskToRle(crop)).toEqual(ref);
      expect(maskToCocoRle(crop)).toEqual(toCompressedJson(ref));
      const rle = { format: 'rle' as const, ...toCompressedJson(ref) };
      expect(Array.from(maskToFull(rle))).toEqual(Array.from(full));
      expect(maskToRle({ format: 'full', width: W, height: H, data: full })).toEqual(ref);
    });
    const bad = { format: 'cropped', x: 5, y: 0, width: 5, height: 1, data: new Uint8Array(5), imageWidth: 9, imageHeight: 7 } as const;
    expect(() => maskToRle(bad)).toThrow('Error in maskToRle: cropped mask window (5, 0, 5x1) is outside the 9x7 image');
    expect(() => maskToFull({ ...bad, x: 0, data: new Uint8Array(3) })).toThrow('cropped mask data must be a Uint8Array of 5 bytes, got 3');
    expect(() => maskToFull(new Uint8Array(4) as unknown as DetectionMask)).toThrow("not a detection mask (format undefined; expected 'cropped', 'full' or 'rle')");
  });

  describe('on predict (small random model)', () => {
    // As test/api/predict.test.ts: random scores hover around 1/91, so everything is kept.
    const FEW = { scoreThreshold: 0, maxDetections: 5 };
    let model: MaskRCNNModel;
    let image: tf.Tensor3D;

    beforeAll(async () => {
      await useBackend('wasm');
      tf.randomNormal([1]).dispose();
      const small = {
        transform: { minSize: 96, maxSize: 160 },
        rpn: { preNmsTopN: { training: 200, testing: 100 }, postNmsTopN: { training: 200, testing: 100 } },
      };
      model = new MaskRCNNModel(new MaskRCNN(small), COCO_CATEGORY_NAMES, undefined);
      const rgb = Int32Array.from({ length: 60 * 80 * 3 }, (_, i) => (i * 37 + (i >> 7)) % 251);
      image = tf.tensor3d(rgb, [60, 80, 3], 'int32');
    });
    afterAll(() => {
      image.dispose();
      model.dispose();
    });

    test('the cropped mask (default) is the window of the full mask; RLE and toCocoResults agree across formats', async () => {
      const [cropped] = await model.predict(image, FEW);
      const [full] = await model.predict(image, { ...FEW, masks: 'full' });
      const [rle] = await model.predict(image, { ...FEW, masks: 'rle' });
      expect(cropped.detections.length).toBeGreaterThan(0);
      expect(full.detections.map((d) => d.score)).toEqual(cropped.detections.map((d) => d.score));
      let croppedBytes = 0;
      cropped.detections.forEach((d, i) => {
        const c = d.mask;
        const f = full.detections[i].mask;
        expect(c.format).toBe('cropped');
        expect([f.format, f.height, f.width, f.data.length]).toEqual(['full', 60, 80, 60 * 80]);
        expect([c.imageHeight, c.imageWidth]).toEqual([60, 80]);
        croppedBytes += c.data.length;
        // The window of the full mask, and nothing set outside it.
        let outside = 0;
        for (let y = 0; y < 60; y++) {
          for (let x = 0; x < 80; x++) {
            const inWindow = x >= c.x && x < c.x + c.width && y >= c.y && y < c.y + c.height;
            if (inWindow) expect(c.data[(y - c.y) * c.width + (x - c.x)]).toBe(f.data[y * 80 + x]);
            else outside += f.data[y * 80 + x];
          }
        }
        expect(outside).toBe(0);
        // The window covers the detection's box (rounded outwards by torchvision's expansion).
        expect(c.x).toBeLessThanOrEqual(Math.max(0, Math.floor(d.box[0])));
        expect(c.x + c.width).toBeGreaterThanOrEqual(Math.min(80, Math.floor(d.box[2])));
        const ref = toCompressedJson(fromMaskRowMajor(f.data, 60, 80));
        const r = rle.detections[i].mask;
        expect({ size: r.size, counts: r.counts }).toEqual(ref);
        expect(maskToCocoRle(c)).toEqual(ref);
      });
      const ids = [7];
      const fromCropped = toCocoResults([cropped], ids);
      expect(toCocoResults([full], ids)).toEqual(fromCropped);
      expect(toCocoResults([rle], ids)).toEqual(fromCropped);
      expect(fromCropped.map((x) => x.segmentation)).toEqual(full.detections.map((d) => toCompressedJson(fromMaskRowMajor(d.mask.data, 60, 80))));
      console.log(
        `hostile: ${cropped.detections.length} detections on 60x80: cropped masks ${croppedBytes} bytes, full ${cropped.detections.length * 60 * 80} bytes`,
      );
    });

    test('bombs, SVG and unknown bytes given to predict are refused naming the input; no tensor leaks', async () => {
      const bomb = path.join(tmp, 'predict-bomb.png');
      await fs.writeFile(bomb, await solidPng(8000, 8000));
      const bombBytes = new Uint8Array(await fs.readFile(bomb));
      await model.predict(image, FEW); // warm-up
      const before = tf.memory().numTensors;
      const cases: [unknown, string | RegExp][] = [
        [bomb, `Error in predict: input 0: readImage: ${bomb} is 8000x8000 = 64.0 MP (64000000 pixels), above the limit of 50.0 MP`],
        [[image, bombBytes], 'Error in predict: input 1: readImage: input 1 is 8000x8000 = 64.0 MP'],
        [Buffer.from(SVG_BOMB), "Error in predict: input 0: readImage: input 0 is SVG (sharp format 'svg'), which is not an accepted input format"],
        [Uint8Array.of(1, 2, 3, 4), /Error in predict: input 0: readImage: cannot decode input 0: .*starts with bytes \[01 02 03 04\]/],
      ];
      for (const [input, message] of cases) {
        await expect(model.predict(input as string, FEW)).rejects.toThrow(message);
        expect(tf.memory().numTensors).toBe(before);
      }
      await expect(model.predict(bombBytes, { ...FEW, maxPixels: 0 })).rejects.toThrow('Error in predict: maxPixels must be a positive integer, got 0');
      await expect(model.predict(image, { ...FEW, masks: 'bitmap' as 'full' })).rejects.toThrow(
        `Error in predict: masks must be one of 'cropped', 'full', 'rle', got "bitmap"`,
      );
      // A raised limit lets a 60x80 PNG through a limit of exactly its size, not one pixel less.
      const png = new Uint8Array(await sharp({ create: { width: 80, height: 60, channels: 3, background: 'red' } }).png().toBuffer());
      await expect(model.predict(png, { ...FEW, maxPixels: 4799 })).rejects.toThrow('input 0 is 80x60 = 0.0 MP (4800 pixels), above the limit');
      expect((await model.predict(png, { ...FEW, maxPixels: 4800 }))[0].width).toBe(80);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
