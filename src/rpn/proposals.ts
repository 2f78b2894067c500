/**
 * From RPN head outputs to proposals: torchvision 0.14's `RegionProposalNetwork.filter_proposals`
 * (with the decoding that precedes it in `forward`).
 *
 * Shapes: N images, L levels, A anchors per location, level l is Hl x Wl, Ml = Hl*Wl*A anchors,
 * kl = min(preNmsTopN, Ml) kept per level before NMS, T = sum kl, P proposals per image after NMS.
 *
 * Per level, the kl anchors with the highest objectness logits are decoded (torchvision decodes
 * every anchor and then selects; decoding is row-wise, so selecting first gives the same boxes
 * for a fraction of the work). Then per image: sigmoid, clip to the resized image, drop boxes with
 * a side < minSize, drop scores < scoreThresh, NMS per level, keep the best postNmsTopN.
 * Proposals are data, not part of any gradient (torchvision detaches them).
 */
import * as tf from '@tensorflow/tfjs';
import { BoxCoder, RPN_BOX_CODER_WEIGHTS } from '../boxes/box_coder';
import { clipBoxesToImage } from '../boxes/clip_boxes';
import { batchedNms } from '../boxes/nms';
import { removeSmallBoxes } from '../boxes/remove_small_boxes';

/** Settings of {@link selectProposals}, already resolved for training or testing. */
export interface ProposalSelection {
  /** Anchors kept per level (by objectness logit) before NMS. */
  readonly preNmsTopN: number;
  /** Proposals kept per image after NMS. */
  readonly postNmsTopN: number;
  /** IoU above which NMS (run per level) suppresses a proposal. */
  readonly nmsThresh: number;
  /** Proposals with sigmoid objectness below this are dropped (`>=` keeps, as torchvision). */
  readonly scoreThresh: number;
  /** Proposals with a side below this (pixels) are dropped. */
  readonly minSize: number;
}

/** Proposals of a batch, one entry per image; the caller owns the tensors (`tf.dispose` them). */
export type SelectedProposals = {
  /** `[P, 4]` xyxy boxes in resized-image pixels, by decreasing score. */
  readonly boxes: tf.Tensor2D[];
  /** `[P]` sigmoid objectness of each box. */
  readonly scores: tf.Tensor1D[];
};

/**
 * Why a pre-NMS candidate did or did not become a proposal, in the order torchvision's
 * `filter_proposals` drops them: `'small'` (a side below minSize after clipping), `'lowScore'`
 * (objectness below scoreThresh), `'nms'` (suppressed by a better box of its level),
 * `'postNmsTopN'` (survived NMS but ranked past postNmsTopN), `'kept'` (a proposal).
 *
 * @example
 * ```ts
 * const dropped: ProposalFate[] = ['small', 'lowScore', 'nms', 'postNmsTopN'];
 * ```
 */
export type ProposalFate = 'small' | 'lowScore' | 'nms' | 'postNmsTopN' | 'kept';

/**
 * The pre-NMS candidates of one image as {@link selectProposals} saw them: T = sum kl rows,
 * level by level, each level by decreasing objectness. Plain data.
 *
 * @example
 * ```ts
 * const kept = c.fates.flatMap((f, j) => (f === 'kept' ? [j] : []));
 * ```
 */
export interface ProposalCandidates {
  /** `[T*4]` xyxy decoded boxes, clipped to the resized image (row j is `4*j .. 4*j+3`). */
  readonly boxes: Float32Array;
  /** `[T]` sigmoid objectness. */
  readonly scores: Float32Array;
  /** `[T]` index of the FPN level (into `FPN_LEVELS`). */
  readonly levels: Int32Array;
  /** `[T]` index of the anchor within its level (row of that level's `[Ml, 4]` anchors). */
  readonly anchorIndices: Int32Array;
  /** `[T]` what became of each candidate. */
  readonly fates: ProposalFate[];
  /** `[T]` row of the candidate in the image's proposals when kept, else -1. */
  readonly proposalIndices: Int32Array;
}

/**
 * Receives the candidates of image `image` of the batch (for inspection); the data is the
 * receiver's to keep.
 *
 * @example
 * ```ts
 * const seen: ProposalCandidates[] = [];
 * await selectProposals(objectness, deltas, anchors, sizes, selection, coder, (i, c) => { seen[i] = c; });
 * ```
 */
export type ProposalRecorder = (image: number, candidates: ProposalCandidates) => void;

