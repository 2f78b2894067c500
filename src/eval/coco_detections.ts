/**
 * Detections to evaluate, stored column-wise so 5000 images x 100 detections stay small.
 *
 * From a COCO results file this mirrors pycocotools' `COCO.loadRes`: the first entry decides
 * the branch. If it has a non-empty `bbox`, every entry's area is `w * h` of its box (even for
 * segm evaluation) and a missing segmentation is the box's polygon; otherwise every entry
 * needs an RLE `segmentation`, its area is the mask area and a missing bbox is `toBbox(mask)`.
 * Ids are 1..N in file order and iscrowd is 0.
 *
 * From in-memory {@link Prediction}s it mirrors torchvision's CocoEvaluator: bbox evaluation
 * uses box results (area `w * h`), segm evaluation uses mask results without boxes (area and
 * box from the mask).
 */
import { annToRle, area as rleArea, BoxXywh, Rle, Segmentation, toBbox } from '../data/mask';
import { rleFromJson } from '../data/mask/ann_to_rle';
import { rasterBox } from '../data/mask/polygon';
import { checkRle } from '../data/mask/rle';
import type { CocoGroundTruth } from './coco_ground_truth';
import type { CocoResult, IouType, Prediction } from './coco_types';
import { readJsonFile } from '../data/json_file';
import { asBox, asNumber, asRecord, describeJson } from '../data/json_value';

/**
 * A detection's mask source: an in-memory RLE, a COCO json segmentation (decoded when the
 * image is evaluated, so results files keep their compact strings), or none (the box's
 * polygon is used, as pycocotools does for box-only results).
 */
export type DetectionMask = Rle | Segmentation | undefined;

function isRle(m: DetectionMask): m is Rle {
  return m !== undefined && !Array.isArray(m) && 'h' in m && 'w' in m;
}

/**
 * Detections for {@link CocoEvaluator}. Detection `i` has id `i + 1`.
 *
 * @example
 * ```ts
 * const gt = CocoGroundTruth.fromFile('instances_val2017.json');
 * const dt = CocoDetections.fromFile('results.json', gt);
 * dt.size; // number of detections
 * ```
 */
export class CocoDetections {
  private readonly byImage = new Map<number, number[]>();

  private constructor(
    /** Where the detections came from, for messages. */
    readonly source: string,
    readonly imageIds: Float64Array,
    readonly categoryIds: Float64Array,
    readonly scores: Float64Array,
    /** [N * 4] boxes xywh. */
    readonly boxes: Float64Array,
    readonly areas: Float64Array,
    private readonly masks: DetectionMask[],
  ) {
    for (let i = 0; i < imageIds.length; i++) {
      let list = this.byImage.get(imageIds[i]);
      if (!list) this.byImage.set(imageIds[i], (list = []));
      list.push(i);
    }
  }

  /** Number of detections. */
  get size(): number {
    return this.scores.length;
  }

  /** Indices of the detections of one image, in input order. */
  indicesOf(imageId: number): readonly number[] {
    return this.byImage.get(imageId) ?? [];
  }

  /** Whether detection `i` has its own mask (otherwise its box is rasterised for segm). */
  hasSegmentation(i: number): boolean {
    return this.masks[i] !== undefined;
  }

  /** Box `[x, y, w, h]` of detection `i`. */
  box(i: number): Float64Array {
    return this.boxes.subarray(4 * i, 4 * i + 4);
  }

  /** Mask of detection `i` as an RLE on an `h x w` image (pycocotools' `annToRLE`). */
  mask(i: number, h: number, w: number): Rle {
    const m = this.masks[i];
    if (m === undefined) return rasterBox(this.box(i), h, w);
    if (isRle(m)) return m;
    return annToRle(m, h, w, `${this.source}: detection ${i} segmentation`);
  }

  /**
   * Reads a COCO results json file (an array of {@link CocoResult}).
   *
   * @example
   * ```ts
   * const dt = CocoDetections.fromFile('segm_results.json', gt);
   * ```
   */
  static fromFile(path: string, gt: CocoGroundTruth): CocoDetections {
    return CocoDetections.fromResults(readJsonFile(path, 'results file', 'CocoDetections.fromFile'), gt, path);
  }

