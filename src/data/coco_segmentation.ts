/**
 * A COCO `segmentation` checked for training, against its image: polygons whose every part can be
 * rasterised, or an RLE of the image's size. Kept in this form until a sample is drawn.
 *
 * Training is stricter than pycocotools' `annToRLE` (which COCOeval uses as it is): a polygon part
 * with fewer than 3 points is dropped with its own warning (COCO has a few), and a list whose
 * first part has 4 numbers is not read as boxes.
 */
import { describeJson, isJsonObject } from './json_value';
import { annToRle, Rle } from './mask';
import type { WarningLog } from './warnings';

/** A checked segmentation: polygons still as coordinates (rasterised lazily), or an RLE. */
export type TrainingSegmentation = { readonly kind: 'polygons'; readonly polygons: number[][] } | { readonly kind: 'rle'; readonly rle: Rle };

/**
 * Checks `seg` for an `height x width` image. Returns the checked form, or a message saying what
 * is wrong; dropped polygon parts are warned to `warnings` under `entry`.
 *
 * @example
 * ```ts
 * const s = trainingSegmentation([[1, 1, 5, 1, 5, 5]], 20, 30, 'f.json: annotation id 3', log);
 * if (typeof s === 'string') skip(s);
 * ```
 */
export function trainingSegmentation(seg: unknown, height: number, width: number, entry: string, warnings: WarningLog): TrainingSegmentation | string {
  if (seg === undefined || seg === null) return 'segmentation is missing';
  if (Array.isArray(seg)) {
    if (seg.length === 0) return 'segmentation is an empty list of polygons';
    const polygons: number[][] = [];
    // Rasterising walks the outline pixel by pixel, so a wild coordinate (1e12) would allocate
    // without bound; real outlines stay near the image.
    const limit = 10 * Math.max(width, height);
    for (let k = 0; k < seg.length; k++) {
      const p: unknown = seg[k];
      if (!Array.isArray(p)) return `polygon ${k} is not an array of numbers: ${describeJson(p)}`;
      const badValue = p.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (badValue >= 0) return `polygon ${k} has a non-finite coordinate at ${badValue}: ${describeJson(p[badValue])}`;
      if (p.length % 2 !== 0) return `polygon ${k} has an odd number of coordinates (${p.length})`;
      const far = p.findIndex((v) => Math.abs(v as number) > limit);
      if (far >= 0) return `polygon ${k} has coordinate ${p[far]} at ${far}, far outside the ${width}x${height} image`;
      if (p.length < 6) {
        warnings.warn('invalid-polygon-part', entry, `polygon ${k} has ${p.length / 2} points (needs 3); this part is dropped`);
        continue;
      }
      polygons.push(p as number[]);
    }
    if (polygons.length === 0) return 'no polygon has at least 3 points';
    return { kind: 'polygons', polygons };
  }
  if (!isJsonObject(seg)) return `segmentation must be a list of polygons or an RLE {size, counts}, got ${describeJson(seg)}`;
  const size = seg.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
    return `RLE size ${describeJson(size)} differs from the image's [height, width] = [${height}, ${width}]`;
  }
  if (typeof seg.counts !== 'string' && !Array.isArray(seg.counts)) {
    return `RLE counts must be a string (compressed) or an array of run lengths, got ${describeJson(seg.counts)}`;
  }
  try {
    return { kind: 'rle', rle: annToRle(seg as { size: [number, number]; counts: string }, height, width, entry) };
  } catch (err) {
    return `bad RLE: ${(err as Error).message}`;
  }
}

/**
 * The RLE of a checked segmentation; polygons are rasterised and merged now.
 *
 * @example
 * ```ts
 * const rle = segmentationRle(s, 20, 30, 'f.json: annotation id 3');
 * ```
 */
export function segmentationRle(seg: TrainingSegmentation, height: number, width: number, where: string): Rle {
  return seg.kind === 'rle' ? seg.rle : annToRle(seg.polygons, height, width, where);
}
