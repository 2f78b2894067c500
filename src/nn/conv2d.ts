/**
 * A PyTorch-style 2-D convolution: symmetric zero padding, OIHW weights in the state dict.
 *
 * Shapes: x [N, H, W, Cin] -> y [N, Ho, Wo, Cout] with Ho = floor((H + 2p - k) / s) + 1.
 * torch pads both sides by `padding`; tfjs's 'same' pads asymmetrically for stride 2, so we
 * always pass explicit padding.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchLayer, TorchLayerArgs } from './torch_layer';

/** Options of {@link Conv2d}. */
export interface Conv2dArgs extends TorchLayerArgs {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  /** Zero padding on each side; default 0. */
  padding?: number;
  /** Whether the conv has a `bias` parameter; default true. */
  bias?: boolean;
  /** Weight initializer; default Kaiming normal, fan_out (torchvision's ResNet init). */
  weightInit?: 'kaiming_fan_out' | 'kaiming_uniform_a1' | { normalStd: number };
}

/** `torch.nn.Conv2d` with keys `weight` ([out, in, kh, kw] in torch) and optionally `bias`. */
export class Conv2d extends TorchLayer {
  static override readonly className = 'TorchConv2d';
  readonly weight: tf.LayerVariable;
  readonly bias: tf.LayerVariable | undefined;
  readonly stride: number;
  readonly padding: number;
  readonly outChannels: number;
  readonly kernelSize: number;

  constructor(args: Conv2dArgs) {
    super({ name: args.name });
    const k = args.kernelSize;
    this.stride = args.stride ?? 1;
    this.padding = args.padding ?? 0;
    this.outChannels = args.outChannels;
    this.kernelSize = k;
    const init = args.weightInit ?? 'kaiming_fan_out';
    const weightInit = (seed: number | undefined) =>
      init === 'kaiming_fan_out'
        ? tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed })
        : init === 'kaiming_uniform_a1'
          ? tf.initializers.varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform', seed })
          : tf.initializers.randomNormal({ mean: 0, stddev: init.normalStd, seed });
    this.weight = this.param('weight', [k, k, args.inChannels, args.outChannels], 'conv', weightInit);
    this.bias = args.bias === false ? undefined : this.param('bias', [args.outChannels], 'same');
  }

  /** Explicit symmetric padding for tfjs, NHWC. */
  get explicitPadding(): ExplicitPadding {
    return symmetricPadding(this.padding);
  }

  /** y = conv(x, W) + b, optionally followed by ReLU in the same fused kernel. */
  forward(x: tf.Tensor4D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor4D {
    return tf.fused.conv2d({
      x,
      filter: this.weight.read() as tf.Tensor4D,
      strides: this.stride,
      pad: this.explicitPadding,
      bias: this.bias?.read(),
      activation,
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    const out = (d: number | null) => (d === null ? null : Math.floor((d + 2 * this.padding - this.kernelSize) / this.stride) + 1);
    return [s[0], out(s[1]), out(s[2]), this.outChannels];
  }
}

/** tfjs's explicit NHWC padding: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Symmetric NHWC padding of `p` pixels, as torch's `padding=p`. */
export function symmetricPadding(p: number): ExplicitPadding {
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

/** The one tensor of a single-input layer call. */
export function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`expected one input tensor, got ${inputs.length}`);
    return inputs[0];
  }
  return inputs;
}
