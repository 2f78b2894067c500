/**
 * From box-predictor outputs to detections: torchvision 0.14's
 * `RoIHeads.postprocess_detections`.
 *
 * Shapes: N images, R = sum Ri RoIs (proposals), K classes including background,
 * C = Ri*(K-1) candidates of image i, D detections of an image (<= detectionsPerImg).
 *
 * Per image, in torchvision's order: decode every class's deltas onto the proposals with the
 * (10, 10, 5, 5) box coder, softmax the logits, clip the boxes to the resized image, drop the
 * background column, flatten `[Ri, K-1] -> [C]` row-major (candidate `r*(K-1) + (k-1)` is class k
 * of RoI r), keep scores > scoreThresh, drop boxes with a side < minSize, run NMS per class and
 * keep the best detectionsPerImg by score. Detections are data, not part of any gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { BoxCoder, DEFAULT_BBOX_XFORM_CLIP, ROI_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '../boxes/box_coder';
import { clipBoxesToImage } from '../boxes/clip_boxes';
import { batchedNms } from '../boxes/nms';
import { removeSmallBoxes } from '../boxes/remove_small_boxes';

/** An image size `[height, width]` in pixels. */
export type ImageSizeHW = readonly [number, number];

/** Settings of {@link postprocessDetections}; every field has torchvision's default. */
export interface DetectionOptions {
  /** Candidates need a softmax score strictly above this (compared in float32). Default 0.05. */
  scoreThresh?: number;
  /** IoU above which per-class NMS suppresses a detection. Default 0.5. */
  nmsThresh?: number;
  /** Detections kept per image, by decreasing score. Default 100. */
  detectionsPerImg?: number;
  /** Boxes with a side below this (resized-image pixels) are dropped. Default 1e-2. */
  minSize?: number;
  /** Box coder weights. Default (10, 10, 5, 5). */
  boxCoderWeights?: BoxCoderWeights;
  /** Clamp of dw/dh before exp. Default log(1000 / 16). */
  bboxXformClip?: number;
}

/** {@link DetectionOptions} with every default filled in. */
export type ResolvedDetectionOptions = Required<DetectionOptions>;

/** torchvision's RoIHeads defaults for inference. */
export const DEFAULT_DETECTION_OPTIONS: ResolvedDetectionOptions = Object.freeze({
  scoreThresh: 0.05,
  nmsThresh: 0.5,
  detectionsPerImg: 100,
  minSize: 1e-2,
  boxCoderWeights: ROI_BOX_CODER_WEIGHTS,
  bboxXformClip: DEFAULT_BBOX_XFORM_CLIP,
});

/**
 * Fills in defaults and rejects bad settings with a message naming the option.
 *
 * @example
 * ```ts
 * resolveDetectionOptions({ scoreThresh: 0.3 }).nmsThresh; // 0.5
 * resolveDetectionOptions({ detectionsPerImg: -1 }); // throws
 * ```
 */
export function resolveDetectionOptions(
  options: DetectionOptions = {},
  where = 'postprocessDetections',
): ResolvedDetectionOptions {
  const known = new Set(Object.keys(DEFAULT_DETECTION_OPTIONS));
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new Error(`Error in ${where}: unknown option '${key}'; valid options are ${[...known].join(', ')}`);
    }
  }
  const o: ResolvedDetectionOptions = { ...DEFAULT_DETECTION_OPTIONS };
  for (const [k, v] of Object.entries(options) as Array<[keyof DetectionOptions, unknown]>) {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  }
  if (!Number.isInteger(o.detectionsPerImg) || o.detectionsPerImg < 0) {
    throw new Error(`Error in ${where}: detectionsPerImg must be a non-negative integer, got ${o.detectionsPerImg}`);
  }
  for (const name of ['scoreThresh', 'nmsThresh', 'minSize', 'bboxXformClip'] as const) {
    if (typeof o[name] !== 'number' || Number.isNaN(o[name])) {
      throw new Error(`Error in ${where}: ${name} must be a number, got ${String(o[name])}`);
    }
  }
  for (const name of ['scoreThresh', 'nmsThresh', 'minSize'] as const) {
    if (!Number.isFinite(o[name])) throw new Error(`Error in ${where}: ${name} must be finite, got ${o[name]}`);
  }
  return o;
}

