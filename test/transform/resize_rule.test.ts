import { resizedSize } from '../../src/transform/resize_rule';
import cases from '../fixtures/torchvision/resize_cases.json';

describe('resizedSize', () => {
  it(`gives torchvision 0.14's output size for all ${cases.length} recorded cases`, () => {
    let agree = 0;
    for (const [h, w, mn, mx, oh, ow] of cases as number[][]) {
      if (oh < 0) {
        expect(() => resizedSize(h, w, mn, mx)).toThrow(/aspect ratio is too extreme/);
      } else {
        const r = resizedSize(h, w, mn, mx);
        expect([h, w, mn, mx, r.height, r.width]).toEqual([h, w, mn, mx, oh, ow]);
      }
      agree++;
    }
    expect(agree).toBe(310);
  });

  it('reproduces torch\'s float32 reciprocal rounding (400x600 at 640 becomes 639x959)', () => {
    expect(resizedSize(400, 600, 640, 1000)).toMatchObject({ height: 639, width: 959 });
    expect(resizedSize(480, 640, 800, 1333)).toEqual({ height: 800, width: 1066, scale: 1.6666667461395264 });
  });

  it('rejects sizes that are not positive numbers, naming the argument', () => {
    expect(() => resizedSize(0, 10, 800, 1333)).toThrow('Error in resizedSize: height must be a positive number, got 0');
    expect(() => resizedSize(10, NaN, 800, 1333)).toThrow('width must be a positive number, got NaN');
    expect(() => resizedSize(10, 10, -1, 1333)).toThrow('minSize must be a positive number, got -1');
  });
});
