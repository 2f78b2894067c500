/**
 * The figures the shipped model is held to (issue 11), measured the same way by the export
 * script and by test/shipped/shipped_model.test.ts:
 * - recall: the share of the shapes of 50 generated images that a detection finds, one detection
 *   per shape (greedy by score as COCO matches), of the shape's class, with score >= 0.5 and box
 *   IoU >= 0.5; also, for the record, the same with any class counted, and with the class at
 *   predict's default threshold (0.05);
 * - COCO box and mask AP on 100 other generated images.
 */
import * as fs from 'fs';
import * as path from 'path';
import { evaluateModel } from '../../src/api/evaluate_model';
import type { Detection, MaskRCNNModel } from '../../src/api/model';
import { SHIPPED_MODEL_IMAGES, SHIPPED_MODEL_SEEDS } from '../../src/api/shipped_model';
import { generateShapesDataset } from '../../src/data/shapes';

/** Images of each test set and the thresholds of the recall test. */
export const TEST_SETS = { recallImages: 50, apImages: 100, minScore: 0.5, minIou: 0.5 } as const;

/** What {@link measureShippedModel} found. */
export interface ShippedModelFigures {
  readonly shapes: number;
  readonly found: number;
  readonly recall: number;
  /** The same with any class counted (score >= 0.5, box IoU >= 0.5). */
  readonly recallAnyClass: number;
  /** The same with the shape's class, at predict's default score threshold (0.05). */
  readonly recallAtDefaultScore: number;
  /** pycocotools' AP@[.5:.95] and AP50, boxes and masks. */
  readonly boxAp: number;
  readonly boxAp50: number;
  readonly maskAp: number;
  readonly maskAp50: number;
}

type Xyxy = readonly [number, number, number, number];

/** IoU of two xyxy boxes. */
export function boxIou(a: Xyxy, b: Xyxy): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

interface InstancesJson {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; category_id: number; bbox: [number, number, number, number] }[];
  categories: { id: number; name: string }[];
}

/** predict's default score threshold, torchvision's box_score_thresh. */
const DEFAULT_SCORE = 0.05;

/**
 * Shapes of one image found by `detections` (by decreasing score, each taking the best free shape
 * at box IoU >= 0.5, of its own class when `sameClass`), as COCO matches them.
 */
function countFound(
  detections: readonly Detection[],
  gt: InstancesJson['annotations'],
  categoryName: ReadonlyMap<number, string>,
  sameClass: boolean,
): number {
  const matched = new Array<boolean>(gt.length).fill(false);
  for (const d of detections) {
    let best = -1;
    let bestIou: number = TEST_SETS.minIou;
    gt.forEach((g, k) => {
      if (matched[k] || (sameClass && categoryName.get(g.category_id) !== d.labelName)) return;
      const v = boxIou(d.box, [g.bbox[0], g.bbox[1], g.bbox[0] + g.bbox[2], g.bbox[1] + g.bbox[3]]);
      if (v >= bestIou) [best, bestIou] = [k, v];
    });
    if (best >= 0) matched[best] = true;
  }
  return matched.filter(Boolean).length;
}

/** Generates the two test sets under `dir` and measures `model` on them. */
export async function measureShippedModel(model: MaskRCNNModel, dir: string): Promise<ShippedModelFigures> {
  const recallSet = await generateShapesDataset({
    outDir: path.join(dir, 'recall'), numImages: TEST_SETS.recallImages, seed: SHIPPED_MODEL_SEEDS.recallTest, overwrite: true, ...SHIPPED_MODEL_IMAGES,
  });
  const json = JSON.parse(fs.readFileSync(recallSet.annotationFile, 'utf8')) as InstancesJson;
  const categoryName = new Map(json.categories.map((c) => [c.id, c.name]));
  let shapes = 0;
  let found = 0;
  let foundAnyClass = 0;
  let foundAtDefault = 0;
  for (const image of json.images) {
    // One prediction at torchvision's output threshold (0.05); the bar's 0.5 filters it.
    const [p] = await model.predict(path.join(recallSet.imagesDir, image.file_name), { scoreThreshold: DEFAULT_SCORE });
    const gt = json.annotations.filter((a) => a.image_id === image.id);
    const shown = p.detections.filter((d) => d.score >= TEST_SETS.minScore);
    shapes += gt.length;
    found += countFound(shown, gt, categoryName, true);
    foundAnyClass += countFound(shown, gt, categoryName, false);
    foundAtDefault += countFound(p.detections, gt, categoryName, true);
  }
  const apSet = await generateShapesDataset({
    outDir: path.join(dir, 'ap'), numImages: TEST_SETS.apImages, seed: SHIPPED_MODEL_SEEDS.apTest, overwrite: true, ...SHIPPED_MODEL_IMAGES,
  });
  const e = await evaluateModel(model, apSet.annotationFile, apSet.imagesDir);
  const stats = (t: string) => e.summaries.find((s) => s.iouType === t)!.stats;
  return {
    shapes, found, recall: found / shapes, recallAnyClass: foundAnyClass / shapes, recallAtDefaultScore: foundAtDefault / shapes,
    boxAp: stats('bbox')[0], boxAp50: stats('bbox')[1], maskAp: stats('segm')[0], maskAp50: stats('segm')[1],
  };
}
