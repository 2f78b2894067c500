import * as tf from '@tensorflow/tfjs';
import { roiAlign } from '../../src/roi/roi_align';
import { CsrMatMulImplementation } from '../../src/roi/csr_matmul';
import { describeEachBackend } from '../support/backends';
import { maxRelError, naiveRoiAlign, naiveRoiAlignAdjoint, NaiveInput, seededValues } from './support/naive_roi_align';

const SHAPE: [number, number, number, number] = [2, 7, 9, 3]; // [N, H, W, C]

// Boxes in image coordinates of a 14 x 18 image (spatial scale 0.5) or of the map itself (1).
const BOXES: number[][] = [
  [2, 3, 12, 11], // inside
  [-6, -4, 8, 6], // crosses top and left
  [10, 8, 25, 20], // crosses bottom and right
  [-3, 5, 22, 9], // crosses left and right
  [-20, -20, -8, -6], // fully outside, top-left
  [30, 30, 40, 38], // fully outside, bottom-right
  [5, 5, 5.3, 5.2], // tiny (forced to 1x1 when not aligned)
  [-40, -35, 60, 55], // huge: most samples outside
  [9, 4, 4, 10], // degenerate: x2 < x1
  [-2.5, -2.5, -0.5, -0.5], // samples at exactly -1 (scale 0.5, 1 bin, grid 2)
  [17.5, 13.5, 19.5, 15.5], // samples exactly on W and H (scale 0.5)
  [0, 0, 18, 14], // the whole image
  [3.3, 1.7, 11.1, 12.9], // fractional
];
const BOX_INDICES = BOXES.map((_, i) => i % 2);

interface Config {
  name: string;
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

const CONFIGS: Config[] = [
  { name: 'sampling 2, not aligned, 2x3, scale 0.5', outputSize: [2, 3], spatialScale: 0.5, samplingRatio: 2, aligned: false },
  { name: 'sampling 2, aligned, 7x7, scale 0.5', outputSize: [7, 7], spatialScale: 0.5, samplingRatio: 2, aligned: true },
  { name: 'adaptive, not aligned, 3x2, scale 1', outputSize: [3, 2], spatialScale: 1, samplingRatio: 0, aligned: false },
  { name: 'adaptive, aligned, 2x2, scale 0.5', outputSize: [2, 2], spatialScale: 0.5, samplingRatio: 0, aligned: true },
  { name: 'sampling 1, not aligned, 1x1, scale 0.25', outputSize: [1, 1], spatialScale: 0.25, samplingRatio: 1, aligned: false },
];

const FEATURES = seededValues(SHAPE.reduce((a, b) => a * b), 7);

function naiveInput(cfg: Config): NaiveInput {
  return { features: FEATURES, shape: SHAPE, boxes: BOXES, boxIndices: BOX_INDICES, ...cfg };
}

function run(cfg: Config, implementation: CsrMatMulImplementation, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() =>
    roiAlign(x, tf.tensor2d(BOXES), tf.tensor1d(BOX_INDICES, 'int32'), cfg.outputSize, cfg.spatialScale, cfg.samplingRatio, cfg.aligned, {
      implementation,
    }),
  );
}

