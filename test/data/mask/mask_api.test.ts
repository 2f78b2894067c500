/**
 * Hand-checked small cases, row-major helper, pycocotools quirks kept on purpose, and the
 * errors raised on bad input.
 */
import {
  annToRle,
  area,
  bboxIou,
  decode,
  encode,
  frBbox,
  frPoly,
  fromMaskRowMajor,
  merge,
  rleFromString,
  rleIou,
  rleToString,
  toBbox,
  toCompressedJson,
} from '../../../src/data/mask';

describe('mask api: small cases', () => {
  it('encodes and decodes a 2x2 mask, column-major', () => {
    const rle = encode(Uint8Array.of(0, 0, 0, 1), 2, 2);
    expect(Array.from(rle.counts)).toEqual([3, 1]);
    expect(decode(rle)).toEqual(Uint8Array.of(0, 0, 0, 1));
    expect(toCompressedJson(rle)).toEqual({ size: [2, 2], counts: '31' });
  });

  it('starts with an empty zero run when the first pixel is set', () => {
    expect(Array.from(encode(Uint8Array.of(1, 1, 0, 1), 2, 2).counts)).toEqual([0, 2, 1, 1]);
  });

  it('row-major helper equals encode of the transposed mask', () => {
    // 2 rows x 3 columns, row-major: [[1,0,1],[1,1,0]]
    const rowMajor = Uint8Array.of(1, 0, 1, 1, 1, 0);
    const colMajor = Uint8Array.of(1, 1, 0, 1, 1, 0);
    expect(fromMaskRowMajor(rowMajor, 2, 3)).toEqual(encode(colMajor, 2, 3));
  });

  it('merges by union and intersection', () => {
    const a = { h: 2, w: 2, counts: [0, 1, 3] };
    const b = { h: 2, w: 2, counts: [3, 1] };
    expect(Array.from(merge([a, b]).counts)).toEqual([0, 1, 2, 1]);
    expect(Array.from(merge([a, b], true).counts)).toEqual([4]);
    expect(Array.from(merge([a]).counts)).toEqual([0, 1, 3]);
  });

  it('area, box and IoU with the crowd rule', () => {
    const a = { h: 2, w: 2, counts: [0, 2, 2] }; // left column
    const b = { h: 2, w: 2, counts: [1, 2, 1] }; // (0,1) and (1,0)
    expect(area(a)).toBe(2);
    expect(toBbox(a)).toEqual([0, 0, 1, 2]);
    expect(rleIou([a], [b], [false])[0][0]).toBeCloseTo(1 / 3, 15);
    expect(rleIou([a], [b], [true])[0][0]).toBe(0.5);
    expect(bboxIou([[0, 0, 2, 2]], [[1, 0, 2, 2]], [false])[0][0]).toBeCloseTo(1 / 3, 15);
    expect(bboxIou([[0, 0, 2, 2]], [[1, 0, 2, 2]], [true])[0][0]).toBe(0.5);
    expect(rleIou([], [a], [false])).toEqual([]);
  });

  it('toBbox spans the full height when a run wraps to the next column', () => {
    // 3x3, foreground pixels 2..3 column-major: (x0,y2) and (x1,y0)
    expect(toBbox({ h: 3, w: 3, counts: [2, 2, 5] })).toEqual([0, 0, 2, 3]);
    expect(toBbox({ h: 3, w: 3, counts: [9] })).toEqual([0, 0, 0, 0]);
  });

  it('IoU of masks of different sizes is -1, as pycocotools', () => {
    const a = { h: 2, w: 2, counts: [0, 4] };
    const b = { h: 2, w: 3, counts: [0, 6] };
    expect(rleIou([a], [b], [false])[0][0]).toBe(-1);
  });

  it('rasterises a square polygon and a box', () => {
    expect(area(frPoly([0, 0, 0, 4, 4, 4, 4, 0], 10, 10))).toBe(16);
    expect(toBbox(frBbox([1, 1, 2, 3], 8, 8))).toEqual([1, 1, 2, 3]);
  });

  it('annToRle merges polygons and reads both RLE forms', () => {
    const two = annToRle([[0, 0, 0, 2, 2, 2, 2, 0], [4, 4, 4, 6, 6, 6, 6, 4]], 8, 8);
    expect(area(two)).toBe(8);
    expect(Array.from(annToRle({ size: [2, 2], counts: [3, 1] }, 2, 2).counts)).toEqual([3, 1]);
    expect(Array.from(annToRle({ size: [2, 2], counts: '31' }, 2, 2).counts)).toEqual([3, 1]);
  });

  it('annToRle reads a first polygon of 4 numbers as boxes, as pycocotools frPyObjects', () => {
    expect(annToRle([[1, 1, 2, 3]], 8, 8)).toEqual(frBbox([1, 1, 2, 3], 8, 8));
  });

  it('codec handles runs needing 33-bit differences and long strings', () => {
    const h = 60000;
    const w = 60000;
    const rle = { h, w, counts: Uint32Array.of(0, 1, h * w - 3, 1, 1) };
    expect(rleFromString(rleToString(rle), h, w)).toEqual(rle);
  });
});

describe('mask api: bad input', () => {
  it('rejects counts that do not sum to h*w', () => {
    expect(() => area({ h: 2, w: 2, counts: [1, 1] })).toThrow(/counts sum to 2 .*h\*w = 2\*2 = 4/);
    expect(() => rleFromString('31', 3, 3)).toThrow(/counts sum to 4/);
  });
  it('rejects negative and fractional counts', () => {
    expect(() => decode({ h: 2, w: 2, counts: [5, -1] })).toThrow(/counts\[1\] = -1/);
    expect(() => decode({ h: 2, w: 2, counts: [3.5, 0.5] })).toThrow(/counts\[0\] = 3.5/);
  });
  it('rejects non-positive sizes', () => {
    expect(() => frPoly([0, 0, 1, 1, 2, 0], 0, 5)).toThrow(/positive integers h, w; got h=0, w=5/);
    expect(() => encode(new Uint8Array(0), -1, 0)).toThrow(/positive integers/);
  });
  it('rejects bad polygons', () => {
    expect(() => frPoly([0, 0, 1, 1], 5, 5)).toThrow(/2 points, needs at least 3/);
    expect(() => frPoly([0, 0, 1, 1, 2], 5, 5)).toThrow(/odd length 5/);
    expect(() => frPoly([0, 0, 1, NaN, 2, 0], 5, 5)).toThrow(/polygon\[3\] = NaN/);
    expect(() => annToRle([], 5, 5)).toThrow(/empty list of polygons/);
    expect(() => annToRle([[0, 0, 1, 1, 2, 2], [1, 2, 3]], 5, 5)).toThrow(/polygon 1 has length 3/);
  });
  it('rejects a mask of the wrong length and bad strings', () => {
    expect(() => encode(new Uint8Array(3), 2, 2)).toThrow(/3 values, expected h\*w = 2\*2 = 4/);
    expect(() => rleFromString('3 1', 2, 2)).toThrow(/position 1 is outside the RLE alphabet/);
    expect(() => rleFromString('3h', 2, 2)).toThrow(/ends inside a run/);
  });
  it('rejects merging different sizes and crowd flags of the wrong length', () => {
    expect(() => merge([{ h: 2, w: 2, counts: [4] }, { h: 1, w: 4, counts: [4] }])).toThrow(/rles\[1\] is 1x4/);
    expect(() => merge([])).toThrow(/at least one RLE/);
    expect(() => rleIou([{ h: 1, w: 1, counts: [1] }], [{ h: 1, w: 1, counts: [1] }], [])).toThrow(/one flag per gt/);
  });
});