/**
 * Throws a clear error when a setting is out of range.
 *
 * @param where Name used in the message (`selectProposals`, `RegionProposalNetwork`).
 * @example
 * ```ts
 * checkProposalSelection({ preNmsTopN: -1, postNmsTopN: 10, nmsThresh: 0.7, scoreThresh: 0, minSize: 1e-3 });
 * // throws "Error in selectProposals: preNmsTopN must be a non-negative integer, got -1"
 * ```
 */
export function checkProposalSelection(s: ProposalSelection, where = 'selectProposals'): void {
  for (const name of ['preNmsTopN', 'postNmsTopN'] as const) {
    if (!Number.isInteger(s[name]) || s[name] < 0) {
      throw new Error(`Error in ${where}: ${name} must be a non-negative integer, got ${s[name]}`);
    }
  }
  for (const name of ['nmsThresh', 'scoreThresh', 'minSize'] as const) {
    if (!Number.isFinite(s[name])) throw new Error(`Error in ${where}: ${name} must be a finite number, got ${s[name]}`);
  }
}

/**
 * One image's proposals as data (see {@link selectProposalsAsData}).
 *
 * @example
 * ```ts
 * const [first] = selectProposalsAsData(objectness, deltas, anchors, sizes, selection);
 * first.boxes.length / 4; // P proposals of the first image
 * ```
 */
export interface ProposalData {
  /** `[P*4]` xyxy boxes in resized-image pixels, by decreasing score. */
  readonly boxes: Float32Array;
  /** `[P]` sigmoid objectness of each box. */
  readonly scores: Float32Array;
}

/**
 * Selects the proposals of every image from per-level head outputs and anchors.
 *
 * Async because NMS runs on the CPU after `data()`; no tensor is left behind.
 *
 * @param objectness `[N, Hl, Wl, A]` logits per level.
 * @param deltas `[N, Hl, Wl, A*4]` deltas per level.
 * @param anchors `[Ml*4]` anchors per level in the head's flattening order (see `AnchorGenerator`).
 * @param imageSizes `[height, width]` of each resized, unpadded image: boxes are clipped to it.
 * @param selection Top-n and threshold settings.
 * @param boxCoder Coder of the deltas; torchvision's RPN uses weights (1, 1, 1, 1).
 * @param onCandidates Optional recorder of every pre-NMS candidate and its fate; without it
 *   nothing more is computed.
 *
 * @example
 * ```ts
 * const { boxes, scores } = await selectProposals(objectness, deltas, anchors, [[800, 1066]],
 *   { preNmsTopN: 1000, postNmsTopN: 1000, nmsThresh: 0.7, scoreThresh: 0, minSize: 1e-3 });
 * ```
 */
