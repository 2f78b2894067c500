/**
 * Box regression encoding, as torchvision's `BoxCoder` (Faster R-CNN parameterisation).
 *
 * Shapes: R reference boxes (anchors or proposals), K boxes per row (1 for the RPN, one per
 * class in the box head). Boxes are xyxy in absolute pixels; deltas are `(dx, dy, dw, dh)`.
 *
 *   dx = wx * (gx - px) / pw      gx = dx / wx * pw + px
 *   dy = wy * (gy - py) / ph      gy = dy / wy * ph + py
 *   dw = ww * log(gw / pw)        gw = exp(min(dw / ww, clip)) * pw
 *   dh = wh * log(gh / ph)        gh = exp(min(dh / wh, clip)) * ph
 *
 * with centres `x1 + 0.5 * w` and sizes `x2 - x1` (no +1, as torchvision). Every step is the same
 * float32 operation torchvision performs, in the same order, so results agree to the last ulp
 * except for `exp`/`log`, whose float32 implementations may differ by one ulp.
 */
import * as tf from '@tensorflow/tfjs';

/** `(wx, wy, ww, wh)`: divisors of the four deltas. */
export type BoxCoderWeights = readonly [number, number, number, number];

/** Weights of the RPN's coder. */
export const RPN_BOX_CODER_WEIGHTS: BoxCoderWeights = [1, 1, 1, 1];
/** Weights of the RoI box head's coder. */
export const ROI_BOX_CODER_WEIGHTS: BoxCoderWeights = [10, 10, 5, 5];
/** Largest `dw`/`dh` fed to `exp` after dividing by the weight: log(1000 / 16). */
export const DEFAULT_BBOX_XFORM_CLIP = Math.log(1000 / 16);

function checkBoxes(fn: string, name: string, t: tf.Tensor, lastDim?: number): void {
  const cols = t.shape[1] ?? -1;
  if (t.rank !== 2 || (lastDim !== undefined ? cols !== lastDim : cols % 4 !== 0 || cols === 0)) {
    const want = lastDim !== undefined ? `[R, ${lastDim}]` : '[R, 4*K] with K >= 1';
    throw new Error(`Error in BoxCoder.${fn}: ${name} must have shape ${want}, got [${t.shape}]`);
  }
}

/**
 * Encodes boxes as deltas relative to reference boxes, and decodes them back.
 *
 * @example
 * ```ts
 * const coder = new BoxCoder(RPN_BOX_CODER_WEIGHTS);
 * const anchors = tf.tensor2d([[0, 0, 10, 10]]);
 * const deltas = coder.encode(tf.tensor2d([[1, 1, 11, 11]]), anchors); // [[0.1, 0.1, 0, 0]]
 * const boxes = coder.decode(deltas, anchors); // [[[1, 1, 11, 11]]]  shape [R, K, 4]
 * ```
 */
export class BoxCoder {
  /**
   * @param weights `(wx, wy, ww, wh)`; (1, 1, 1, 1) for the RPN, (10, 10, 5, 5) for the box head.
   * @param bboxXformClip Upper clamp of `dw / ww` and `dh / wh` before `exp` (torchvision: log(1000/16)).
   */
  constructor(
    readonly weights: BoxCoderWeights,
    readonly bboxXformClip: number = DEFAULT_BBOX_XFORM_CLIP,
  ) {
    if (weights.length !== 4 || weights.some((w) => !Number.isFinite(w) || w === 0)) {
      throw new Error(`Error in BoxCoder: weights must be 4 finite non-zero numbers, got [${weights}]`);
    }
    if (Number.isNaN(bboxXformClip)) throw new Error('Error in BoxCoder: bboxXformClip must be a number, got NaN');
  }

