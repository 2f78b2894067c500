/**
 * The mask head of torchvision 0.14's Mask R-CNN (`MaskRCNNHeads`): four 3x3 convolutions of 256
 * channels, padding 1 (dilation 1), each followed by ReLU, on the pooled mask features.
 *
 * Shapes: D RoIs (detections at inference), S x S pooled size (14), C channels (256).
 *   x       [D, S, S, Cin]
 *   output  [D, S, S, C_last]
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { Conv2d, single } from '../nn/conv2d';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';

/** Constructor arguments of {@link MaskHead}. */
export interface MaskHeadArgs extends TorchLayerArgs {
  /** Channels of the pooled features. Default 256. */
  inChannels?: number;
  /** Output channels of each conv, in order. Default [256, 256, 256, 256]. */
  layers?: readonly number[];
}

/**
 * torchvision's `MaskRCNNHeads` with its state_dict keys (`0.0.weight`, `0.0.bias`, ...
 * `3.0.bias`, under `roi_heads.mask_head`). Weights start as in torchvision: kaiming normal
 * (fan_out, relu), bias 0.
 *
 * @example
 * ```ts
 * const head = new MaskHead();
 * head.forward(tf.zeros([3, 14, 14, 256])).shape; // [3, 14, 14, 256]
 * ```
 */
export class MaskHead extends TorchLayer {
  static override readonly className = 'MaskHead';
  readonly inChannels: number;
  readonly layers: readonly number[];
  private readonly convs: Conv2d[] = [];

  constructor(args: MaskHeadArgs = {}) {
    super({ name: args.name });
    this.inChannels = args.inChannels ?? 256;
    this.layers = [...(args.layers ?? [256, 256, 256, 256])];
    for (const [name, v] of [['inChannels', this.inChannels] as const, ...this.layers.map((c, i) => [`layers[${i}]`, c] as const)]) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Error in MaskHead: ${name} must be a positive integer, got ${v}`);
    }
    if (this.layers.length === 0) throw new Error('Error in MaskHead: layers must list at least one conv');
    let c = this.inChannels;
    this.layers.forEach((out, i) => {
      const conv = new Conv2d({ inChannels: c, outChannels: out, kernelSize: 3, padding: 1, weightInit: 'kaiming_fan_out' });
      this.convs.push(this.child(`${i}.0`, conv));
      c = out;
    });
  }

  /** Channels of the output. */
  get outChannels(): number {
    return this.layers[this.layers.length - 1];
  }

  /**
   * Runs the four conv + ReLU blocks. Differentiable. D may be 0.
   *
   * @param x `[D, S, S, Cin]` pooled mask features.
   * @returns `[D, S, S, C]`; the caller owns it.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(`Error in MaskHead.forward: x must have shape [D, S, S, ${this.inChannels}], got [${x.shape}]`);
    }
    if (x.shape[0] === 0) return tf.zeros([0, x.shape[1], x.shape[2], this.outChannels]);
    return tf.tidy(() => this.convs.reduce((t, conv) => conv.forward(t, 'relu'), x));
  }

  /** tf.layers entry point. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], s[1], s[2], this.outChannels];
  }
}