export async function selectProposals(
  objectness: readonly tf.Tensor4D[],
  deltas: readonly tf.Tensor4D[],
  anchors: readonly Float32Array[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
  selection: ProposalSelection,
  boxCoder: BoxCoder = new BoxCoder(RPN_BOX_CODER_WEIGHTS),
  onCandidates?: ProposalRecorder,
): Promise<SelectedProposals> {
  const c = candidateTensors(objectness, deltas, anchors, imageSizes, selection, boxCoder, onCandidates !== undefined);
  if (c === undefined) return { boxes: [], scores: [] };
  let read: CandidateData;
  try {
    const [boxes, scores] = (await Promise.all([c.boxes.data(), c.scores.data()])) as [Float32Array, Float32Array];
    read = { boxes, scores, anchorIndices: c.anchorIndices === undefined ? undefined : ((await c.anchorIndices.data()) as Int32Array) };
  } finally {
    tf.dispose([c.boxes, c.scores, c.anchorIndices]);
  }
  const picked = pickProposals(read, c.perLevel, imageSizes.length, selection, onCandidates);
  return { boxes: picked.map((p) => tf.tensor2d(p.boxes, [p.scores.length, 4])), scores: picked.map((p) => tf.tensor1d(p.scores)) };
}

/**
 * {@link selectProposals} as a synchronous function returning data: the training step's
 * proposal selection, which runs inside `tf.variableGrads` (a tape cannot await). Reading the
 * candidates back as data detaches the proposals from the gradient, as torchvision's
 * `proposals.detach()` does. Same arguments and same proposals as {@link selectProposals}; it
 * blocks on the read-back (`dataSync`), so inference uses the async form.
 *
 * @example
 * ```ts
 * const proposals = selectProposalsAsData(objectness, deltas, anchors, sizes, rpn.selection(true));
 * proposals[0].boxes; // Float32Array [P*4]
 * ```
 */
export function selectProposalsAsData(
  objectness: readonly tf.Tensor4D[],
  deltas: readonly tf.Tensor4D[],
  anchors: readonly Float32Array[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
  selection: ProposalSelection,
  boxCoder: BoxCoder = new BoxCoder(RPN_BOX_CODER_WEIGHTS),
  onCandidates?: ProposalRecorder,
): ProposalData[] {
  const c = candidateTensors(objectness, deltas, anchors, imageSizes, selection, boxCoder, onCandidates !== undefined);
  if (c === undefined) return [];
  try {
    const read: CandidateData = {
      boxes: c.boxes.dataSync() as Float32Array,
      scores: c.scores.dataSync() as Float32Array,
      anchorIndices: c.anchorIndices?.dataSync() as Int32Array | undefined,
    };
    return pickProposals(read, c.perLevel, imageSizes.length, selection, onCandidates);
  } finally {
    tf.dispose([c.boxes, c.scores, c.anchorIndices]);
  }
}

/** The pre-NMS candidates of a batch as tensors: `[N, T, 4]` boxes, `[N, T]` scores and anchor indices. */
interface CandidateTensors {
  readonly boxes: tf.Tensor3D;
  readonly scores: tf.Tensor2D;
  /** Only when a recorder asked for the candidates. */
  readonly anchorIndices?: tf.Tensor2D;
  /** kl candidates of each level. */
  readonly perLevel: readonly number[];
}

/** {@link CandidateTensors} read back. */
interface CandidateData {
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  readonly anchorIndices?: Int32Array;
}

/**
 * The tensor half of the selection: per level the kl best logits, their anchors decoded, sigmoid,
 * clipped to each image. Undefined for an empty batch.
 */
function candidateTensors(
  objectness: readonly tf.Tensor4D[],
  deltas: readonly tf.Tensor4D[],
  anchors: readonly Float32Array[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
  selection: ProposalSelection,
  boxCoder: BoxCoder,
  withIndices: boolean,
): CandidateTensors | undefined {
  checkProposalSelection(selection);
  if (objectness.length !== deltas.length || objectness.length !== anchors.length) {
    throw new Error(
      `Error in selectProposals: objectness, deltas and anchors must have one entry per level, got ${objectness.length}, ${deltas.length} and ${anchors.length}`,
    );
  }
  const n = imageSizes.length;
  const numAnchors = objectness.map((o, l) => {
    const [on, h, w, a] = o.shape;
    const d = deltas[l].shape;
    if (on !== n || d[0] !== n || d[1] !== h || d[2] !== w || d[3] !== a * 4 || anchors[l].length !== h * w * a * 4) {
      throw new Error(
        `Error in selectProposals: level ${l} does not fit together: objectness [${o.shape}], deltas [${d}], ${anchors[l].length / 4} anchors, ${n} image sizes`,
      );
    }
    return h * w * a;
  });
  if (n === 0) return undefined;
  const perLevel = numAnchors.map((m) => Math.min(selection.preNmsTopN, m));
  const total = perLevel.reduce((s, k) => s + k, 0);

  const [boxes, scores, anchorIndices] = tf.tidy(() => {
    const boxesPerLevel: tf.Tensor3D[] = [];
    const scoresPerLevel: tf.Tensor2D[] = [];
    const indicesPerLevel: tf.Tensor2D[] = [];
    numAnchors.forEach((m, l) => {
      const k = perLevel[l];
      if (k === 0) return;
      const logits = tf.reshape(objectness[l], [n, m]); // [N, Hl, Wl, A] -> [N, Ml]
      const d = tf.reshape(deltas[l], [n * m, 4]); // [N, Hl, Wl, A*4] -> [N*Ml, 4]
      const { values, indices } = tf.topk(logits, k) as { values: tf.Tensor2D; indices: tf.Tensor2D }; // [N, kl]
      // Row of image i's anchor j in [N*Ml, 4] is i*Ml + j. (A flat gather rather than
      // gather(..., batchDims=1), which gives wrong rows past the first image on wasm 4.22.)
      const firstRow = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(m, 'int32')); // [N]; a JS literal would upcast to float
      const rows = tf.add(indices, tf.reshape(firstRow, [n, 1])); // [N, kl]
      const selDeltas = tf.gather(d, tf.reshape(rows, [n * k])) as tf.Tensor2D; // [N*kl, 4]
      const levelAnchors = tf.tensor2d(anchors[l], [m, 4]);
      const selAnchors = tf.reshape<tf.Rank.R2>(tf.gather(levelAnchors, indices), [n * k, 4]); // [N, kl, 4] -> [N*kl, 4]
      const decoded = boxCoder.decode(selDeltas, selAnchors); // [N*kl, 1, 4]
      boxesPerLevel.push(tf.reshape(decoded, [n, k, 4])); // [N*kl, 1, 4] -> [N, kl, 4]
      scoresPerLevel.push(tf.sigmoid(values));
      if (withIndices) indicesPerLevel.push(indices);
    });
    const recorded = (t: () => tf.Tensor2D): tf.Tensor2D[] => (withIndices ? [t()] : []);
    if (total === 0) return [tf.zeros([n, 0, 4]), tf.zeros([n, 0]), ...recorded(() => tf.zeros([n, 0], 'int32'))];
    const all = tf.concat(boxesPerLevel, 1); // [N, T, 4]
    const clipped = tf.stack(tf.unstack(all, 0).map((b, i) => clipBoxesToImage(b, imageSizes[i]))); // [N, T, 4]
    return [clipped, tf.concat(scoresPerLevel, 1), ...recorded(() => tf.concat(indicesPerLevel, 1))];
  }) as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D | undefined];
  return { boxes, scores, anchorIndices, perLevel };
}

/**
 * The data half of the selection, image by image: drop small boxes and low scores, NMS per
 * level, keep the best postNmsTopN; tell a recorder every candidate's fate.
 */
function pickProposals(
  read: CandidateData,
  perLevel: readonly number[],
  n: number,
  selection: ProposalSelection,
  onCandidates: ProposalRecorder | undefined,
): ProposalData[] {
  const total = perLevel.reduce((s, k) => s + k, 0);
  const levelOf = new Int32Array(total);
  let offset = 0;
  perLevel.forEach((k, l) => {
    levelOf.fill(l, offset, offset + k);
    offset += k;
  });

  const out: ProposalData[] = [];
  for (let i = 0; i < n; i++) {
    const boxes = read.boxes.subarray(i * total * 4, (i + 1) * total * 4);
    const scores = read.scores.subarray(i * total, (i + 1) * total);
    const threshold = Math.fround(selection.scoreThresh);
    const large = removeSmallBoxes(boxes, selection.minSize);
    const candidates = Array.from(large).filter((j) => scores[j] >= threshold);
    const cBoxes = new Float32Array(candidates.length * 4);
    const cScores = new Float32Array(candidates.length);
    const cLevels = new Int32Array(candidates.length);
    candidates.forEach((j, r) => {
      cBoxes.set(boxes.subarray(4 * j, 4 * j + 4), 4 * r);
      cScores[r] = scores[j];
      cLevels[r] = levelOf[j];
    });
    const survivors = batchedNms(cBoxes, cScores, cLevels, selection.nmsThresh);
    const keep = survivors.subarray(0, selection.postNmsTopN);
    const kBoxes = new Float32Array(keep.length * 4);
    const kScores = new Float32Array(keep.length);
    keep.forEach((r, p) => {
      kBoxes.set(cBoxes.subarray(4 * r, 4 * r + 4), 4 * p);
      kScores[p] = cScores[r];
    });
    out.push({ boxes: kBoxes, scores: kScores });
    if (onCandidates && read.anchorIndices !== undefined) {
      const fates = proposalFates(total, large, candidates, survivors, keep.length);
      onCandidates(i, {
        boxes: boxes.slice(),
        scores: scores.slice(),
        levels: levelOf.slice(),
        anchorIndices: read.anchorIndices.slice(i * total, (i + 1) * total),
        ...fates,
      });
    }
  }
  return out;
}

/**
 * The fate of each of an image's T candidates, replaying the drops of {@link selectProposals} in
 * its order: `large` are the rows that are not small, `candidates` those of them above the score
 * threshold, `survivors` NMS's picks among the candidates (by decreasing score), of which the
 * first `kept` are the proposals.
 */
function proposalFates(
  t: number,
  large: ArrayLike<number>,
  candidates: readonly number[],
  survivors: Int32Array,
  kept: number,
): { fates: ProposalFate[]; proposalIndices: Int32Array } {
  const fates: ProposalFate[] = new Array<ProposalFate>(t).fill('small');
  for (let q = 0; q < large.length; q++) fates[large[q]] = 'lowScore';
  for (const j of candidates) fates[j] = 'nms';
  const proposalIndices = new Int32Array(t).fill(-1);
  survivors.forEach((r, p) => {
    const j = candidates[r];
    fates[j] = p < kept ? 'kept' : 'postNmsTopN';
    if (p < kept) proposalIndices[j] = p;
  });
  return { fates, proposalIndices };
}
