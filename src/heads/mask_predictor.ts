/**
 * The mask predictor of torchvision 0.14 (`MaskRCNNPredictor`): a 2x2 stride-2 transposed
 * convolution (`conv5_mask`) + ReLU that doubles the resolution, then a 1x1 convolution
 * (`mask_fcn_logits`) to one logit map per class.
 *
 * Shapes: D RoIs, S x S input (14), C input channels (256), E reduced channels (256),
 * K classes including background (91).
 *   x       [D, S, S, C]
 *   up      [D, 2S, 2S, E]
 *   logits  [D, 2S, 2S, K]
 *
 * With kernel = stride = 2 and no padding, each input pixel writes its own 2x2 output block:
 *   up[2i+a, 2j+b, e] = bias[e] + sum_c x[i, j, c] * W[c, e, a, b]     (torch W is [C, E, 2, 2])
 * so the transposed conv is one matMul `[D*S*S, C] x [C, 4E]` and a pixel shuffle. That is
 * exactly tf.conv2dTranspose's result (the tests compare both), but runs on wasm's XNNPACK
 * matMul instead of its naive Conv2DBackpropInput loop, and its gradient needs only matMul and
 * transposes.
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { Conv2d, single } from '../nn/conv2d';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';
import { kaimingFanOutInit, linearBiasInit } from './init';

/** Constructor arguments of {@link MaskPredictor}. */
export interface MaskPredictorArgs extends TorchLayerArgs {
  /** Channels C of the mask head's output. Default 256. */
  inChannels?: number;
  /** Channels E after conv5_mask. Default 256. */
  dimReduced?: number;
  /** Classes K including background. Default 91 (COCO); set it when fine-tuning. */
  numClasses?: number;
}

/**
 * torchvision's `MaskRCNNPredictor` with its state_dict keys (`conv5_mask.weight` in torch's
 * ConvTranspose2d layout `[C, E, 2, 2]`, `conv5_mask.bias`, `mask_fcn_logits.weight`,
 * `mask_fcn_logits.bias`, under `roi_heads.mask_predictor`). Weights start as in torchvision
 * (kaiming normal, fan_out); biases start at torch's default range for conv5_mask and at 0 for
 * mask_fcn_logits.
 *
 * @example
 * ```ts
 * const predictor = new MaskPredictor({ numClasses: 91 });
 * predictor.forward(tf.zeros([3, 14, 14, 256])).shape; // [3, 28, 28, 91]
 * ```
 */
export class MaskPredictor extends TorchLayer {
  static override readonly className = 'MaskPredictor';
  readonly inChannels: number;
  readonly dimReduced: number;
  readonly numClasses: number;
  private readonly upWeight: tf.LayerVariable;
  private readonly upBias: tf.LayerVariable;
  private readonly logits: Conv2d;

  constructor(args: MaskPredictorArgs = {}) {
    super({ name: args.name });
    this.inChannels = args.inChannels ?? 256;
    this.dimReduced = args.dimReduced ?? 256;
    this.numClasses = args.numClasses ?? 91;
    for (const [name, v, lo] of [
      ['inChannels', this.inChannels, 1],
      ['dimReduced', this.dimReduced, 1],
      ['numClasses', this.numClasses, 2],
    ] as const) {
      if (!Number.isInteger(v) || v < lo) throw new Error(`Error in MaskPredictor: ${name} must be an integer >= ${lo}, got ${v}`);
    }
    const c = this.inChannels;
    const e = this.dimReduced;
    // tfjs conv2dTranspose filter layout [kh, kw, out, in]; torch's fan_in of this weight is E*4.
    this.upWeight = this.param('conv5_mask.weight', [2, 2, e, c], 'conv_transpose', kaimingFanOutInit());
    this.upBias = this.param('conv5_mask.bias', [e], 'same', linearBiasInit(e * 4));
    this.logits = this.child(
      'mask_fcn_logits',
      new Conv2d({ inChannels: e, outChannels: this.numClasses, kernelSize: 1, weightInit: 'kaiming_fan_out' }),
    );
  }

  /**
   * Upsamples and predicts per-class mask logits. Differentiable. D may be 0.
   *
   * @param x `[D, S, S, C]` mask-head features.
   * @returns `[D, 2S, 2S, K]` mask logits; the caller owns it.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(`Error in MaskPredictor.forward: x must have shape [D, S, S, ${this.inChannels}], got [${x.shape}]`);
    }
    const [d, h, w] = x.shape;
    if (d === 0) return tf.zeros([0, 2 * h, 2 * w, this.numClasses]);
    return tf.tidy(() => this.logits.forward(this.upsample(x)));
  }

  /** conv5_mask + ReLU as a matMul and a pixel shuffle (see the file comment). */
  private upsample(x: tf.Tensor4D): tf.Tensor4D {
    const [d, h, w, c] = x.shape;
    const e = this.dimReduced;
    const filter = this.upWeight.read(); // [2(a), 2(b), E, C]
    const wm = tf.reshape(tf.transpose(filter, [3, 0, 1, 2]), [c, 4 * e]); // -> [C, a, b, E] -> [C, 4E]
    const bias = tf.tile(this.upBias.read(), [4]); // [E] -> [4E], column (a*2 + b)*E + e
    const flat = tf.reshape(x, [d * h * w, c]); // [D, S, S, C] -> [D*S*S, C]
    const y = tf.fused.matMul({ a: flat, b: wm as tf.Tensor2D, bias, activation: 'relu' }); // [D*S*S, 4E]
    const blocks = tf.reshape(y, [d * h, w, 2, 2 * e]); // -> [D*S(i), S(j), 2(a), 2(b)*E]
    const rows = tf.transpose(blocks, [0, 2, 1, 3]); // -> [D*S(i), 2(a), S(j), 2(b)*E]
    return tf.reshape(rows, [d, 2 * h, 2 * w, e]); // -> [D, 2S(2i+a), 2S(2j+b), E]
  }

  /** tf.layers entry point. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const up = (v: number | null) => (v === null ? null : 2 * v);
    return [s[0], up(s[1]), up(s[2]), this.numClasses];
  }
}
