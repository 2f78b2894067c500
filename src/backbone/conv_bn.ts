/**
 * Conv2d (no bias) followed by FrozenBatchNorm2d, run as one fused convolution.
 *
 * Because the batch norm is frozen it is an affine map per output channel, which folds into the
 * convolution: conv(x, W) * scale + shift == conv(x, W * scale) + shift. One fused conv+bias+ReLU
 * kernel replaces three passes over the activation; the weights stay separate (torchvision keys
 * `convN.weight` and `bnN.*`), and gradients still reach W through the multiplication.
 * A {@link BatchNorm2d} in training mode normalises with batch statistics, which do not fold:
 * there the conv, the norm and the activation run one after the other.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { FrozenBatchNorm2d } from './frozen_batch_norm';
import type { BatchNorm2d } from './batch_norm';

/** y = act(bn(conv(x))), shapes [N, H, W, Cin] -> [N, Ho, Wo, Cout]. */
export function convFrozenBn(
  conv: Conv2d,
  bn: FrozenBatchNorm2d,
  x: tf.Tensor4D,
  activation: 'linear' | 'relu',
): tf.Tensor4D {
  return tf.tidy(() => {
    if (bn.usesBatchStatistics) {
      const y = bn.forward(conv.forward(x));
      return activation === 'relu' ? tf.relu(y) : y;
    }
    const { scale, shift } = bn.affine();
    // [kh, kw, Cin, Cout] * [Cout] scales each output channel.
    const filter = tf.mul(conv.weight.read(), scale) as tf.Tensor4D;
    return tf.fused.conv2d({ x, filter, strides: conv.stride, pad: conv.explicitPadding, bias: shift, activation });
  });
}
