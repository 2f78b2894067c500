/**
 * The geometry of a 2-D convolution as the gradient kernels need it, read from the kernel
 * attributes with tfjs's own `computeConv2DInfo` (so 'same' / 'valid' / explicit padding and
 * dimRoundingMode resolve exactly as in the forward op).
 *
 * Shapes (NHWC): x [B, H, W, Ci], filter [FH, FW, Ci, Co], dy [B, OH, OW, Co].
 */
import * as tf from '@tensorflow/tfjs';
import { pairAttr } from './wasm_backend_ops';

/** Resolved sizes, strides and padding of one conv2d (dilation 1). */
export interface Conv2dGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
  /** True for NCHW tensors (the filter layout is the same in both formats). */
  channelsFirst: boolean;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/**
 * Resolves the geometry of a conv2d from its input shape (in `dataFormat`), filter shape and
 * attributes.
 *
 * @example
 * ```ts
 * const g = conv2dGeometry('Conv2DBackpropFilter', [1, 8, 8, 3], [3, 3, 3, 4], { strides: 2, pad: 'same' });
 * // g.outHeight === 4, g.padTop === 0
 * ```
 */
export function conv2dGeometry(
  kernelName: string,
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: tf.NamedAttrMap | undefined,
): Conv2dGeometry {
  if (inShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`Error in ${kernelName}: expected rank-4 input [${inShape}] and filter [${filterShape}]`);
  }
  const strides = pairAttr(attrs?.strides, kernelName, 'strides');
  const dataFormat = attrs?.dataFormat === 'NCHW' ? 'NCHW' : 'NHWC';
  const dimRoundingMode = attrs?.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    attrs?.pad as Pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    channelsFirst: info.dataFormat === 'channelsFirst',
  };
}

/** Shape [B, OH, OW, Co] (NHWC) that dy must have. */
export function dyShapeNhwc(g: Conv2dGeometry): number[] {
  return [g.batch, g.outHeight, g.outWidth, g.outChannels];
}
