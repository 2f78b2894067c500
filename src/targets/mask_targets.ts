/**
 * Mask-head targets: torchvision 0.14's `project_masks_on_boxes`, and the selection of the
 * positive samples whose masks are learnt (`RoIHeads.forward`, training branch).
 *
 * Shapes: G GT masks of H x W (the image's resized size, before batch padding), R boxes,
 * M x M target size (28 for Mask R-CNN), P positive samples of one image.
 *
 * A target is `roi_align(gt_mask[matched][None, None], box, (M, M), spatial_scale=1,
 * sampling_ratio=-1 (adaptive), aligned=False)`: the float average of the binary mask over each
 * bin, not thresholded (torchvision's maskrcnn_loss feeds these soft values to the BCE as they
 * are). We apply the sparse RoIAlign matrix of src/roi (the same float32 sample positions as the
 * C++ kernel) to the mask data directly, one box at a time: targets are data, outside the tape,
 * and a large box's matrix on a full-image mask would be too big to build for all boxes at once.
 */
import { buildRoiAlignPlan } from '../roi/roi_align_plan';
import { checkBoxArray } from './ground_truth';
import { RoiTargets } from './roi_targets';

/** Mask R-CNN's target side (torchvision: the mask logits' spatial size). */
export const MASK_TARGET_SIZE = 28;

/** The masks of one image's GT, row-major. */
export interface GroundTruthMasks {
  /** `[G * H * W]` 0/1 (or soft) values, mask g at offset `g * H * W`. */
  readonly data: Uint8Array | Float32Array;
  readonly height: number;
  readonly width: number;
}

function checkMasks(masks: GroundTruthMasks, where: string): number {
  const { data, height, width } = masks;
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw new Error(`Error in ${where}: masks.data must be a Uint8Array or Float32Array [G * H * W]`);
  }
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new Error(`Error in ${where}: masks.height and masks.width must be positive integers, got ${height} x ${width}`);
  }
  if (data.length % (height * width) !== 0) {
    throw new Error(`Error in ${where}: masks.data length ${data.length} is not a multiple of H * W = ${height * width}`);
  }
  return data.length / (height * width);
}

/**
 * RoIAlign of each box's matched GT mask to `size x size` (torchvision `project_masks_on_boxes`).
 *
 * @param masks the image's GT masks.
 * @param boxes `[R * 4]` xyxy boxes (the positive proposals) in mask pixels.
 * @param matchedGtIndex `[R]` mask of each box, in `[0, G)`.
 * @param size output side M.
 * @returns `[R * M * M]` float32 targets in [0, 1], row-major per box.
 *
 * @example
 * ```ts
 * const t = projectMasksOnBoxes({ data: masks, height: 48, width: 64 }, Float32Array.of(4, 6, 30, 40), [0], 28);
 * // t: Float32Array [784]
 * ```
 */
export function projectMasksOnBoxes(
  masks: GroundTruthMasks,
  boxes: Float32Array,
  matchedGtIndex: ArrayLike<number>,
  size: number = MASK_TARGET_SIZE,
): Float32Array {
  const where = 'projectMasksOnBoxes';
  const G = checkMasks(masks, where);
  const R = checkBoxArray(boxes, where, 'boxes');
  if (matchedGtIndex.length !== R) throw new Error(`Error in ${where}: matchedGtIndex must have ${R} entries (one per box), got ${matchedGtIndex.length}`);
  if (!Number.isInteger(size) || size <= 0) throw new Error(`Error in ${where}: size must be a positive integer, got ${size}`);
  const { height: H, width: W, data } = masks;
  const cells = size * size;
  const out = new Float32Array(R * cells);
  for (let r = 0; r < R; r++) {
    const g = matchedGtIndex[r];
    if (!Number.isInteger(g) || g < 0 || g >= G) throw new Error(`Error in ${where}: matchedGtIndex[${r}] = ${g} is outside [0, ${G})`);
    const plan = buildRoiAlignPlan(boxes.subarray(4 * r, 4 * r + 4), [0], {
      batch: 1,
      height: H,
      width: W,
      outHeight: size,
      outWidth: size,
      spatialScale: 1,
      samplingRatio: -1,
      aligned: false,
    });
    const base = g * H * W;
    const { rowPtr, colIdx, values } = plan;
    for (let row = 0; row < cells; row++) {
      let acc = 0;
      for (let k = rowPtr[row]; k < rowPtr[row + 1]; k++) acc += values[k] * data[base + colIdx[k]];
      out[r * cells + row] = acc;
    }
  }
  return out;
}

/** Mask targets of the positive samples of one image. */
export interface MaskTargets {
  /** `[P]` rows of the box-head samples that are positive (label >= 1). */
  readonly sampleRows: Int32Array;
  /** `[P * 4]` their proposals. */
  readonly proposals: Float32Array;
  /** `[P]` their classes (the mask channel the loss reads). */
  readonly labels: Int32Array;
  /** `[P]` their GT index. */
  readonly matchedGtIndex: Int32Array;
  /** `[P * M * M]` soft mask targets. */
  readonly targets: Float32Array;
}

/**
 * Keeps the positive samples of {@link selectRoiTrainingSamples} and projects their GT masks.
 *
 * @example
 * ```ts
 * const roi = selectRoiTrainingSamples(proposals, gt, { rng });
 * const m = maskTargets(roi, { data: sample.gtMasks, height: sample.height, width: sample.width });
 * // m.proposals go through the mask branch; m.labels and m.targets into maskRcnnLoss
 * ```
 */
export function maskTargets(roi: RoiTargets, masks: GroundTruthMasks, size: number = MASK_TARGET_SIZE): MaskTargets {
  const rows: number[] = [];
  for (let s = 0; s < roi.labels.length; s++) if (roi.labels[s] >= 1) rows.push(s);
  const P = rows.length;
  const proposals = new Float32Array(P * 4);
  const labels = new Int32Array(P);
  const matchedGtIndex = new Int32Array(P);
  rows.forEach((s, i) => {
    proposals.set(roi.proposals.subarray(4 * s, 4 * s + 4), 4 * i);
    labels[i] = roi.labels[s];
    matchedGtIndex[i] = roi.matchedGtIndex[s];
  });
  const targets = projectMasksOnBoxes(masks, proposals, matchedGtIndex, size);
  return { sampleRows: Int32Array.from(rows), proposals, labels, matchedGtIndex, targets };
}
