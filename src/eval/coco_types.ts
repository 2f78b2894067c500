/**
 * COCO json shapes read by the evaluator, and the in-memory prediction record it accepts.
 */
import type { BoxXywh, Rle, Segmentation } from '../data/mask';

/**
 * An entry of a COCO instances file's `images`.
 *
 * @example
 * ```ts
 * const img: CocoImage = { id: 1, height: 480, width: 640, file_name: '000001.jpg' };
 * ```
 */
export interface CocoImage {
  id: number;
  height: number;
  width: number;
  file_name?: string;
}

/**
 * An entry of `categories`.
 *
 * @example
 * ```ts
 * const cat: CocoCategory = { id: 1, name: 'person', supercategory: 'person' };
 * ```
 */
export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
}

/**
 * A ground-truth entry of `annotations`. `area` is used as given (pycocotools does not
 * recompute it); `bbox` is needed for bbox evaluation and `segmentation` for segm evaluation.
 *
 * @example
 * ```ts
 * const ann: CocoAnnotation = {
 *   id: 7, image_id: 1, category_id: 1, iscrowd: 0, area: 16,
 *   bbox: [0, 0, 4, 4], segmentation: [[0, 0, 0, 4, 4, 4, 4, 0]],
 * };
 * ```
 */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  area: number;
  bbox?: BoxXywh;
  segmentation?: Segmentation;
  iscrowd?: number | boolean;
}

/**
 * A COCO instances file (ground truth).
 *
 * @example
 * ```ts
 * const gt: CocoDataset = { images: [], annotations: [], categories: [{ id: 1 }] };
 * ```
 */
export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/**
 * One entry of a COCO results file: `bbox` for box results, `segmentation` (RLE) for mask
 * results, or both.
 *
 * @example
 * ```ts
 * const r: CocoResult = { image_id: 1, category_id: 1, score: 0.9, bbox: [0, 0, 4, 4] };
 * ```
 */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: BoxXywh;
  segmentation?: Segmentation;
}

/**
 * Detections of one image as the model returns them: boxes xyxy in absolute pixels of the
 * original image, labels as COCO category ids, masks as RLEs of the image's size.
 *
 * @example
 * ```ts
 * const p: Prediction = { imageId: 1, boxes: [[0, 0, 4, 4]], scores: [0.9], labels: [1] };
 * ```
 */
export interface Prediction {
  imageId: number;
  boxes: number[][];
  scores: number[];
  labels: number[];
  masks?: Rle[];
}

/**
 * What the IoU is computed on: boxes or masks.
 *
 * @example
 * ```ts
 * const t: IouType = 'segm';
 * ```
 */
export type IouType = 'bbox' | 'segm';

/** Valid {@link IouType} values, for messages and option parsing. */
export const IOU_TYPES: readonly IouType[] = ['bbox', 'segm'];