  /**
   * Regression targets of `boxes` relative to `references` (torchvision `encode_single(gt, proposals)`).
   *
   * @param boxes `[R, 4]` boxes to encode (matched ground truth).
   * @param references `[R, 4]` reference boxes (anchors or proposals), with positive sizes.
   * @returns `[R, 4]` deltas; the caller owns it.
   */
  encode(boxes: tf.Tensor2D, references: tf.Tensor2D): tf.Tensor2D {
    checkBoxes('encode', 'boxes', boxes, 4);
    checkBoxes('encode', 'references', references, 4);
    if (boxes.shape[0] !== references.shape[0]) {
      throw new Error(
        `Error in BoxCoder.encode: boxes and references must have the same number of rows, got ${boxes.shape[0]} and ${references.shape[0]}`,
      );
    }
    const [wx, wy, ww, wh] = this.weights;
    return tf.tidy(() => {
      const [px1, py1, px2, py2] = tf.unstack(references, 1) as tf.Tensor1D[];
      const [gx1, gy1, gx2, gy2] = tf.unstack(boxes, 1) as tf.Tensor1D[];
      const pw = tf.sub(px2, px1);
      const ph = tf.sub(py2, py1);
      const px = tf.add(px1, tf.mul(0.5, pw));
      const py = tf.add(py1, tf.mul(0.5, ph));
      const gw = tf.sub(gx2, gx1);
      const gh = tf.sub(gy2, gy1);
      const gx = tf.add(gx1, tf.mul(0.5, gw));
      const gy = tf.add(gy1, tf.mul(0.5, gh));
      // torchvision evaluates `wx * (gx - px) / pw` left to right: the weight multiplies first.
      const dx = tf.div(tf.mul(wx, tf.sub(gx, px)), pw);
      const dy = tf.div(tf.mul(wy, tf.sub(gy, py)), ph);
      const dw = tf.mul(ww, tf.log(tf.div(gw, pw)));
      const dh = tf.mul(wh, tf.log(tf.div(gh, ph)));
      return tf.stack([dx, dy, dw, dh], 1) as tf.Tensor2D; // 4 x [R] -> [R, 4]
    });
  }

  /**
   * Applies deltas to reference boxes (torchvision `decode`).
   *
   * @param deltas `[R, 4*K]` deltas, K boxes per reference (classes of the box head, or 1).
   * @param references `[R, 4]` reference boxes.
   * @returns `[R, K, 4]` decoded xyxy boxes; the caller owns it. R may be 0.
   */
  decode(deltas: tf.Tensor2D, references: tf.Tensor2D): tf.Tensor3D {
    checkBoxes('decode', 'deltas', deltas);
    checkBoxes('decode', 'references', references, 4);
    if (deltas.shape[0] !== references.shape[0]) {
      throw new Error(
        `Error in BoxCoder.decode: deltas and references must have the same number of rows, got ${deltas.shape[0]} and ${references.shape[0]}`,
      );
    }
    const [wx, wy, ww, wh] = this.weights;
    const r = deltas.shape[0];
    const k = deltas.shape[1] / 4;
    return tf.tidy(() => {
      const [x1, y1, x2, y2] = tf.unstack(references, 1) as tf.Tensor1D[];
      const widths = tf.reshape(tf.sub(x2, x1), [r, 1]); // [R] -> [R, 1]
      const heights = tf.reshape(tf.sub(y2, y1), [r, 1]);
      const ctrX = tf.add(tf.reshape(x1, [r, 1]), tf.mul(0.5, widths));
      const ctrY = tf.add(tf.reshape(y1, [r, 1]), tf.mul(0.5, heights));
      const d = tf.reshape(deltas, [r, k, 4]); // [R, 4*K] -> [R, K, 4]
      const [rdx, rdy, rdw, rdh] = tf.unstack(d, 2) as tf.Tensor2D[]; // 4 x [R, K]
      const dx = tf.div(rdx, wx);
      const dy = tf.div(rdy, wy);
      // Prevent sending too large values into exp (upper clamp only, as torchvision).
      const dw = tf.minimum(tf.div(rdw, ww), this.bboxXformClip);
      const dh = tf.minimum(tf.div(rdh, wh), this.bboxXformClip);
      const predCtrX = tf.add(tf.mul(dx, widths), ctrX);
      const predCtrY = tf.add(tf.mul(dy, heights), ctrY);
      const halfW = tf.mul(0.5, tf.mul(tf.exp(dw), widths));
      const halfH = tf.mul(0.5, tf.mul(tf.exp(dh), heights));
      return tf.stack(
        [tf.sub(predCtrX, halfW), tf.sub(predCtrY, halfH), tf.add(predCtrX, halfW), tf.add(predCtrY, halfH)],
        2,
      ) as tf.Tensor3D; // 4 x [R, K] -> [R, K, 4]
    });
  }
}
