/**
 * COCOeval parameters (pycocotools `Params` for bbox/segm) and their validation.
 *
 * Shorthand used across src/eval: T IoU thresholds, R recall thresholds, K categories,
 * A area ranges, M max-detection limits, I images.
 */
import type { CocoGroundTruth } from './coco_ground_truth';

/**
 * Evaluation parameters, as pycocotools' `Params`.
 *
 * @example
 * ```ts
 * const p: Partial<CocoEvalParams> = { maxDets: [1, 10, 100], useCats: true };
 * ```
 */
export interface CocoEvalParams {
  /** Images to evaluate (default: every image of the ground truth). */
  imgIds: number[];
  /** Categories to evaluate (default: every category of the ground truth). */
  catIds: number[];
  /** IoU thresholds (default `np.linspace(.5, .95, 10)`). */
  iouThrs: number[];
  /** Recall thresholds of the precision curve (default `np.linspace(0, 1, 101)`). */
  recThrs: number[];
  /** Max detections per image (default `[1, 10, 100]`); the largest also caps matching. */
  maxDets: number[];
  /** Area ranges `[min, max]` in pixels (default all / small / medium / large). */
  areaRng: [number, number][];
  /** Labels of `areaRng`; summarize() looks up 'all', 'small', 'medium', 'large'. */
  areaRngLbl: string[];
  /** When false categories are ignored, as in proposal recall. */
  useCats: boolean;
}

/**
 * `num` evenly spaced values with numpy's `linspace` arithmetic (`i * step + start`, last set to
 * `stop`), so thresholds equal pycocotools' to the last bit (0.9 is 0.8999999999999999 there).
 *
 * @example
 * ```ts
 * linspace(0.5, 0.95, 10)[8]; // 0.8999999999999999
 * ```
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  const div = num - 1;
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) out.push(step === 0 ? (i / div) * (stop - start) + start : i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * pycocotools' default detection parameters for a ground truth.
 *
 * @example
 * ```ts
 * defaultParams(gt).iouThrs.length; // 10
 * ```
 */
export function defaultParams(gt: CocoGroundTruth): CocoEvalParams {
  return {
    imgIds: [...gt.imageIds],
    catIds: [...gt.categoryIds],
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0 ** 2, 1e5 ** 2],
      [0 ** 2, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
    useCats: true,
  };
}

function checkNumbers(name: string, v: unknown, ok: (x: number) => boolean, rule: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && ok(x))) {
    throw new Error(`Error in CocoEvaluator params: ${name} must be a non-empty array of ${rule}, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

const sortedUnique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

/**
 * Defaults overridden by `overrides`, validated, then normalised as `COCOeval.evaluate()` does:
 * imgIds sorted unique, catIds sorted unique when useCats, maxDets sorted.
 *
 * @example
 * ```ts
 * resolveParams(gt, { maxDets: [100, 1, 10] }).maxDets; // [1, 10, 100]
 * ```
 */
export function resolveParams(gt: CocoGroundTruth, overrides: Partial<CocoEvalParams> = {}): CocoEvalParams {
  const known = new Set(['imgIds', 'catIds', 'iouThrs', 'recThrs', 'maxDets', 'areaRng', 'areaRngLbl', 'useCats']);
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) {
      throw new Error(`Error in CocoEvaluator params: unknown parameter '${key}'; valid: ${[...known].join(', ')}`);
    }
  }
  const p: CocoEvalParams = { ...defaultParams(gt), ...overrides };
  const finite = (x: number): boolean => Number.isFinite(x);
  if (!Array.isArray(p.imgIds) || !p.imgIds.every((x) => typeof x === 'number' && finite(x))) {
    throw new Error(`Error in CocoEvaluator params: imgIds must be an array of numbers`);
  }
  checkNumbers('catIds', p.catIds, finite, 'numbers');
  checkNumbers('iouThrs', p.iouThrs, (x) => x >= 0 && x <= 1, 'numbers in [0, 1]');
  checkNumbers('recThrs', p.recThrs, (x) => x >= 0 && x <= 1, 'numbers in [0, 1]');
  checkNumbers('maxDets', p.maxDets, (x) => Number.isInteger(x) && x > 0, 'positive integers');
  if (
    !Array.isArray(p.areaRng) ||
    p.areaRng.length === 0 ||
    !p.areaRng.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && !Number.isNaN(x)) && r[0] <= r[1])
  ) {
    throw new Error(`Error in CocoEvaluator params: areaRng must be a non-empty array of [min, max] with min <= max, got ${JSON.stringify(p.areaRng)}`);
  }
  if (!Array.isArray(p.areaRngLbl) || p.areaRngLbl.length !== p.areaRng.length) {
    throw new Error(`Error in CocoEvaluator params: areaRngLbl must have one label per areaRng (${p.areaRng.length})`);
  }
  if (typeof p.useCats !== 'boolean') throw new Error(`Error in CocoEvaluator params: useCats must be true or false`);
  return {
    imgIds: sortedUnique(p.imgIds),
    catIds: p.useCats ? sortedUnique(p.catIds) : [...p.catIds],
    iouThrs: [...p.iouThrs],
    recThrs: [...p.recThrs],
    maxDets: [...p.maxDets].sort((a, b) => a - b),
    areaRng: p.areaRng.map((r) => [r[0], r[1]] as [number, number]),
    areaRngLbl: [...p.areaRngLbl],
    useCats: p.useCats,
  };
}
