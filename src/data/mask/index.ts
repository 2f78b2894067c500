/**
 * COCO mask utilities, bit-identical to pycocotools' maskApi.c: RLE encode/decode, the
 * compressed string codec, polygon and box rasterisation, merge, area, box and IoU.
 *
 * @example
 * ```ts
 * import { frPoly, area, toCompressedJson } from './data/mask';
 * const rle = frPoly([0, 0, 0, 4, 4, 4, 4, 0], 10, 10);
 * area(rle); // 16
 * toCompressedJson(rle); // { size: [10, 10], counts: '...' }
 * ```
 */
export type { Rle, CompressedRleJson, UncompressedRleJson, Segmentation, BoxXywh } from './rle';
export { encode, decode, decodeMasksRowMajor, fromMaskRowMajor } from './encode';
export { rleToString, rleFromString, toCompressedJson } from './rle_string';
export { frPoly, frBbox } from './polygon';
export { merge } from './merge';
export { area, toBbox } from './geometry';
export { rleIou, bboxIou } from './iou';
export { annToRle } from './ann_to_rle';
