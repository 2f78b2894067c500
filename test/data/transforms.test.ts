import { CocoTarget } from '../../src/data/coco_dataset';
import { decodeMasksRowMajor, frPoly, fromMaskRowMajor } from '../../src/data/mask';
import { renderShapesImage } from '../../src/data/shapes';
import { applyTrainTransforms, resizeMasksNearest, sampleTransformParams, transformBoxes } from '../../src/data/transforms';
import { nearestIndices } from '../../src/transform/interpolate';
import { resizedSize } from '../../src/transform/resize_rule';
import { Rng } from '../../src/util/random';

describe('pixels, boxes, masks', () => {
  test('boxes: flip x1 = W - x2, then scale by newSize / oldSize', () => {
    const b = Float32Array.of(10, 5, 30, 15);
    expect(Array.from(transformBoxes(b, 50, 100, 100, 200, true))).toEqual([140, 10, 180, 30]);
    expect(Array.from(transformBoxes(b, 50, 100, 100, 200, false))).toEqual([20, 10, 60, 30]);
    expect(Array.from(transformBoxes(b, 50, 100, 50, 100, true))).toEqual([70, 5, 90, 15]);
  });

  test('masks: nearest resize + flip from RLE equals the naive composition', () => {
    const [h, w] = [23, 31];
    const rles = [frPoly([2, 2, 20, 3, 12, 19], h, w), frPoly([25, 1, 30, 10, 18, 21, 27, 22], h, w)];
    const full = decodeMasksRowMajor(rles, h, w);
    for (const flip of [false, true]) {
      for (const [oh, ow] of [
        [40, 54],
        [11, 15],
        [46, 62],
      ]) {
        const got = resizeMasksNearest(rles, h, w, oh, ow, flip);
        const iy = nearestIndices(h, oh);
        const ix = nearestIndices(w, ow);
        for (let n = 0; n < 2; n++) {
          for (let y = 0; y < oh; y++) {
            for (let x = 0; x < ow; x++) {
              const sx = ix[x];
              const want = full[(n * h + iy[y]) * w + (flip ? w - 1 - sx : sx)];
              if (got[(n * oh + y) * ow + x] !== want) throw new Error(`mismatch at n=${n} y=${y} x=${x} flip=${flip}`);
            }
          }
        }
      }
    }
  });

  test('image, boxes and masks stay aligned through flip + resize', () => {
    const r = renderShapesImage(4, 0, { width: 120, height: 90, shapesPerImage: [3, 3], noise: 0 });
    const { height: h, width: w } = r;
    const n = r.shapes.length;
    const gtMasks = r.shapes.map((s) => fromMaskRowMajor(s.mask, h, w));
    const gtBoxes = new Float32Array(n * 4);
    r.shapes.forEach((s, k) => {
      let [x1, y1, x2, y2] = [w, h, 0, 0];
      for (let p = 0; p < h * w; p++) {
        if (!s.mask[p]) continue;
        const x = p % w;
        const y = Math.floor(p / w);
        [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
      }
      gtBoxes.set([x1, y1, x2, y2], k * 4);
    });
    const target: CocoTarget = {
      imageId: 1, fileName: 'x.png', filePath: 'x.png', height: h, width: w,
      annotationIds: Int32Array.from(r.shapes.map((_, i) => i)), gtBoxes, gtLabels: new Int32Array(n).fill(1), gtCrowd: new Uint8Array(n), gtMasks,
    };
    const params = { flip: true, minSize: 200, maxSize: 1000, ...resizedSize(h, w, 200, 1000) };
    const s = applyTrainTransforms({ data: r.image, height: h, width: w }, target, params);
    expect([s.height, s.width]).toEqual([200, 266]);
    expect(s.image.length).toBe(200 * 266 * 3);
    for (let k = 0; k < n; k++) {
      const mask = s.gtMasks.subarray(k * s.height * s.width, (k + 1) * s.height * s.width);
      let [x1, y1, x2, y2] = [Infinity, Infinity, -1, -1];
      let colorErr = 0;
      let count = 0;
      for (let p = 0; p < mask.length; p++) {
        if (!mask[p]) continue;
        const x = p % s.width;
        const y = Math.floor(p / s.width);
        [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
        colorErr += Math.abs(s.image[p * 3] * 255 - r.shapes[k].color[0]);
        count++;
      }
      const box = Array.from(s.gtBoxes.subarray(k * 4, k * 4 + 4));
      [x1, y1, x2, y2].forEach((v, i) => expect(Math.abs(v - box[i])).toBeLessThanOrEqual(2.5));
      // Inside the mask the image shows the shape's colour (shading moves it a little).
      expect(colorErr / count).toBeLessThan(40);
    }
  });
});

describe('random choices', () => {
  test('deterministic under a seed; sizes follow the torchvision rule', () => {
    const opts = { minSizes: [480, 640, 800], maxSize: 1333 };
    const a = Array.from({ length: 20 }, (_, i) => sampleTransformParams(new Rng(i), 375, 500, opts));
    const b = Array.from({ length: 20 }, (_, i) => sampleTransformParams(new Rng(i), 375, 500, opts));
    expect(a).toEqual(b);
    for (const p of a) {
      const r = resizedSize(375, 500, p.minSize, 1333);
      expect([p.height, p.width]).toEqual([r.height, r.width]);
    }
  });

  test('every short side is used, flips happen about half the time, jitter stays in range', () => {
    const rng = new Rng(9);
    const sizes = new Set<number>();
    let flips = 0;
    for (let i = 0; i < 400; i++) {
      const p = sampleTransformParams(rng, 100, 200, { minSizes: [64, 96, 128] });
      sizes.add(p.minSize);
      flips += p.flip ? 1 : 0;
    }
    expect([...sizes].sort((x, y) => x - y)).toEqual([64, 96, 128]);
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    for (let i = 0; i < 100; i++) {
      const p = sampleTransformParams(rng, 100, 200, { minSizes: [100], scaleJitter: [0.5, 2], flipProbability: 0 });
      expect(p.flip).toBe(false);
      expect(p.minSize).toBeGreaterThanOrEqual(50);
      expect(p.minSize).toBeLessThanOrEqual(200);
      expect(p.maxSize / p.minSize).toBeCloseTo(13.33, 2);
    }
  });

  test('bad options are rejected with what is valid', () => {
    const rng = new Rng(0);
    expect(() => sampleTransformParams(rng, 10, 10, { minSizes: [] })).toThrow(/minSizes must be a non-empty list/);
    expect(() => sampleTransformParams(rng, 10, 10, { maxSize: -1 })).toThrow(/maxSize/);
    expect(() => sampleTransformParams(rng, 10, 10, { flipProbability: 2 })).toThrow(/\[0, 1\]/);
    expect(() => sampleTransformParams(rng, 10, 10, { scaleJitter: [2, 1] })).toThrow(/scaleJitter/);
    expect(() => sampleTransformParams(rng, 10, 10, { normalize: { mean: [0, 0, 0], std: [1, 0, 1] } })).toThrow(/std > 0/);
  });
});
