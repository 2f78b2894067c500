/**
 * Every case of the pycocotools reference vectors, reproduced bit for bit: RLE strings of
 * polygons, merged polygons, encoded masks and boxes; areas, boxes and IoUs of the dets.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  area,
  bboxIou,
  decode,
  encode,
  frBbox,
  frPoly,
  merge,
  rleFromString,
  rleIou,
  rleToString,
  toBbox,
  toCompressedJson,
  BoxXywh,
  CompressedRleJson,
  Rle,
} from '../../../src/data/mask';

interface VectorCase {
  h: number;
  w: number;
  polygon: number[];
  polygon2: number[];
  poly_rle: CompressedRleJson;
  merged_rle: CompressedRleJson;
  mask_colmajor_bits: string;
  mask_rle: CompressedRleJson;
  bbox_inputs: BoxXywh[];
  bbox_rles: CompressedRleJson[];
  area: number[];
  toBbox: BoxXywh[];
  iscrowd: number[];
  iou_segm: number[][];
  iou_bbox: number[][];
}

const vectors = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../fixtures/pycocotools/mask_vectors.json'), 'utf8'),
) as { cases: VectorCase[] };

function expectClose(actual: Float64Array[], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, d) => {
    expect(row.length).toBe(expected[d].length);
    row.forEach((v, g) => expect(Math.abs(v - expected[d][g])).toBeLessThanOrEqual(1e-9));
  });
}

describe('pycocotools mask vectors', () => {
  it('has cases', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(50);
  });

  vectors.cases.forEach((c, i) => {
    it(`case ${i} (${c.h}x${c.w})`, () => {
      const poly = frPoly(c.polygon, c.h, c.w);
      expect(toCompressedJson(poly)).toEqual(c.poly_rle);
      const merged = merge([poly, frPoly(c.polygon2, c.h, c.w)]);
      expect(rleToString(merged)).toBe(c.merged_rle.counts);

      const bits = Uint8Array.from(c.mask_colmajor_bits, (ch) => (ch === '1' ? 1 : 0));
      const mask = encode(bits, c.h, c.w);
      expect(rleToString(mask)).toBe(c.mask_rle.counts);
      expect(decode(mask)).toEqual(bits);

      const boxes = c.bbox_inputs.map((b) => frBbox(b, c.h, c.w));
      expect(boxes.map(toCompressedJson)).toEqual(c.bbox_rles);

      // Round trip of the codec on pycocotools' own strings.
      for (const s of [c.poly_rle, c.merged_rle, c.mask_rle, ...c.bbox_rles]) {
        expect(rleToString(rleFromString(s.counts, s.size[0], s.size[1]))).toBe(s.counts);
      }

      const dts: Rle[] = [poly, merged, mask];
      const gts: Rle[] = [boxes[0], boxes[1], mask];
      const crowd = c.iscrowd.map((f) => f !== 0);
      expect(dts.map(area)).toEqual(c.area);
      expect(dts.map(toBbox)).toEqual(c.toBbox);
      expectClose(rleIou(dts, gts, crowd), c.iou_segm);
      expectClose(bboxIou(dts.map(toBbox), gts.map(toBbox), crowd), c.iou_bbox);
    });
  });
});
