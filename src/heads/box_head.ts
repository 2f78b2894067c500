/**
 * The box head of torchvision 0.14's Faster / Mask R-CNN (`TwoMLPHead`): flatten the pooled RoI
 * features, then two fully connected layers of 1024 units, each followed by ReLU.
 *
 * Shapes: R RoIs, C channels (256), S x S pooled size (7), F representation size (1024).
 *   x       [R, S, S, C]    pooled features, NHWC
 *   output  [R, F]
 *
 * torchvision flattens NCHW features, so fc6's input index is `c*S*S + h*S + w`. Our features are
 * NHWC; we transpose them to `[R, C, S, S]` before flattening and keep fc6's weight exactly as in
 * the state dict (layout `linear`). The transpose costs R*S*S*C copies against R*S*S*C*F
 * multiply-adds for fc6, and keeps checkpoints loadable without a special weight layout.
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';
import { linearBiasInit, linearWeightInit } from './init';

/** Constructor arguments of {@link BoxHead}. */
export interface BoxHeadArgs extends TorchLayerArgs {
  /** Channels C of the pooled features. Default 256. */
  inChannels?: number;
  /** Side S of the pooled features (MultiScaleRoIAlign output size). Default 7. */
  resolution?: number;
  /** Units F of fc6 and fc7. Default 1024. */
  representationSize?: number;
}

/**
 * torchvision's `TwoMLPHead` with its state_dict keys (`fc6.weight`, `fc6.bias`, `fc7.weight`,
 * `fc7.bias`, under the prefix `roi_heads.box_head`). Weights start as `nn.Linear`'s default
 * (uniform in +-1/sqrt(fan_in), weight and bias).
 *
 * @example
 * ```ts
 * const head = new BoxHead(); // 256 x 7 x 7 -> 1024
 * const x = head.forward(tf.zeros([5, 7, 7, 256]));
 * x.shape; // [5, 1024]
 * ```
 */
export class BoxHead extends TorchLayer {
  static override readonly className = 'BoxHead';
  readonly inChannels: number;
  readonly resolution: number;
  readonly representationSize: number;
  private readonly fc6Weight: tf.LayerVariable;
  private readonly fc6Bias: tf.LayerVariable;
  private readonly fc7Weight: tf.LayerVariable;
  private readonly fc7Bias: tf.LayerVariable;

  constructor(args: BoxHeadArgs = {}) {
    super({ name: args.name });
    this.inChannels = args.inChannels ?? 256;
    this.resolution = args.resolution ?? 7;
    this.representationSize = args.representationSize ?? 1024;
    for (const [name, v] of [
      ['inChannels', this.inChannels],
      ['resolution', this.resolution],
      ['representationSize', this.representationSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Error in BoxHead: ${name} must be a positive integer, got ${v}`);
    }
    const d = this.inChannels * this.resolution * this.resolution;
    const f = this.representationSize;
    this.fc6Weight = this.param('fc6.weight', [d, f], 'linear', linearWeightInit());
    this.fc6Bias = this.param('fc6.bias', [f], 'same', linearBiasInit(d));
    this.fc7Weight = this.param('fc7.weight', [f, f], 'linear', linearWeightInit());
    this.fc7Bias = this.param('fc7.bias', [f], 'same', linearBiasInit(f));
  }

  /**
   * Runs the head. Differentiable (runs under the caller's tape). R may be 0.
   *
   * @param x `[R, S, S, C]` pooled RoI features.
   * @returns `[R, F]` box features after fc7 + ReLU; the caller owns it.
   */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    this.ensureBuilt();
    const s = this.resolution;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== this.inChannels) {
      throw new Error(
        `Error in BoxHead.forward: x must have shape [R, ${s}, ${s}, ${this.inChannels}], got [${x.shape}]`,
      );
    }
    // wasm's Transpose divides by zero on empty tensors
    if (x.shape[0] === 0) return tf.zeros([0, this.representationSize]);
    return tf.tidy(() => this.apply2d(x));
  }

  private apply2d(x: tf.Tensor4D): tf.Tensor2D {
    const r = x.shape[0];
    const nchw = tf.transpose(x, [0, 3, 1, 2]); // [R, S, S, C] -> [R, C, S, S], torch's flatten order
    const flat = tf.reshape(nchw, [r, this.inChannels * this.resolution * this.resolution]); // -> [R, C*S*S]
    const h6 = tf.fused.matMul({
      a: flat,
      b: this.fc6Weight.read() as tf.Tensor2D,
      bias: this.fc6Bias.read(),
      activation: 'relu',
    }); // [R, F]
    return tf.fused.matMul({
      a: h6,
      b: this.fc7Weight.read() as tf.Tensor2D,
      bias: this.fc7Bias.read(),
      activation: 'relu',
    }) as tf.Tensor2D; // [R, F]
  }

  /** tf.layers entry point: `[R, S, S, C]` in, `[R, F]` out. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.apply2d(x as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], this.representationSize];
  }
}