  /**
   * Loads COCO results (parsed json) as pycocotools' `loadRes` does; every image id must be an
   * image of `gt`.
   *
   * @example
   * ```ts
   * const dt = CocoDetections.fromResults([{ image_id: 1, category_id: 1, score: 0.9, bbox: [0, 0, 4, 4] }], gt);
   * ```
   */
  static fromResults(results: CocoResult[] | unknown, gt: CocoGroundTruth, source = '<results>'): CocoDetections {
    if (!Array.isArray(results)) throw new Error(`Error in ${source}: results must be an array of objects, got ${describeJson(results)}`);
    const n = results.length;
    const cols = newColumns(n);
    if (n === 0) return new CocoDetections(source, cols.imageIds, cols.categoryIds, cols.scores, cols.boxes, cols.areas, []);
    const first = asRecord(results[0], source, 'results[0]');
    const boxBranch = first.bbox !== undefined && !(Array.isArray(first.bbox) && first.bbox.length === 0);
    if (!boxBranch && first.segmentation === undefined) {
      throw new Error(`Error in ${source}: results[0] has neither 'bbox' nor 'segmentation' (keypoint and caption results are not supported)`);
    }
    const masks: DetectionMask[] = new Array<DetectionMask>(n);
    for (let i = 0; i < n; i++) {
      const what = `results[${i}]`;
      const r = asRecord(results[i], source, what);
      const imageId = asNumber(r.image_id, source, `${what}.image_id`);
      if (!gt.images.has(imageId)) {
        throw new Error(
          `Error in ${source}: ${what} has image_id ${imageId}, which is not an image of the ground truth ${gt.source} (results do not correspond to the ground truth)`,
        );
      }
      cols.imageIds[i] = imageId;
      cols.categoryIds[i] = asNumber(r.category_id, source, `${what}.category_id`);
      cols.scores[i] = asNumber(r.score, source, `${what}.score`);
      const seg = r.segmentation as Segmentation | undefined;
      if (boxBranch) {
        const bb = asBox(r.bbox, source, `${what}.bbox`);
        cols.boxes.set(bb, 4 * i);
        cols.areas[i] = bb[2] * bb[3];
        masks[i] = seg;
      } else {
        if (seg === undefined || Array.isArray(seg) || seg === null || typeof seg !== 'object') {
          throw new Error(`Error in ${source}: ${what}.segmentation must be an RLE {size, counts}, got ${describeJson(seg)}`);
        }
        const rle = rleFromJson(seg, `${source}: ${what}.segmentation`);
        cols.areas[i] = rleArea(rle);
        cols.boxes.set(r.bbox === undefined ? toBbox(rle) : asBox(r.bbox, source, `${what}.bbox`), 4 * i);
        masks[i] = seg;
      }
    }
    return new CocoDetections(source, cols.imageIds, cols.categoryIds, cols.scores, cols.boxes, cols.areas, masks);
  }

  /**
   * Converts model outputs (boxes xyxy) to detections for one IoU type, as torchvision's
   * CocoEvaluator prepares them: for 'bbox' area is `w * h` of the box; for 'segm' every
   * detection needs a mask of its image's size, and area and box come from the mask.
   * The RLEs are kept by reference, not copied.
   *
   * @example
   * ```ts
   * const dt = CocoDetections.fromPredictions([{ imageId: 1, boxes: [[0, 0, 4, 4]], scores: [0.9], labels: [1] }], gt, 'bbox');
   * ```
   */
  static fromPredictions(predictions: Prediction[], gt: CocoGroundTruth, iouType: IouType, source = '<predictions>'): CocoDetections {
    if (!Array.isArray(predictions)) throw new Error(`Error in ${source}: predictions must be an array`);
    let n = 0;
    predictions.forEach((p, j) => {
      const what = `predictions[${j}]`;
      asRecord(p, source, what);
      const imageId = asNumber(p.imageId, source, `${what}.imageId`);
      if (!gt.images.has(imageId)) {
        throw new Error(`Error in ${source}: ${what} has imageId ${imageId}, which is not an image of the ground truth ${gt.source}`);
      }
      for (const key of ['boxes', 'scores', 'labels'] as const) {
        if (!Array.isArray(p[key])) throw new Error(`Error in ${source}: ${what}.${key} must be an array`);
      }
      const k = p.boxes.length;
      if (p.scores.length !== k || p.labels.length !== k || (p.masks !== undefined && p.masks.length !== k)) {
        throw new Error(
          `Error in ${source}: ${what} has ${k} boxes, ${p.scores.length} scores, ${p.labels.length} labels` +
            (p.masks === undefined ? '' : `, ${p.masks.length} masks`) +
            ' (they must have the same length)',
        );
      }
      if (iouType === 'segm' && p.masks === undefined && k > 0) {
        throw new Error(`Error in ${source}: ${what} has no masks, which segm evaluation needs`);
      }
      n += k;
    });
    const cols = newColumns(n);
    const masks: DetectionMask[] = iouType === 'segm' ? new Array<DetectionMask>(n) : [];
    let i = 0;
    predictions.forEach((p, j) => {
      const [h, w] = iouType === 'segm' ? gt.imageSize(p.imageId) : [0, 0];
      for (let d = 0; d < p.boxes.length; d++, i++) {
        const what = `predictions[${j}]`;
        cols.imageIds[i] = p.imageId;
        cols.categoryIds[i] = asNumber(p.labels[d], source, `${what}.labels[${d}]`);
        cols.scores[i] = asNumber(p.scores[d], source, `${what}.scores[${d}]`);
        if (iouType === 'bbox') {
          const b = p.boxes[d];
          if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite)) {
            throw new Error(`Error in ${source}: ${what}.boxes[${d}] must be 4 finite numbers [x1, y1, x2, y2], got ${describeJson(b)}`);
          }
          // [x1, y1, x2, y2] -> [x, y, w, h]
          const box: BoxXywh = [b[0], b[1], b[2] - b[0], b[3] - b[1]];
          cols.boxes.set(box, 4 * i);
          cols.areas[i] = box[2] * box[3];
        } else {
          const m = (p.masks as Rle[])[d];
          const where = `${source}: ${what}.masks[${d}]`;
          if (m === null || typeof m !== 'object' || m.h !== h || m.w !== w) {
            throw new Error(`Error in ${where}: must be an RLE of the image's size ${h}x${w}, got ${m ? `${m.h}x${m.w}` : describeJson(m)}`);
          }
          checkRle(m, where);
          cols.areas[i] = rleArea(m);
          cols.boxes.set(toBbox(m), 4 * i);
          masks[i] = m;
        }
      }
    });
    return new CocoDetections(source, cols.imageIds, cols.categoryIds, cols.scores, cols.boxes, cols.areas, masks);
  }
}

function newColumns(n: number) {
  return {
    imageIds: new Float64Array(n),
    categoryIds: new Float64Array(n),
    scores: new Float64Array(n),
    boxes: new Float64Array(4 * n),
    areas: new Float64Array(n),
  };
}
