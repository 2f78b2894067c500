/**
 * IoU of GT boxes against many predictions on plain data, for target assignment.
 *
 * Shapes: G GT boxes, P predictions, result `[G, P]` row-major.
 *
 * This is src/boxes' `boxIou` (torchvision's `box_iou`) computed on typed arrays with the same
 * float32 operations in the same order, so the two agree bit for bit (tested). It exists because
 * matching runs on data outside the tape and at RPN scale: for 20 GT x 243k anchors the tensor
 * version took 14-19 s on wasm and ~37 s on cpu (broadcast binary ops over [G, P, 2]); this loop
 * takes tens of milliseconds.
 */

const f32 = Math.fround;

/**
 * `[G, P]` IoU matrix, float32, torchvision's `inter / (area1 + area2 - inter)` (NaN for two
 * empty boxes, as torchvision).
 *
 * @param gt `[G * 4]` xyxy.
 * @param predictions `[P * 4]` xyxy.
 *
 * @example
 * ```ts
 * pairwiseIou(Float32Array.of(0, 0, 2, 1), Float32Array.of(0, 0, 1, 1, 5, 5, 6, 6)); // [0.5, 0]
 * ```
 */
export function pairwiseIou(gt: Float32Array, predictions: Float32Array): Float32Array {
  const G = gt.length >> 2;
  const P = predictions.length >> 2;
  const out = new Float32Array(G * P);
  const area2 = new Float32Array(P);
  for (let p = 0; p < P; p++) {
    const o = 4 * p;
    area2[p] = f32(f32(predictions[o + 2] - predictions[o]) * f32(predictions[o + 3] - predictions[o + 1]));
  }
  for (let g = 0; g < G; g++) {
    const gx1 = gt[4 * g];
    const gy1 = gt[4 * g + 1];
    const gx2 = gt[4 * g + 2];
    const gy2 = gt[4 * g + 3];
    const area1 = f32(f32(gx2 - gx1) * f32(gy2 - gy1));
    const row = g * P;
    for (let p = 0; p < P; p++) {
      const o = 4 * p;
      // Math.max / Math.min propagate NaN like torch.max / torch.min; so does the clamp at 0.
      const w = Math.max(f32(Math.min(gx2, predictions[o + 2]) - Math.max(gx1, predictions[o])), 0);
      const h = Math.max(f32(Math.min(gy2, predictions[o + 3]) - Math.max(gy1, predictions[o + 1])), 0);
      const inter = f32(w * h);
      out[row + p] = inter / f32(f32(area1 + area2[p]) - inter);
    }
  }
  return out;
}
