/**
 * COCO detection / instance segmentation evaluation equal to pycocotools' COCOeval for
 * iouType 'bbox' and 'segm': evaluate() matches per image and category, accumulate() builds
 * precision / recall, summarize() gives the 12 stats and the printed table.
 *
 * Shorthand: T IoU thresholds, R recall thresholds, K categories, A area ranges, M maxDets,
 * I images, D detections and G ground truths of one image and category.
 *
 * Memory: images are processed one at a time; masks are decoded per image and category and
 * dropped, and per-image results keep only [T, D] byte flags, so COCO val (5000 images x 100
 * detections) stays within a few hundred MB.
 */
import { rleIouUnchecked, bboxIouUnchecked } from '../data/mask/iou';
import type { Rle } from '../data/mask';
import { accumulate, Accumulated } from './accumulate';
import { CocoDetections } from './coco_detections';
import { CocoGroundTruth, GtAnnotation } from './coco_ground_truth';
import { CocoDataset, CocoResult, IOU_TYPES, IouType, Prediction } from './coco_types';
import { CocoEvalParams, resolveParams } from './eval_params';
import { ArrayPool, evaluateImage, EvalImage, ImageCategoryData } from './evaluate_image';
import { STAT_NAMES, summarizeDets } from './summarize';
import { annToRle } from '../data/mask/ann_to_rle';

/**
 * Result of {@link CocoEvaluator.summarize}.
 *
 * @example
 * ```ts
 * const { stats, lines } = ev.summarize();
 * stats[0]; // AP@[.5:.95]
 * ```
 */
export interface CocoSummary {
  readonly iouType: IouType;
  /** The 12 numbers of pycocotools' `COCOeval.stats` (-1 where a range has no ground truth). */
  readonly stats: number[];
  /** The same numbers by name: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl. */
  readonly named: Record<(typeof STAT_NAMES)[number], number>;
  /** pycocotools' printed lines, e.g. ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.378`. */
  readonly lines: string[];
}

/** Per-category AP over IoU .50:.95, area 'all', the largest maxDets (-1 without ground truth). */
export interface CategoryAp {
  readonly categoryId: number;
  readonly name: string;
  readonly ap: number;
}

/** Called after each image during evaluate(). */
export type EvalProgress = (done: number, total: number) => void;

/** Detections as accepted by the evaluator. */
export type DetectionsInput = CocoDetections | CocoResult[] | Prediction[];

function isPredictionList(x: readonly unknown[]): x is Prediction[] {
  const first = x[0];
  return first !== null && typeof first === 'object' && 'boxes' in first;
}

/**
 * COCOeval for boxes or masks.
 *
 * @example
 * ```ts
 * const gt = CocoGroundTruth.fromFile('instances_val2017.json');
 * const dt = CocoDetections.fromFile('segm_results.json', gt);
 * const summary = new CocoEvaluator(gt, dt, 'segm').evaluate().accumulate().summarize();
 * console.log(summary.lines.join('\n'));
 * ```
 */
export class CocoEvaluator {
  readonly gt: CocoGroundTruth;
  readonly dt: CocoDetections;
  /** Parameters after evaluate()'s normalisation (sorted unique ids, sorted maxDets). */
  readonly params: CocoEvalParams;
  private evalImgsStore: (EvalImage | null)[] | null = null;
  private accumulated: Accumulated | null = null;

  /**
   * @param gt ground truth: a {@link CocoGroundTruth} or a parsed COCO instances object.
   * @param dt detections: {@link CocoDetections}, COCO results entries, or in-memory predictions.
   * @param iouType 'bbox' or 'segm'.
   * @param params overrides of pycocotools' default parameters.
   */
  constructor(gt: CocoGroundTruth | CocoDataset, dt: DetectionsInput, readonly iouType: IouType, params: Partial<CocoEvalParams> = {}) {
    if (!IOU_TYPES.includes(iouType)) {
      throw new Error(`Error in CocoEvaluator: iouType must be one of ${IOU_TYPES.join(', ')}; got ${JSON.stringify(iouType)}`);
    }
    this.gt = gt instanceof CocoGroundTruth ? gt : CocoGroundTruth.fromJson(gt);
    if (dt instanceof CocoDetections) this.dt = dt;
    else if (!Array.isArray(dt)) throw new Error('Error in CocoEvaluator: detections must be CocoDetections or an array');
    else if (dt.length > 0 && isPredictionList(dt)) this.dt = CocoDetections.fromPredictions(dt, this.gt, iouType);
    else this.dt = CocoDetections.fromResults(dt, this.gt);
    this.params = resolveParams(this.gt, params);
  }

