/**
 * torch's default initialisers, as tfjs initializers, for the layers of the RoI heads.
 *
 * `nn.Linear` and `nn.Conv2d` / `nn.ConvTranspose2d` start with kaiming_uniform(a = sqrt(5)),
 * which is uniform in +-1/sqrt(fan_in), and a bias uniform in the same range. torchvision then
 * re-initialises the mask layers with kaiming_normal(fan_out, relu); tfjs's `normal`
 * variance scaling draws a truncated normal, close to but not the same distribution.
 */
import * as tf from '@tensorflow/tfjs';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers';

/**
 * `nn.Linear`'s default weight init for a tfjs weight `[in, out]` (tfjs's fan_in is `in`).
 *
 * @example
 * ```ts
 * this.param('fc6.weight', [12544, 1024], 'linear', linearWeightInit());
 * ```
 */
export function linearWeightInit(): Initializer {
  // kaiming_uniform(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) * fan_in)) = sqrt(3 * (1/3) / fan_in)
  return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform' });
}

/**
 * torch's default bias init: uniform in +-1/sqrt(fanIn).
 *
 * @example
 * ```ts
 * this.param('fc6.bias', [1024], 'same', linearBiasInit(12544));
 * ```
 */
export function linearBiasInit(fanIn: number): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.initializers.randomUniform({ minval: -bound, maxval: bound });
}

/**
 * kaiming_normal(mode='fan_out', nonlinearity='relu') for a tfjs conv or conv-transpose filter
 * `[kh, kw, a, b]` (tfjs's fan_out `b*kh*kw` equals torch's for both weight layouts).
 *
 * @example
 * ```ts
 * this.param('conv5_mask.weight', [2, 2, 256, 256], 'conv_transpose', kaimingFanOutInit());
 * ```
 */
export function kaimingFanOutInit(): Initializer {
  return tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' });
}