/** Detections of one image; the caller owns the tensors (dispose them, or {@link disposeDetections}). */
export interface ImageDetections {
  /** `[D, 4]` xyxy boxes in resized-image pixels, by decreasing score. */
  readonly predBoxes: tf.Tensor2D;
  /** `[D]` softmax score of the detected class. */
  readonly predScores: tf.Tensor1D;
  /** `[D]` int32 class index in 1 .. K-1 (0 is background and never detected). */
  readonly predLabels: tf.Tensor1D;
}

/**
 * Frees the tensors of a list of detections.
 *
 * @example
 * ```ts
 * const dets = await postprocessDetections(logits, deltas, proposals, sizes);
 * disposeDetections(dets);
 * ```
 */
export function disposeDetections(detections: readonly ImageDetections[]): void {
  for (const d of detections) tf.dispose([d.predBoxes, d.predScores, d.predLabels]);
}

/**
 * Why a per-class candidate did or did not become a detection, in torchvision's
 * `postprocess_detections` order: `'lowScore'` (score not above scoreThresh), `'small'` (a side
 * below minSize), `'nms'` (suppressed by a better box of its class), `'cap'` (survived NMS but
 * ranked past detectionsPerImg), `'kept'` (a detection).
 *
 * @example
 * ```ts
 * const dropped: DetectionFate[] = ['lowScore', 'small', 'nms', 'cap'];
 * ```
 */
export type DetectionFate = 'lowScore' | 'small' | 'nms' | 'cap' | 'kept';

/**
 * Every per-class candidate of one image: C = Ri*(K-1) rows in torchvision's flattened order
 * (row `r*(K-1) + (k-1)` is class k of proposal r). Plain data, resized-image pixels.
 *
 * @example
 * ```ts
 * const kept = c.fates.flatMap((f, j) => (f === 'kept' ? [j] : []));
 * ```
 */
export interface DetectionCandidates {
  /** `[C]` row of the proposal (RoI) the candidate refines. */
  readonly proposalIndices: Int32Array;
  /** `[C]` class, 1 .. K-1. */
  readonly labels: Int32Array;
  /** `[C]` softmax score of that class. */
  readonly scores: Float32Array;
  /** `[C*4]` xyxy box of that class, decoded and clipped (row j is `4*j .. 4*j+3`). */
  readonly boxes: Float32Array;
  /** `[C]` what became of each candidate. */
  readonly fates: DetectionFate[];
  /** `[C]` row of the candidate in the image's detections when kept, else -1. */
  readonly detectionIndices: Int32Array;
}

/**
 * Hooks through which {@link postprocessDetections} shows its intermediate results (for
 * inspection); absent, nothing more is computed. Tensors are valid during the call only
 * (`tf.keep(t.clone())` to hold one); the candidates are the receiver's.
 *
 * @example
 * ```ts
 * const rec: DetectionRecorder = { candidates: (i, c) => console.log(i, c.fates.filter((f) => f === 'kept').length) };
 * ```
 */
export interface DetectionRecorder {
  /**
   * Image `image`'s `[Ri, K]` class probabilities and `[Ri, K, 4]` boxes of every class, decoded
   * and clipped; not called for an image without proposals.
   */
  boxes?(image: number, classProbs: tf.Tensor2D, refinedBoxes: tf.Tensor3D): void;
  /** Every per-class candidate of image `image` and its fate. */
  candidates?(image: number, candidates: DetectionCandidates): void;
}

function checkInputs(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  proposals: readonly tf.Tensor2D[],
  imageSizes: readonly ImageSizeHW[],
): void {
  const fn = 'postprocessDetections';
  if (classLogits.rank !== 2 || classLogits.shape[1] < 2) {
    throw new Error(`Error in ${fn}: classLogits must have shape [R, K] with K >= 2, got [${classLogits.shape}]`);
  }
  const [r, k] = classLogits.shape;
  if (boxRegression.rank !== 2 || boxRegression.shape[0] !== r || boxRegression.shape[1] !== 4 * k) {
    throw new Error(`Error in ${fn}: boxRegression must have shape [${r}, ${4 * k}], got [${boxRegression.shape}]`);
  }
  if (proposals.length !== imageSizes.length) {
    throw new Error(
      `Error in ${fn}: need one image size per proposal tensor, got ${proposals.length} proposal tensors and ${imageSizes.length} sizes`,
    );
  }
  let total = 0;
  proposals.forEach((p, i) => {
    if (p.rank !== 2 || p.shape[1] !== 4) {
      throw new Error(`Error in ${fn}: proposals[${i}] must have shape [Ri, 4], got [${p.shape}]`);
    }
    total += p.shape[0];
  });
  if (total !== r) {
    throw new Error(`Error in ${fn}: proposals hold ${total} boxes in all but classLogits has ${r} rows`);
  }
  imageSizes.forEach((s, i) => {
    if (s.length !== 2 || !(s[0] > 0) || !(s[1] > 0) || !Number.isFinite(s[0]) || !Number.isFinite(s[1])) {
      throw new Error(`Error in ${fn}: imageSizes[${i}] must be [height, width] > 0, got [${s}]`);
    }
  });
}

