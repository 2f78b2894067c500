import * as tf from '@tensorflow/tfjs';
import { AnchorGenerator, baseAnchors, gridAnchors, levelStride } from '../../src/rpn/anchor_generator';
import { describeEachBackend } from '../support/backends';
import { readFixture } from './fixture_io';

interface AnchorFixture {
  grids: Array<{ batchShape: [number, number]; gridSizes: Array<[number, number]>; strides: Array<[number, number]>; anchors: number[][][] }>;
  base: Array<{ sizes: number[]; aspectRatios: number[]; baseAnchors: number[][] }>;
}
const fx = readFixture<AnchorFixture>('anchors.json');

describe('anchors', () => {
  it('reproduces torchvision test_anchor_generator literally', () => {
    // sizes ((10,),), aspect_ratios ((1,),), 15x15 image, 3x3 feature map -> stride 5
    const gen = new AnchorGenerator({ sizes: [[10]], aspectRatios: [[1]] });
    const [anchors] = gen.anchors([[3, 3]], [15, 15]);
    expect(Array.from(anchors)).toEqual(
      [
        [-5, -5, 5, 5],
        [0, -5, 10, 5],
        [5, -5, 15, 5],
        [-5, 0, 5, 10],
        [0, 0, 10, 10],
        [5, 0, 15, 10],
        [-5, 5, 5, 15],
        [0, 5, 10, 15],
        [5, 5, 15, 15],
      ].flat(),
    );
  });

  it('rounds base anchors as torchvision (float32, half to even)', () => {
    expect(Array.from(baseAnchors([32], [0.5, 1, 2]))).toEqual([-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23]);
    for (const c of fx.base) {
      expect(Array.from(baseAnchors(c.sizes, c.aspectRatios))).toEqual(c.baseAnchors.flat());
    }
    // 2.5 rounds to 2 and -2.5 to -2 (torch.round), where Math.round would give 3 and -2
    expect(Array.from(baseAnchors([5], [1]))).toEqual([-2, -2, 2, 2]);
    expect(Array.from(baseAnchors([7], [1]))).toEqual([-4, -4, 4, 4]);
  });

  it.each(fx.grids.map((g) => [g.batchShape.join('x'), g] as const))(
    'matches torchvision exactly on a %s batch (strides, order, values)',
    (_name, g) => {
      const gen = new AnchorGenerator();
      expect(gen.numAnchorsPerLocation()).toEqual([3, 3, 3, 3, 3]);
      g.gridSizes.forEach((grid, l) => expect(levelStride(g.batchShape, grid)).toEqual(g.strides[l]));
      const levels = gen.anchors(g.gridSizes, g.batchShape);
      levels.forEach((a, l) => expect(Array.from(a)).toEqual(g.anchors[l].flat()));
    },
  );

  it('uses floor division for strides, e.g. the pool level of a 64x96 batch', () => {
    expect(levelStride([64, 96], [1, 2])).toEqual([64, 48]);
    expect(levelStride([50, 70], [13, 18])).toEqual([3, 3]);
  });

  it('orders anchors location-major (y, then x), then base anchor', () => {
    const base = Float32Array.of(-1, -1, 1, 1, -2, -2, 2, 2);
    const a = gridAnchors([2, 2], [10, 20], base);
    // location (y=0, x=1) is the second location: shift (20, 0)
    expect(Array.from(a.subarray(8, 16))).toEqual([19, -1, 21, 1, 18, -2, 22, 2]);
    // location (y=1, x=0) is the third: shift (0, 10)
    expect(Array.from(a.subarray(16, 20))).toEqual([-1, 9, 1, 11]);
  });

  it('caches per (level, grid size, stride)', () => {
    const gen = new AnchorGenerator();
    const grids: Array<[number, number]> = [[16, 24], [8, 12], [4, 6], [2, 3], [1, 2]];
    const a = gen.anchors(grids, [64, 96]);
    const b = gen.anchors(grids, [64, 96]);
    a.forEach((x, l) => expect(b[l]).toBe(x));
    // same grids in a bigger batch: other strides, other anchors
    const c = gen.anchors(grids, [128, 192]);
    expect(c[0]).not.toBe(a[0]);
    expect(c[0][12]).toBe(a[0][12] + 4); // second location (index 3 * 4) shifts by stride 8, not 4
  });

  it('handles an empty grid and rejects bad input', () => {
    expect(gridAnchors([0, 5], [4, 4], baseAnchors([32], [1]))).toHaveLength(0);
    expect(() => baseAnchors([], [1])).toThrow(/Error in baseAnchors: sizes/);
    expect(() => baseAnchors([32], [-1])).toThrow(/aspectRatios/);
    expect(() => new AnchorGenerator({ sizes: [[32]], aspectRatios: [[1], [2]] })).toThrow(/same non-zero number of levels/);
    expect(() => new AnchorGenerator().anchors([[4, 4]], [32, 32])).toThrow(/expected 5 grid sizes/);
    expect(() => levelStride([32, 32], [0, 4])).toThrow(/Error in levelStride/);
  });
});

describeEachBackend('AnchorGenerator.anchorTensors', () => {
  it('makes [Hl*Wl*A, 4] tensors that the caller frees', async () => {
    const gen = new AnchorGenerator();
    const g = fx.grids[0];
    const before = tf.memory().numTensors;
    const ts = gen.anchorTensors(g.gridSizes, g.batchShape);
    expect(ts.map((t) => t.shape)).toEqual(g.gridSizes.map(([h, w]) => [h * w * 3, 4]));
    expect(Array.from(await ts[4].data())).toEqual(g.anchors[4].flat());
    tf.dispose(ts);
    expect(tf.memory().numTensors).toBe(before);
  });
});
