/**
 * From mask logits to the mask of each detection's class: torchvision 0.14's
 * `maskrcnn_inference`.
 *
 * Shapes: D detections, M x M mask resolution (28), K classes.
 *   maskLogits  [D, M, M, K]
 *   labels      [D]          detected class of each row
 *   probs       [D, M, M]    sigmoid of channel labels[d] of row d
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Sigmoid probabilities of each detection's own class channel.
 *
 * The channel is selected before the sigmoid (torchvision applies the sigmoid to all K channels,
 * then selects; the selected values are the same).
 *
 * @param maskLogits `[D, M, M, K]` mask predictor output.
 * @param labels `[D]` int32 class of each detection, in 0 .. K-1.
 * @returns `[D, M, M]` probabilities; the caller owns it. D may be 0.
 *
 * @example
 * ```ts
 * const probs = maskrcnnInference(maskPredictor.forward(maskHead.forward(pooled)), dets.predLabels);
 * probs.shape; // [D, 28, 28]
 * ```
 */
export function maskrcnnInference(maskLogits: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor3D {
  if (maskLogits.rank !== 4) {
    throw new Error(`Error in maskrcnnInference: maskLogits must have shape [D, M, M, K], got [${maskLogits.shape}]`);
  }
  const [d, h, w, k] = maskLogits.shape;
  if (labels.rank !== 1 || labels.shape[0] !== d) {
    throw new Error(`Error in maskrcnnInference: labels must have shape [${d}], got [${labels.shape}]`);
  }
  if (labels.dtype !== 'int32') {
    throw new Error(`Error in maskrcnnInference: labels must be int32, got ${labels.dtype}`);
  }
  if (d === 0) return tf.zeros([0, h, w]);
  const labelData = labels.dataSync();
  const rows = new Int32Array(d); // row d*K + label of [D*K, M*M]
  for (let i = 0; i < d; i++) {
    if (labelData[i] < 0 || labelData[i] >= k) {
      throw new Error(`Error in maskrcnnInference: labels[${i}] = ${labelData[i]} is outside 0 .. ${k - 1}`);
    }
    rows[i] = i * k + labelData[i];
  }
  return tf.tidy(() => {
    const planes = tf.reshape(tf.transpose(maskLogits, [0, 3, 1, 2]), [d * k, h * w]); // [D, M, M, K] -> [D, K, M, M] -> [D*K, M*M]
    const picked = tf.gather(planes, tf.tensor1d(rows, 'int32')); // [D, M*M]
    return tf.reshape(tf.sigmoid(picked), [d, h, w]); // [D, M*M] -> [D, M, M]
  });
}
