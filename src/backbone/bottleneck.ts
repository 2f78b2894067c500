/**
 * ResNet bottleneck block (torchvision's ResNet v1.5: the stride sits on the 3x3 conv).
 *
 * Shapes: x [N, H, W, Cin] -> [N, H/s, W/s, 4 * width].
 * Keys: conv1, bn1 (1x1 to width), conv2, bn2 (3x3, stride s), conv3, bn3 (1x1 to 4 * width),
 * and downsample.0 / downsample.1 (1x1 conv, stride s, + norm) on the first block of a stage.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { TorchLayerArgs } from '../nn/torch_layer';
import { convFrozenBn } from './conv_bn';
import { FrozenBatchNorm2d } from './frozen_batch_norm';
import { ResidualBlock } from './residual_block';
import { BackboneNorm, makeNorm } from './batch_norm';

/** Output channels are `EXPANSION * width`. */
export const EXPANSION = 4;

/** Options of {@link Bottleneck}. */
export interface BottleneckArgs extends TorchLayerArgs {
  inChannels: number;
  /** Width of the 1x1 and 3x3 convs (64, 128, 256, 512 for the four stages). */
  width: number;
  stride: number;
  /** Whether the identity path needs a projection (first block of each stage). */
  downsample: boolean;
  /** The norm after each conv; default `frozen`. */
  norm?: BackboneNorm;
}

/** One bottleneck residual block with FrozenBatchNorm. */
export class Bottleneck extends ResidualBlock {
  static override readonly className = 'Bottleneck';
  readonly outChannels: number;
  private readonly conv1: Conv2d;
  private readonly bn1: FrozenBatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: FrozenBatchNorm2d;
  private readonly conv3: Conv2d;
  private readonly bn3: FrozenBatchNorm2d;
  protected readonly stride: number;

  constructor(args: BottleneckArgs) {
    super({ name: args.name });
    const { inChannels: cin, width, stride } = args;
    this.stride = stride;
    this.outChannels = width * EXPANSION;
    const conv = (key: string, i: number, o: number, k: number, s: number, p: number) =>
      this.child(key, new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, stride: s, padding: p, bias: false }));
    const bn = (key: string, c: number) => this.child(key, makeNorm(args.norm ?? 'frozen', c));
    this.conv1 = conv('conv1', cin, width, 1, 1, 0);
    this.bn1 = bn('bn1', width);
    this.conv2 = conv('conv2', width, width, 3, stride, 1);
    this.bn2 = bn('bn2', width);
    this.conv3 = conv('conv3', width, this.outChannels, 1, 1, 0);
    this.bn3 = bn('bn3', this.outChannels);
    if (args.downsample) this.addDownsample(args.norm ?? 'frozen', cin, this.outChannels, stride);
  }

  protected branch(x: tf.Tensor4D): tf.Tensor4D {
    let y = convFrozenBn(this.conv1, this.bn1, x, 'relu');
    y = convFrozenBn(this.conv2, this.bn2, y, 'relu');
    return convFrozenBn(this.conv3, this.bn3, y, 'linear');
  }
}
