/**
 * Row selection with a gradient that every backend can run.
 *
 * `tf.gather`'s gradient needs the UnsortedSegmentSum kernel, which the wasm backend lacks. The
 * losses select rows by indices built from label data (outside the tape), all distinct, so the
 * gradient is a plain scatter of `dy` into zeros: `tf.scatterND`, which cpu and wasm both have.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * `x[rows]` for a 2-D tensor, differentiable w.r.t. `x` on cpu, wasm and any backend with
 * GatherV2 and ScatterNd kernels.
 *
 * @param x `[R, C]` float32 tensor (rank checked at run time).
 * @param rows `[n]` distinct row indices in `[0, R)` (data, not a taped tensor).
 * @returns `[n, C]`; its gradient scatters back into `[R, C]` (zero elsewhere).
 *
 * @example
 * ```ts
 * takeRows(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), Int32Array.of(2, 0)); // [[5, 6], [1, 2]]
 * ```
 */
export function takeRows(x: tf.Tensor, rows: Int32Array): tf.Tensor2D {
  if (x.rank !== 2) throw new Error(`Error in takeRows: x must be [R, C], got [${x.shape}]`);
  const [R, C] = x.shape as [number, number];
  const seen = new Uint8Array(R);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!(r >= 0 && r < R)) throw new Error(`Error in takeRows: rows[${i}] = ${r} is outside [0, ${R})`);
    if (seen[r]) throw new Error(`Error in takeRows: rows[${i}] = ${r} is repeated (the scatter gradient needs distinct rows)`);
    seen[r] = 1;
  }
  const n = rows.length;
  const op = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = inputs[0] as tf.Tensor;
    const value = tf.gather(input, tf.tensor1d(rows, 'int32')) as tf.Tensor2D; // [R, C] -> [n, C]
    // The indices are rebuilt in the gradient from the captured data: a tensor made here would be
    // freed by the caller's tidy before backprop runs.
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      n === 0 ? tf.zeros([R, C]) : tf.scatterND(tf.tensor2d(rows, [n, 1], 'int32'), dy, [R, C]); // [n, C] -> [R, C]
    return { value, gradFunc };
  });
  return op(x) as tf.Tensor2D;
}