  /**
   * Per image and category matching (pycocotools' `evaluate`). Returns `this` for chaining.
   *
   * @example
   * ```ts
   * ev.evaluate((done, total) => process.stdout.write(`\r${done}/${total}`));
   * ```
   */
  evaluate(onProgress?: EvalProgress): this {
    const p = this.params;
    const catIds = p.useCats ? p.catIds : [-1];
    const K = catIds.length;
    const A = p.areaRng.length;
    const I = p.imgIds.length;
    const maxDet = p.maxDets[p.maxDets.length - 1];
    const evalImgs = new Array<EvalImage | null>(K * A * I).fill(null);
    const catSet = new Set(p.catIds);
    const pool = new ArrayPool();
    for (let i = 0; i < I; i++) {
      const imgId = p.imgIds[i];
      const gtByCat = new Map<number, GtAnnotation[]>();
      for (const g of this.gt.annotationsOf(imgId)) {
        if (!catSet.has(g.categoryId)) continue;
        let l = gtByCat.get(g.categoryId);
        if (!l) gtByCat.set(g.categoryId, (l = []));
        l.push(g);
      }
      const dtByCat = new Map<number, number[]>();
      for (const d of this.dt.indicesOf(imgId)) {
        const c = this.dt.categoryIds[d];
        if (!catSet.has(c)) continue;
        let l = dtByCat.get(c);
        if (!l) dtByCat.set(c, (l = []));
        l.push(d);
      }
      for (let k = 0; k < K; k++) {
        // Without categories every listed category is pooled, in catIds order (pycocotools).
        const gts = p.useCats ? gtByCat.get(catIds[k]) ?? [] : p.catIds.flatMap((c) => gtByCat.get(c) ?? []);
        const dts = p.useCats ? dtByCat.get(catIds[k]) ?? [] : p.catIds.flatMap((c) => dtByCat.get(c) ?? []);
        if (gts.length === 0 && dts.length === 0) continue;
        const data = this.imageCategoryData(imgId, catIds[k], gts, dts, maxDet);
        for (let a = 0; a < A; a++) evalImgs[(k * A + a) * I + i] = evaluateImage(data, p.areaRng[a], maxDet, p.iouThrs, pool);
      }
      onProgress?.(i + 1, I);
    }
    this.evalImgsStore = evalImgs;
    this.accumulated = null;
    return this;
  }

