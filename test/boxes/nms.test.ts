import { BATCHED_NMS_PER_CLASS_ABOVE, batchedNms, nms } from '../../src/boxes/nms';
import { readFixture } from '../rpn/fixture_io';

interface NmsCase {
  name: string;
  boxes: number[][];
  scores: number[];
  idxs: number[];
  iouThreshold: number;
  batchedKeep: number[];
  nmsKeep: number[];
}

const cases = readFixture<NmsCase[]>('nms.json');

describe('nms and batchedNms against torchvision 0.14', () => {
  it('has the cases the brief asks for', () => {
    const names = cases.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['ties in scores', 'IoU exactly 0.5 at threshold 0.5', 'empty']));
    expect(cases.some((c) => c.scores.length > BATCHED_NMS_PER_CLASS_ABOVE)).toBe(true);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: kept indices identical', (_name, c) => {
    const boxes = Float32Array.from(c.boxes.flat());
    const scores = Float32Array.from(c.scores);
    expect(Array.from(nms(boxes, scores, c.iouThreshold))).toEqual(c.nmsKeep);
    expect(Array.from(batchedNms(boxes, scores, c.idxs, c.iouThreshold))).toEqual(c.batchedKeep);
  });
});

describe('nms semantics', () => {
  it('suppresses only when IoU is strictly above the threshold', () => {
    // IoU of the two boxes is exactly 0.5
    const boxes = [0, 0, 2, 1, 0, 0, 1, 1];
    expect(Array.from(nms(boxes, [0.9, 0.8], 0.5))).toEqual([0, 1]);
    expect(Array.from(nms(boxes, [0.9, 0.8], 0.49))).toEqual([0]);
  });

  it('visits equal scores in index order and returns indices by decreasing score', () => {
    const boxes = [0, 0, 10, 10, 0, 0, 10, 10, 50, 50, 60, 60];
    expect(Array.from(nms(boxes, [0.5, 0.5, 0.7], 0.5))).toEqual([2, 0]);
  });

  it('does not let categories suppress each other, on both torchvision paths', () => {
    for (const n of [4, BATCHED_NMS_PER_CLASS_ABOVE + 2]) {
      const boxes = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) boxes.set([0, 0, 10, 10], 4 * i);
      const scores = Float32Array.from({ length: n }, (_, i) => 1 - i / (2 * n));
      const idxs = Array.from({ length: n }, (_, i) => i % 2);
      // one survivor per category: the best of each
      expect(Array.from(batchedNms(boxes, scores, idxs, 0.5))).toEqual([0, 1]);
    }
  });

  it('returns empty for empty input', () => {
    expect(nms(new Float32Array(0), new Float32Array(0), 0.5)).toHaveLength(0);
    expect(batchedNms(new Float32Array(0), new Float32Array(0), [], 0.5)).toHaveLength(0);
  });

  it('rejects bad input with the argument named', () => {
    expect(() => nms([0, 0, 1], [1], 0.5)).toThrow(/Error in nms: boxes must hold 4 values per score/);
    expect(() => nms([0, 0, 1, 1], [1], NaN)).toThrow(/iouThreshold/);
    expect(() => batchedNms([0, 0, 1, 1], [1], [0, 1], 0.5)).toThrow(/Error in batchedNms: idxs must have one entry/);
    expect(() => batchedNms([0, 0, 1, 1], [1], [-1], 0.5)).toThrow(/non-negative integers/);
  });
});
