/**
 * ResNet basic block (He et al. 2016, the block of ResNet-18 and -34): two 3x3 convs, the
 * stride on the first.
 *
 * Shapes: x [N, H, W, Cin] -> [N, H/s, W/s, width] (expansion 1).
 * Keys: conv1, bn1 (3x3, stride s), conv2, bn2 (3x3), and downsample.0 / downsample.1 (1x1 conv,
 * stride s, + norm) where the identity path changes size or channels, as torchvision's
 * `_make_layer` decides it (`stride != 1 or inplanes != planes * expansion`).
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { TorchLayerArgs } from '../nn/torch_layer';
import { convFrozenBn } from './conv_bn';
import { FrozenBatchNorm2d } from './frozen_batch_norm';
import { ResidualBlock } from './residual_block';
import { BackboneNorm, makeNorm } from './batch_norm';

/** Options of {@link BasicBlock}. */
export interface BasicBlockArgs extends TorchLayerArgs {
  inChannels: number;
  /** Channels of both 3x3 convs and of the output (64, 128, 256, 512 for the four stages). */
  width: number;
  stride: number;
  /** Whether the identity path needs a projection. */
  downsample: boolean;
  /** The norm after each conv; default `frozen`. */
  norm?: BackboneNorm;
}

/**
 * One basic residual block with FrozenBatchNorm.
 *
 * @example
 * ```ts
 * const block = new BasicBlock({ inChannels: 64, width: 128, stride: 2, downsample: true });
 * const y = block.forward(x); // x [N, 56, 56, 64] -> y [N, 28, 28, 128]
 * ```
 */
export class BasicBlock extends ResidualBlock {
  static override readonly className = 'BasicBlock';
  readonly outChannels: number;
  private readonly conv1: Conv2d;
  private readonly bn1: FrozenBatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: FrozenBatchNorm2d;
  protected readonly stride: number;

  constructor(args: BasicBlockArgs) {
    super({ name: args.name });
    const { inChannels: cin, width, stride } = args;
    this.stride = stride;
    this.outChannels = width;
    const conv = (key: string, i: number, o: number, k: number, s: number, p: number) =>
      this.child(key, new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, stride: s, padding: p, bias: false }));
    const bn = (key: string, c: number) => this.child(key, makeNorm(args.norm ?? 'frozen', c));
    this.conv1 = conv('conv1', cin, width, 3, stride, 1);
    this.bn1 = bn('bn1', width);
    this.conv2 = conv('conv2', width, width, 3, 1, 1);
    this.bn2 = bn('bn2', width);
    if (args.downsample) this.addDownsample(args.norm ?? 'frozen', cin, width, stride);
  }

  protected branch(x: tf.Tensor4D): tf.Tensor4D {
    const y = convFrozenBn(this.conv1, this.bn1, x, 'relu');
    return convFrozenBn(this.conv2, this.bn2, y, 'linear');
  }
}
