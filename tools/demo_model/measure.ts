/**
 * The figures the shipped model is held to (issue 11), measured the same way by the export
 * script and by test/shipped/shipped_model.test.ts:
 * - recall: the share of the shapes of 50 generated images that a detection finds, one detection
 *   per shape (greedy by score as COCO matches), of the shape's class, with score >= 0.5 and box
 *   IoU >= 0.5;
 * - COCO box and mask AP on 100 other generated images.
 */
import * as fs from 'fs';
import * as path from 'path';
import { evaluateModel } from '../../src/api/evaluate_model';
import type { MaskRCNNModel } from '../../src/api/model';
import { SHIPPED_MODEL_IMAGES, SHIPPED_MODEL_SEEDS } from '../../src/api/shipped_model';
import { generateShapesDataset } from '../../src/data/shapes';

/** Images of each test set and the thresholds of the recall test. */
export const TEST_SETS = { recallImages: 50, apImages: 100, minScore: 0.5, minIou: 0.5 } as const;

/** What {@link measureShippedModel} found. */
export interface ShippedModelFigures {
  readonly shapes: number;
  readonly found: number;
  readonly recall: number;
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

/** Generates the two test sets under `dir` and measures `model` on them. */
export async function measureShippedModel(model: MaskRCNNModel, dir: string): Promise<ShippedModelFigures> {
  const recallSet = await generateShapesDataset({
    outDir: path.join(dir, 'recall'), numImages: TEST_SETS.recallImages, seed: SHIPPED_MODEL_SEEDS.recallTest, overwrite: true, ...SHIPPED_MODEL_IMAGES,
  });
  const json = JSON.parse(fs.readFileSync(recallSet.annotationFile, 'utf8')) as InstancesJson;
  const categoryName = new Map(json.categories.map((c) => [c.id, c.name]));
  let shapes = 0;
  let found = 0;
  for (const image of json.images) {
    const [p] = await model.predict(path.join(recallSet.imagesDir, image.file_name), { scoreThreshold: TEST_SETS.minScore });
    const gt = json.annotations.filter((a) => a.image_id === image.id);
    const matched = new Array<boolean>(gt.length).fill(false);
    for (const d of p.detections) {
      // Detections come by decreasing score; each takes the best free shape of its class.
      let best = -1;
      let bestIou: number = TEST_SETS.minIou;
      gt.forEach((g, k) => {
        if (matched[k] || categoryName.get(g.category_id) !== d.labelName) return;
        const v = boxIou(d.box, [g.bbox[0], g.bbox[1], g.bbox[0] + g.bbox[2], g.bbox[1] + g.bbox[3]]);
        if (v >= bestIou) [best, bestIou] = [k, v];
      });
      if (best >= 0) matched[best] = true;
    }
    shapes += gt.length;
    found += matched.filter(Boolean).length;
  }
  const apSet = await generateShapesDataset({
    outDir: path.join(dir, 'ap'), numImages: TEST_SETS.apImages, seed: SHIPPED_MODEL_SEEDS.apTest, overwrite: true, ...SHIPPED_MODEL_IMAGES,
  });
  const e = await evaluateModel(model, apSet.annotationFile, apSet.imagesDir);
  const stats = (t: string) => e.summaries.find((s) => s.iouType === t)!.stats;
  return {
    shapes, found, recall: found / shapes,
    boxAp: stats('bbox')[0], boxAp50: stats('bbox')[1], maskAp: stats('segm')[0], maskAp50: stats('segm')[1],
  };
}