  /** Sorted, capped detections of one image and category with their IoUs against the gts. */
  private imageCategoryData(imgId: number, catId: number, gts: GtAnnotation[], dtsIn: number[], maxDet: number): ImageCategoryData {
    const scores = this.dt.scores;
    // Stable sort by score descending (np.argsort(-score, kind='mergesort')), then cap.
    const pos = dtsIn.map((_, j) => j);
    pos.sort((x, y) => scores[dtsIn[y]] - scores[dtsIn[x]] || x - y);
    const dts = pos.slice(0, maxDet).map((j) => dtsIn[j]);
    const D = dts.length;
    const G = gts.length;
    const gtCrowd = Uint8Array.from(gts, (g) => (g.iscrowd ? 1 : 0));
    let ious: Float64Array[] = [];
    if (D > 0 && G > 0) {
      if (this.iouType === 'bbox') {
        const gtBoxes = gts.map((g) => {
          if (!g.bbox) throw new Error(`Error in ${this.gt.source}: ${g.name} has no bbox, which bbox evaluation needs`);
          return g.bbox;
        });
        ious = bboxIouUnchecked(dts.map((d) => this.dt.box(d)), gtBoxes, gtCrowd);
      } else {
        const [h, w] = this.gt.imageSize(imgId);
        const gtRles: Rle[] = gts.map((g) => {
          const where = `${this.gt.source}: ${g.name}`;
          if (g.segmentation === undefined) throw new Error(`Error in ${where}: no segmentation, which segm evaluation needs`);
          return annToRle(g.segmentation, h, w, where);
        });
        ious = rleIouUnchecked(dts.map((d) => this.dt.mask(d, h, w)), gtRles, gtCrowd);
      }
    }
    return {
      imageId: imgId,
      categoryId: catId,
      dtIds: Uint32Array.from(dts, (d) => d + 1),
      dtScores: Float64Array.from(dts, (d) => scores[d]),
      dtAreas: Float64Array.from(dts, (d) => this.dt.areas[d]),
      gtIds: Float64Array.from(gts, (g) => g.id),
      gtAreas: Float64Array.from(gts, (g) => g.area),
      gtCrowd,
      ious,
    };
  }

  /**
   * Per image, category and area results, laid out as pycocotools' `evalImgs`
   * (index `(k * A + a) * I + i`, null where the image has no gt and no dt of the category).
   */
  get evalImgs(): readonly (EvalImage | null)[] {
    if (!this.evalImgsStore) throw new Error('Error in CocoEvaluator: run evaluate() first');
    return this.evalImgsStore;
  }

  /**
   * Builds precision [T, R, K, A, M] and recall [T, K, A, M] (pycocotools' `accumulate`).
   *
   * @example
   * ```ts
   * ev.evaluate().accumulate().eval.precision.length; // T * R * K * A * M
   * ```
   */
  accumulate(): this {
    const p = this.params;
    this.accumulated = accumulate(
      this.evalImgs,
      { T: p.iouThrs.length, K: p.useCats ? p.catIds.length : 1, A: p.areaRng.length, I: p.imgIds.length },
      p.recThrs,
      p.maxDets,
    );
    return this;
  }

  /** Accumulated precision / recall / scores (pycocotools' `eval`). */
  get eval(): Accumulated {
    if (!this.accumulated) throw new Error('Error in CocoEvaluator: run evaluate() then accumulate() first');
    return this.accumulated;
  }

  /**
   * The 12 COCO stats and pycocotools' printed table.
   *
   * @example
   * ```ts
   * new CocoEvaluator(gt, dt, 'bbox').evaluate().accumulate().summarize().stats[1]; // AP50
   * ```
   */
  summarize(): CocoSummary {
    const { stats, lines } = summarizeDets(this.eval, this.params);
    const named = Object.fromEntries(STAT_NAMES.map((n, i) => [n, stats[i]])) as CocoSummary['named'];
    return { iouType: this.iouType, stats, named, lines };
  }

  /**
   * AP@[.5:.95] per category (area 'all', largest maxDets), as detectron2's per-category table;
   * -1 for a category without ground truth.
   *
   * @example
   * ```ts
   * ev.perCategoryAp().map((c) => `${c.name}: ${c.ap.toFixed(3)}`);
   * ```
   */
  perCategoryAp(): CategoryAp[] {
    const acc = this.eval;
    const [T, R, K, A, M] = acc.counts;
    const a = Math.max(0, this.params.areaRngLbl.indexOf('all'));
    const m = M - 1;
    const cats = this.params.useCats ? this.params.catIds : [-1];
    return cats.map((categoryId, k) => {
      let sum = 0;
      let n = 0;
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < R; r++) {
          const v = acc.precision[(((t * R + r) * K + k) * A + a) * M + m];
          if (v > -1) {
            sum += v;
            n++;
          }
        }
      }
      return { categoryId, name: this.gt.categoryNames.get(categoryId) ?? '', ap: n ? sum / n : -1 };
    });
  }
}
