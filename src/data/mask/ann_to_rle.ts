/**
 * A COCO annotation's segmentation as one RLE, as pycocotools' `COCO.annToRLE`.
 */
import { merge } from './merge';
import { checkRle, checkSize, CompressedRleJson, Rle, Segmentation, UncompressedRleJson } from './rle';
import { rleFromString } from './rle_string';
import { rasterBox, rasterPolygon } from './polygon';

function checkNumbers(values: unknown, where: string, what: string): number[] {
  if (!Array.isArray(values)) throw new Error(`Error in ${where}: ${what} must be an array of numbers`);
  for (let i = 0; i < values.length; i++) {
    const c: unknown = values[i];
    if (typeof c !== 'number' || !Number.isFinite(c)) {
      throw new Error(`Error in ${where}: ${what}[${i}] = ${String(c)} is not a finite number`);
    }
  }
  return values as number[];
}

function rleSize(size: unknown, where: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2) {
    throw new Error(`Error in ${where}: RLE size must be [h, w], got ${JSON.stringify(size)}`);
  }
  const [h, w] = size as [number, number];
  checkSize(h, w, where);
  return [h, w];
}

/**
 * One RLE for a COCO `segmentation` on an `h x w` image, as pycocotools' `annToRLE`:
 * - polygons are rasterised and merged (union). As in pycocotools' `frPyObjects`, a list whose
 *   first entry has exactly 4 numbers is read as boxes `[x, y, w, h]`, and later polygons may
 *   have any even length;
 * - an uncompressed RLE keeps its own `size` (as pycocotools, which ignores `h, w` for RLEs);
 * - a compressed RLE is parsed from its string.
 *
 * @example
 * ```ts
 * area(annToRle([[0, 0, 0, 4, 4, 4, 4, 0]], 10, 10)); // 16
 * annToRle({ size: [2, 2], counts: '31' }, 2, 2).counts; // Uint32Array [3, 1]
 * ```
 */
export function annToRle(seg: Segmentation, h: number, w: number, where = 'annToRle'): Rle {
  if (Array.isArray(seg)) {
    checkSize(h, w, where);
    if (seg.length === 0) throw new Error(`Error in ${where}: segmentation is an empty list of polygons`);
    const polys = seg.map((p, i) => checkNumbers(p, where, `polygon ${i}`));
    let rles: Rle[];
    if (polys[0].length === 4) {
      rles = polys.map((b, i) => {
        if (b.length !== 4) {
          throw new Error(`Error in ${where}: polygon 0 has 4 numbers, read as a box list, but entry ${i} has ${b.length}`);
        }
        return rasterBox(b, h, w);
      });
    } else {
      if (polys[0].length < 4) {
        throw new Error(`Error in ${where}: polygon 0 has ${polys[0].length} numbers, needs at least 3 points`);
      }
      rles = polys.map((p, i) => {
        if (p.length % 2 !== 0 || p.length === 0) {
          throw new Error(`Error in ${where}: polygon ${i} has length ${p.length}, needs a positive even number of coordinates`);
        }
        return rasterPolygon(p, h, w);
      });
    }
    return merge(rles);
  }
  return rleFromJson(seg, where);
}

/**
 * An RLE from its COCO json form, compressed or not, at the json's own `size`.
 *
 * @example
 * ```ts
 * rleFromJson({ size: [2, 2], counts: [3, 1] }).counts; // Uint32Array [3, 1]
 * ```
 */
export function rleFromJson(seg: CompressedRleJson | UncompressedRleJson, where = 'rleFromJson'): Rle {
  if (seg === null || typeof seg !== 'object' || Array.isArray(seg) || !('counts' in seg)) {
    throw new Error(`Error in ${where}: segmentation must be a list of polygons or an RLE {size, counts}`);
  }
  const [rh, rw] = rleSize(seg.size, where);
  if (typeof seg.counts === 'string') return rleFromString(seg.counts, rh, rw);
  const counts = checkNumbers(seg.counts, where, 'RLE counts');
  checkRle({ h: rh, w: rw, counts }, where);
  return { h: rh, w: rw, counts: Uint32Array.from(counts) };
}
