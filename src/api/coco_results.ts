/**
 * Predictions as COCO results (the format pycocotools' loadRes and our COCOeval read):
 * `{ image_id, category_id, bbox: [x, y, w, h], score, segmentation: { size, counts } }`, with the
 * mask as a compressed RLE string identical to pycocotools' `mask.encode` of the full-size mask,
 * whatever format predict returned it in (cropped, full or RLE).
 */
import type { CocoResult } from '../eval/coco_types';
import { maskToCocoRle } from './detection_masks';
import type { Prediction } from './model';

export type { CocoResult };

/** Options of {@link toCocoResults}. */
export interface CocoResultOptions {
  /**
   * Category id of each label (indexed by label). Default: the label itself, which is right
   * for torchvision's COCO models (their 91 labels are COCO's category ids). An undefined entry
   * (or one past the end) means the label has no category; see `unmapped`.
   */
  labelToCategoryId?: readonly (number | undefined)[];
  /**
   * What to do with a detection whose label has no category id: `'error'` (default) throws,
   * `'skip'` leaves it out (e.g. a model's classes that a dataset does not annotate).
   */
  unmapped?: 'error' | 'skip';
  /** Include the masks as RLE (default true). */
  masks?: boolean;
}

/**
 * Converts predictions to COCO results.
 *
 * @example
 * ```ts
 * const preds = await model.predict(['000139.jpg']);
 * fs.writeFileSync('results.json', JSON.stringify(toCocoResults(preds, [139])));
 * // a model with classes the dataset does not annotate: leave those detections out
 * toCocoResults(preds, [139], { labelToCategoryId: [undefined, 7, undefined], unmapped: 'skip' });
 * ```
 */
export function toCocoResults(predictions: readonly Prediction[], imageIds: readonly number[], options: CocoResultOptions = {}): CocoResult[] {
  if (imageIds.length !== predictions.length) {
    throw new Error(`Error in toCocoResults: ${predictions.length} predictions but ${imageIds.length} image ids`);
  }
  const out: CocoResult[] = [];
  predictions.forEach((p, i) => {
    for (const d of p.detections) {
      const categoryId = options.labelToCategoryId ? options.labelToCategoryId[d.label] : d.label;
      if (categoryId === undefined && options.unmapped === 'skip') continue;
      if (categoryId === undefined) {
        throw new Error(`Error in toCocoResults: label ${d.label} has no entry in labelToCategoryId (${options.labelToCategoryId!.length} entries)`);
      }
      const [x1, y1, x2, y2] = d.box;
      const r: CocoResult = { image_id: imageIds[i], category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score };
      if (options.masks ?? true) r.segmentation = maskToCocoRle(d.mask);
      out.push(r);
    }
  });
  return out;
}
