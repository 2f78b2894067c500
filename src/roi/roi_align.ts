/**
 * RoIAlign (He et al., Mask R-CNN, 2017) with the exact semantics of torchvision 0.14's
 * `torchvision.ops.roi_align`, on NHWC features, differentiable with respect to the features.
 *
 * Shapes: N images, H x W feature size, C channels, R RoIs, oh x ow output size.
 *
 * The op is linear in the features. We build its sparse matrix from the box data (outside the
 * tape: boxes are not differentiated, as torchvision detaches proposals), then apply it with
 * {@link csrMatMul}, whose gradient is the transposed matrix applied to dy.
 */
import * as tf from '@tensorflow/tfjs';
import { csrMatMul, CsrMatMulImplementation } from './csr_matmul';
import { buildRoiAlignPlan } from './roi_align_plan';

/** Extra options of {@link roiAlign}, for tests and benchmarks. */
export interface RoiAlignOptions {
  /** `auto` (default): dedicated kernel on cpu/wasm, composed tfjs ops elsewhere. */
  readonly implementation?: CsrMatMulImplementation;
}

/**
 * Pools each box of `boxes` from its image's features into an `outputSize` grid.
 *
 * Coordinates: boxes are xyxy in image pixels; `spatialScale` maps them to feature pixels
 * (1/4 for a stride-4 map). Sample points lie at `(i + 0.5) * bin / grid` inside each bin and
 * are bilinearly interpolated; a sample more than one pixel outside the map contributes 0, one
 * within a pixel of the border reads the border (torchvision's rule). Each bin is the mean of
 * its `grid x grid` samples, `grid = samplingRatio > 0 ? samplingRatio : ceil(roiSize / outSize)`
 * per axis. With `aligned` the boxes are shifted by -0.5 pixel and not enlarged to 1x1.
 *
 * Box data is read synchronously (`dataSync`).
 *
 * @param features [N, H, W, C] float32.
 * @param boxes [R, 4] xyxy in image coordinates.
 * @param boxIndices [R] int32, image of each box in `[0, N)`.
 * @param outputSize [oh, ow].
 * @param spatialScale feature size / image size, > 0.
 * @param samplingRatio samples per bin along each axis; `<= 0` (integer) means adaptive.
 * @param aligned pixel-shift boxes by -0.5 (default false, as torchvision's Mask R-CNN).
 * @returns [R, oh, ow, C] float32.
 *
 * @example
 * ```ts
 * const x = tf.range(0, 25).reshape([1, 5, 5, 1]) as tf.Tensor4D;
 * const y = roiAlign(x, tf.tensor2d([[0, 0, 4, 4]]), tf.tensor1d([0], 'int32'), [2, 2], 1, 2);
 * // y: [1, 2, 2, 1] = [[[[6], [8]], [[16], [18]]]]
 * ```
 */
export function roiAlign(
  features: tf.Tensor4D,
  boxes: tf.Tensor2D,
  boxIndices: tf.Tensor1D,
  outputSize: [number, number],
  spatialScale: number,
  samplingRatio: number,
  aligned = false,
  options: RoiAlignOptions = {},
): tf.Tensor4D {
  const fail = (msg: string): never => {
    throw new Error(`Error in roiAlign: ${msg}`);
  };
  if (!(features instanceof tf.Tensor) || features.rank !== 4 || features.dtype !== 'float32') {
    fail(`features must be a float32 tensor [N, H, W, C], got ${describe(features)}`);
  }
  if (!(boxes instanceof tf.Tensor) || boxes.rank !== 2 || boxes.shape[1] !== 4) {
    fail(`boxes must be [R, 4], got ${describe(boxes)}`);
  }
  if (boxes.dtype !== 'float32' && boxes.dtype !== 'int32') fail(`boxes must be numeric, got ${boxes.dtype}`);
  if (!(boxIndices instanceof tf.Tensor) || boxIndices.rank !== 1 || boxIndices.dtype !== 'int32') {
    fail(`boxIndices must be an int32 tensor [R], got ${describe(boxIndices)}`);
  }
  const R = boxes.shape[0];
  if (boxIndices.shape[0] !== R) fail(`boxIndices must have ${R} entries (one per box), got ${boxIndices.shape[0]}`);
  if (
    !Array.isArray(outputSize) ||
    outputSize.length !== 2 ||
    !outputSize.every((s) => Number.isInteger(s) && s > 0)
  ) {
    fail(`outputSize must be two positive integers [outH, outW], got ${JSON.stringify(outputSize)}`);
  }
  if (!Number.isFinite(spatialScale) || spatialScale <= 0) {
    fail(`spatialScale must be a positive number, got ${spatialScale}`);
  }
  if (!Number.isInteger(samplingRatio)) fail(`samplingRatio must be an integer (<= 0: adaptive), got ${samplingRatio}`);
  if (typeof aligned !== 'boolean') fail(`aligned must be a boolean, got ${String(aligned)}`);

  const [N, H, W, C] = features.shape;
  const [oh, ow] = outputSize;
  const boxData = boxes.dataSync();
  const indexData = boxIndices.dataSync();
  for (let r = 0; r < R; r++) {
    if (indexData[r] < 0 || indexData[r] >= N) {
      fail(`boxIndices[${r}] = ${indexData[r]} is outside [0, ${N}) (features hold ${N} images)`);
    }
  }
  const plan = buildRoiAlignPlan(boxData, indexData, {
    batch: N,
    height: H,
    width: W,
    outHeight: oh,
    outWidth: ow,
    spatialScale,
    samplingRatio,
    aligned,
  });
  return tf.tidy(() => {
    const flat = tf.reshape(features, [N * H * W, C]); // [N, H, W, C] -> [N*H*W, C]
    const pooled = csrMatMul(plan, flat as tf.Tensor2D, { implementation: options.implementation });
    return tf.reshape(pooled, [R, oh, ow, C]); // [R*oh*ow, C] -> [R, oh, ow, C]
  });
}

function describe(x: unknown): string {
  return x instanceof tf.Tensor ? `${x.dtype} [${x.shape.join(', ')}]` : typeof x;
}
