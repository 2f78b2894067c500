/**
 * What ResNet's basic and bottleneck blocks share: y = relu(F(x) + identity(x)), where the
 * identity is x itself or, where the block changes size or width, a strided 1x1 conv + norm
 * (torchvision's `downsample.0` / `downsample.1`).
 *
 * Shapes: x [N, H, W, Cin] -> [N, floor((H - 1) / s) + 1, floor((W - 1) / s) + 1, Cout].
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d, single } from '../nn/conv2d';
import { TorchLayer, TorchLayerArgs } from '../nn/torch_layer';
import { convFrozenBn } from './conv_bn';
import { FrozenBatchNorm2d } from './frozen_batch_norm';
import { BackboneNorm, makeNorm } from './batch_norm';

/**
 * The residual wrapper; subclasses give the branch F.
 *
 * @example
 * ```ts
 * class MyBlock extends ResidualBlock {
 *   protected branch(x: tf.Tensor4D) { return x; }
 * }
 * ```
 */
export abstract class ResidualBlock extends TorchLayer {
  /** Channels of the output. */
  abstract readonly outChannels: number;
  protected abstract readonly stride: number;
  /** The projection of the identity path, where there is one. */
  protected down: { conv: Conv2d; bn: FrozenBatchNorm2d } | undefined;

  constructor(args: TorchLayerArgs) {
    super({ name: args.name });
  }

  /** Makes `downsample.0` (1x1 conv, stride) and `downsample.1` (norm). */
  protected addDownsample(norm: BackboneNorm, inChannels: number, outChannels: number, stride: number): void {
    this.down = {
      conv: this.child('downsample.0', new Conv2d({ inChannels, outChannels, kernelSize: 1, stride, padding: 0, bias: false })),
      bn: this.child('downsample.1', makeNorm(norm, outChannels)),
    };
  }

  /** F(x), before the sum and the last ReLU. */
  protected abstract branch(x: tf.Tensor4D): tf.Tensor4D;

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const identity = this.down ? convFrozenBn(this.down.conv, this.down.bn, x, 'linear') : x;
      return tf.relu(tf.add(this.branch(x), identity)) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    const out = (d: number | null) => (d === null ? null : Math.floor((d - 1) / this.stride) + 1);
    return [s[0], out(s[1]), out(s[2]), this.outChannels];
  }
}
