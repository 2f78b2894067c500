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

/** An initializer as a function of its seed (`undefined`: unseeded), see `ParamInit`. */
export type SeededInit = (seed: number | undefined) => Initializer;

/**
 * `nn.Linear`'s default weight init for a tfjs weight `[in, out]` (tfjs's fan_in is `in`).
 *
 * @example
 * ```ts
 * this.param('fc6.weight', [12544, 1024], 'linear', linearWeightInit());
 * ```
 */
export function linearWeightInit(): SeededInit {
  // kaiming_uniform(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) * fan_in)) = sqrt(3 * (1/3) / fan_in)
  return (seed) => tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed });
}

/**
 * torch's default bias init: uniform in +-1/sqrt(fanIn).
 *
 * @example
 * ```ts
 * this.param('fc6.bias', [1024], 'same', linearBiasInit(12544));
 * ```
 */
export function linearBiasInit(fanIn: number): SeededInit {
  const bound = 1 / Math.sqrt(fanIn);
  return (seed) => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed });
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
export function kaimingFanOutInit(): SeededInit {
  return (seed) => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed });
}