describeEachBackend('roiAlign', () => {
  let x: tf.Tensor4D;
  beforeAll(() => {
    x = tf.tensor4d(FEATURES, SHAPE);
  });
  afterAll(() => x.dispose());

  for (const implementation of ['kernel', 'composed'] as const) {
    describe(`${implementation} implementation`, () => {
      for (const cfg of CONFIGS) {
        it(`forward matches the naive torchvision loop: ${cfg.name}`, () => {
          const y = run(cfg, implementation, x);
          expect(y.shape).toEqual([BOXES.length, ...cfg.outputSize, SHAPE[3]]);
          const expected = naiveRoiAlign(naiveInput(cfg));
          expect(maxRelError(y.dataSync(), expected)).toBeLessThan(1e-6);
          // Boxes fully outside the map pool to exact zeros.
          const per = cfg.outputSize[0] * cfg.outputSize[1] * SHAPE[3];
          const data = y.dataSync();
          for (const r of [4, 5]) expect(Array.from(data.subarray(r * per, (r + 1) * per)).every((v) => v === 0)).toBe(true);
          y.dispose();
        });

        it(`gradient matches the naive adjoint: ${cfg.name}`, () => {
          const n = BOXES.length * cfg.outputSize[0] * cfg.outputSize[1] * SHAPE[3];
          const dyData = seededValues(n, 99);
          const dy = tf.tensor4d(dyData, [BOXES.length, ...cfg.outputSize, SHAPE[3]]);
          const g = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(run(cfg, implementation, f as tf.Tensor4D), dy)))(x);
          expect(g.shape).toEqual(SHAPE);
          const expected = naiveRoiAlignAdjoint(naiveInput(cfg), dyData);
          expect(maxRelError(g.dataSync(), expected)).toBeLessThan(1e-6);
          tf.dispose([g, dy]);
        });
      }
    });
  }

  it('kernel and composed paths agree on a larger random case', () => {
    const feats = tf.tensor4d(seededValues(2 * 20 * 30 * 8, 3), [2, 20, 30, 8]);
    const R = 60;
    const u = seededValues(4 * R, 11);
    const boxes: number[] = [];
    for (let r = 0; r < R; r++) {
      const x1 = u[4 * r] * 70 + 50;
      const y1 = u[4 * r + 1] * 50 + 35;
      boxes.push(x1, y1, x1 + Math.abs(u[4 * r + 2]) * 60, y1 + Math.abs(u[4 * r + 3]) * 40);
    }
    const b = tf.tensor2d(boxes, [R, 4]);
    const bi = tf.tensor1d(Array.from({ length: R }, (_, i) => (i * 7) % 2), 'int32');
    for (const [sr, aligned] of [[2, false], [0, true]] as const) {
      const k = roiAlign(feats, b, bi, [7, 7], 0.25, sr, aligned, { implementation: 'kernel' });
      const c = roiAlign(feats, b, bi, [7, 7], 0.25, sr, aligned, { implementation: 'composed' });
      expect(maxRelError(k.dataSync(), c.dataSync())).toBeLessThan(1e-6);
      tf.dispose([k, c]);
    }
    tf.dispose([feats, b, bi]);
  });

  describe('hand-computed on a 5x5 arange (detectron2 test_roi_align)', () => {
    // Feature (y, x) = 5y + x. Bilinear interpolation of a linear function is exact, so inside
    // the map each bin is 5 * ybar + xbar over its sample points.
    let a: tf.Tensor4D;
    beforeAll(() => {
      a = tf.tensor4d(Array.from({ length: 25 }, (_, i) => i), [1, 5, 5, 1]);
    });
    afterAll(() => a.dispose());
    const pool = (box: number[], size: [number, number], sr: number, aligned: boolean): number[] =>
      tf.tidy(() => Array.from(roiAlign(a, tf.tensor2d([box]), tf.tensor1d([0], 'int32'), size, 1, sr, aligned).dataSync()));

    it('box [1, 1, 3, 3] to 4x4, adaptive, without the half-pixel shift', () => {
      // roi 2x2, bins 0.5, grid ceil(0.5) = 1: samples at 1.25, 1.75, 2.25, 2.75.
      expect(pool([1, 1, 3, 3], [4, 4], 0, false)).toEqual([
        7.5, 8, 8.5, 9, 10, 10.5, 11, 11.5, 12.5, 13, 13.5, 14, 15, 15.5, 16, 16.5,
      ]);
    });

    it('box [1, 1, 3, 3] to 4x4, adaptive, aligned', () => {
      // Start shifted to 0.5: samples at 0.75, 1.25, 1.75, 2.25.
      expect(pool([1, 1, 3, 3], [4, 4], 0, true)).toEqual([
        4.5, 5, 5.5, 6, 7, 7.5, 8, 8.5, 9.5, 10, 10.5, 11, 12, 12.5, 13, 13.5,
      ]);
    });

    it('box [0, 0, 4, 4] to 2x2 with 2x2 samples per bin', () => {
      // Bin 0 samples at 0.5, 1.5 (mean 1); bin 1 at 2.5, 3.5 (mean 3).
      expect(pool([0, 0, 4, 4], [2, 2], 2, false)).toEqual([6, 8, 16, 18]);
    });

    it('clamps samples between H-1 and H to the last row and column', () => {
      // Samples at 3.5 and 4.5; 4.5 lies past H-1 = 4 and reads row/column 4.
      expect(pool([3, 3, 5, 5], [2, 2], 1, false)).toEqual([21, 21.5, 23.5, 24]);
    });

    it('drops samples beyond -1 and clamps those in [-1, 0] to the first column', () => {
      // x samples at -1.5 (dropped: 0) and -0.5 (reads x = 0); y sample at 2.
      expect(pool([-2, 1, 0, 3], [1, 2], 1, false)).toEqual([0, 10]);
    });
  });

  it('returns [0, oh, ow, C] for an empty box list, with a zero gradient', () => {
    const boxes = tf.zeros([0, 4]) as tf.Tensor2D;
    const idx = tf.zeros([0], 'int32') as tf.Tensor1D;
    const y = roiAlign(x, boxes, idx, [7, 7], 0.25, 2);
    expect(y.shape).toEqual([0, 7, 7, 3]);
    const g = tf.grad((f: tf.Tensor) => tf.sum(roiAlign(f as tf.Tensor4D, boxes, idx, [7, 7], 0.25, 2)))(x);
    expect(g.shape).toEqual(SHAPE);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([boxes, idx, y, g]);
  });

  it('does not leak tensors, forward or backward', () => {
    const boxes = tf.tensor2d(BOXES);
    const idx = tf.tensor1d(BOX_INDICES, 'int32');
    const dy = tf.ones([BOXES.length, 7, 7, 3]);
    const before = tf.memory().numTensors;
    roiAlign(x, boxes, idx, [7, 7], 0.5, 2).dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const implementation of ['kernel', 'composed'] as const) {
      const g = tf.grad((f: tf.Tensor) =>
        tf.sum(tf.mul(roiAlign(f as tf.Tensor4D, boxes, idx, [7, 7], 0.5, 0, true, { implementation }), dy)),
      )(x);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([boxes, idx, dy]);
  });
});