/** Candidates of one image after the score threshold, in torchvision's flattened order. */
interface Candidates {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/**
 * Threshold the `[Ri, K]` scores, skipping class 0, keeping `[Ri, K-1]` row-major order; `picked`
 * receives the flat `[Ri, K]` index of each candidate kept.
 */
function thresholdCandidates(boxes: Float32Array, scores: Float32Array, k: number, scoreThresh: number, picked: number[] = []): Candidates {
  const rows = scores.length / k;
  // torch compares a float32 tensor with a Python float in float32.
  const thresh = Math.fround(scoreThresh);
  for (let r = 0; r < rows; r++) {
    for (let c = 1; c < k; c++) if (scores[r * k + c] > thresh) picked.push(r * k + c);
  }
  const out: Candidates = {
    boxes: new Float32Array(picked.length * 4),
    scores: new Float32Array(picked.length),
    labels: new Int32Array(picked.length),
  };
  picked.forEach((flat, i) => {
    out.boxes.set(boxes.subarray(flat * 4, flat * 4 + 4), i * 4); // boxes are [Ri, K, 4]
    out.scores[i] = scores[flat];
    out.labels[i] = flat % k;
  });
  return out;
}

function subset(c: Candidates, keep: ArrayLike<number>): Candidates {
  const out: Candidates = {
    boxes: new Float32Array(keep.length * 4),
    scores: new Float32Array(keep.length),
    labels: new Int32Array(keep.length),
  };
  for (let i = 0; i < keep.length; i++) {
    const j = keep[i];
    out.boxes.set(c.boxes.subarray(j * 4, j * 4 + 4), i * 4);
    out.scores[i] = c.scores[j];
    out.labels[i] = c.labels[j];
  }
  return out;
}

/**
 * Turns class logits and box deltas of the RoIs of a batch into per-image detections, as
 * torchvision's `RoIHeads.postprocess_detections` (see the file comment for the exact steps).
 *
 * @param classLogits `[R, K]` logits of the box predictor, rows image by image.
 * @param boxRegression `[R, 4*K]` deltas of the box predictor.
 * @param proposals Per image `[Ri, 4]` xyxy proposals (resized-image pixels); sum Ri = R.
 * @param imageSizes Per image `[height, width]` after resizing, before padding.
 * @param options Thresholds and limits; torchvision's defaults.
 * @param recorder Optional hooks that see the probabilities, boxes and candidates.
 * @returns One {@link ImageDetections} per image; the caller owns the tensors. An image with no
 *   proposals or no candidate gets D = 0.
 *
 * @example
 * ```ts
 * const { classLogits, boxRegression } = predictor.forward(boxHead.forward(pooled));
 * const [dets] = await postprocessDetections(classLogits, boxRegression, [proposals], [[800, 1066]]);
 * dets.predBoxes.shape; // [D, 4]
 * ```
 */
export async function postprocessDetections(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  proposals: readonly tf.Tensor2D[],
  imageSizes: readonly ImageSizeHW[],
  options: DetectionOptions = {},
  recorder?: DetectionRecorder,
): Promise<ImageDetections[]> {
  const o = resolveDetectionOptions(options);
  checkInputs(classLogits, boxRegression, proposals, imageSizes);
  const k = classLogits.shape[1];
  const coder = new BoxCoder(o.boxCoderWeights, o.bboxXformClip);
  // Decoding, softmax and clipping stay on the backend; the rest is data-dependent and runs in JS.
  // Images without proposals skip the tensors (slicing an empty tensor fails on the cpu backend).
  const perImage: Array<[tf.Tensor3D, tf.Tensor2D] | null> = proposals.map(() => null);
  if (classLogits.shape[0] > 0) {
    const [decoded, scores] = tf.tidy(() => {
      const refs = proposals.length === 1 ? proposals[0] : tf.concat([...proposals], 0); // [R, 4]
      return [coder.decode(boxRegression, refs), tf.softmax(classLogits, -1)] as [tf.Tensor3D, tf.Tensor2D]; // [R, K, 4], [R, K]
    });
    let offset = 0;
    proposals.forEach((p, i) => {
      const ri = p.shape[0];
      if (ri === 0) return;
      const t = tf.tidy(() => {
        const boxes = tf.slice(decoded, [offset, 0, 0], [ri, k, 4]); // [Ri, K, 4]
        const s = tf.slice(scores, [offset, 0], [ri, k]); // [Ri, K]
        return [clipBoxesToImage(boxes, [imageSizes[i][0], imageSizes[i][1]]), s] as [tf.Tensor3D, tf.Tensor2D];
      });
      perImage[i] = t;
      recorder?.boxes?.(i, t[1], t[0]);
      offset += ri;
    });
    tf.dispose([decoded, scores]);
  }
  let data: Array<[Float32Array, Float32Array]>;
  try {
    data = await Promise.all(
      perImage.map(async (t): Promise<[Float32Array, Float32Array]> =>
        t === null
          ? [new Float32Array(0), new Float32Array(0)]
          : [(await t[0].data()) as Float32Array, (await t[1].data()) as Float32Array],
      ),
    );
  } finally {
    for (const t of perImage) if (t !== null) tf.dispose(t);
  }
  return data.map(([boxes, scores], i) => {
    const picked: number[] = [];
    const candidates = thresholdCandidates(boxes, scores, k, o.scoreThresh, picked);
    const large = removeSmallBoxes(candidates.boxes, o.minSize);
    const sized = subset(candidates, large);
    const survivors = batchedNms(sized.boxes, sized.scores, sized.labels, o.nmsThresh);
    const keep = survivors.subarray(0, o.detectionsPerImg);
    const final = subset(sized, keep);
    recorder?.candidates?.(i, detectionCandidates(boxes, scores, k, picked, large, survivors, keep.length));
    const d = final.scores.length;
    return {
      predBoxes: tf.tensor2d(final.boxes, [d, 4]),
      predScores: tf.tensor1d(final.scores),
      predLabels: tf.tensor1d(final.labels, 'int32'),
    };
  });
}

/**
 * Every candidate of one image (`[Ri, K, 4]` boxes and `[Ri, K]` scores, background left out) and
 * its fate, replaying {@link postprocessDetections}: `picked` are the flat indices above the
 * score threshold, `large` the rows of those that are not small, `survivors` NMS's picks among
 * those (by decreasing score), of which the first `kept` are detections.
 */
function detectionCandidates(
  boxes: Float32Array,
  scores: Float32Array,
  k: number,
  picked: readonly number[],
  large: Int32Array,
  survivors: Int32Array,
  kept: number,
): DetectionCandidates {
  const rows = scores.length / k;
  const c = rows * (k - 1);
  const out = {
    proposalIndices: new Int32Array(c),
    labels: new Int32Array(c),
    scores: new Float32Array(c),
    boxes: new Float32Array(c * 4),
    fates: new Array<DetectionFate>(c).fill('lowScore'),
    detectionIndices: new Int32Array(c).fill(-1),
  };
  // Flat [Ri, K] index f (class f % K >= 1) is candidate f - floor(f / K) - 1 of [Ri, K-1].
  const row = (flat: number) => flat - Math.floor(flat / k) - 1;
  for (let r = 0; r < rows; r++) {
    for (let cls = 1; cls < k; cls++) {
      const j = r * (k - 1) + cls - 1;
      const flat = r * k + cls;
      out.proposalIndices[j] = r;
      out.labels[j] = cls;
      out.scores[j] = scores[flat];
      out.boxes.set(boxes.subarray(flat * 4, flat * 4 + 4), j * 4);
    }
  }
  for (const p of picked) out.fates[row(p)] = 'small';
  for (const q of large) out.fates[row(picked[q])] = 'nms';
  survivors.forEach((q, d) => {
    const j = row(picked[large[q]]);
    out.fates[j] = d < kept ? 'kept' : 'cap';
    if (d < kept) out.detectionIndices[j] = d;
  });
  return out;
}