describeEachBackend(
  'roiAlign input checks',
  () => {
    let x: tf.Tensor4D;
    let b: tf.Tensor2D;
    let i: tf.Tensor1D;
    beforeAll(() => {
      x = tf.zeros([1, 4, 4, 2]);
      b = tf.tensor2d([[0, 0, 2, 2]]);
      i = tf.tensor1d([0], 'int32');
    });
    afterAll(() => tf.dispose([x, b, i]));

    it('names the argument and what is wrong', () => {
      expect(() => roiAlign(x, tf.zeros([1, 5]) as tf.Tensor2D, i, [2, 2], 1, 2)).toThrow(
        'Error in roiAlign: boxes must be [R, 4], got float32 [1, 5]',
      );
      expect(() => roiAlign(tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D, b, i, [2, 2], 1, 2)).toThrow(
        /Error in roiAlign: features must be a float32 tensor \[N, H, W, C\], got float32 \[4, 4, 2\]/,
      );
      expect(() => roiAlign(x, b, tf.tensor1d([0], 'float32'), [2, 2], 1, 2)).toThrow(/boxIndices must be an int32 tensor/);
      expect(() => roiAlign(x, b, tf.tensor1d([0, 0], 'int32'), [2, 2], 1, 2)).toThrow(/boxIndices must have 1 entries/);
      expect(() => roiAlign(x, b, tf.tensor1d([1], 'int32'), [2, 2], 1, 2)).toThrow(
        'Error in roiAlign: boxIndices[0] = 1 is outside [0, 1) (features hold 1 images)',
      );
      expect(() => roiAlign(x, b, i, [0, 2], 1, 2)).toThrow(/outputSize must be two positive integers/);
      expect(() => roiAlign(x, b, i, [2, 2], 0, 2)).toThrow(/spatialScale must be a positive number, got 0/);
      expect(() => roiAlign(x, b, i, [2, 2], 1, 1.5)).toThrow(/samplingRatio must be an integer/);
      expect(() => roiAlign(x, b, i, [2, 2], 1, 2, false, { implementation: 'fast' as 'auto' })).toThrow(
        /implementation must be one of auto, kernel, composed/,
      );
    });
  },
  ['cpu'],
);
