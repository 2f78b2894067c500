/**
 * ResNet body as torchvision's backbone.body: the stem and four stages, returning C2-C5.
 * ResNet-18 and -34 are made of basic blocks (expansion 1), ResNet-50 and -101 of bottlenecks
 * (expansion 4).
 *
 * Shapes (N images, input H x W, padded to a multiple of 32; E the expansion):
 *   x [N, H, W, 3] -> stem [N, H/4, W/4, 64]
 *   C2 '0' [N, H/4, W/4, 64E], C3 '1' [N, H/8, W/8, 128E], C4 '2' [N, H/16, W/16, 256E],
 *   C5 '3' [N, H/32, W/32, 512E].
 * Keys (relative to `backbone.body`): conv1.weight, bn1.*, layer1.0.conv1.weight, ...
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d, single, symmetricPadding } from '../nn/conv2d';
import { TorchLayer, TorchLayerArgs } from '../nn/torch_layer';
import { BasicBlock } from './basic_block';
import { Bottleneck, EXPANSION } from './bottleneck';
import { convFrozenBn } from './conv_bn';
import { FrozenBatchNorm2d } from './frozen_batch_norm';
import { BackboneNorm, BatchNorm2d, makeNorm } from './batch_norm';
import type { FpnInputs } from '../fpn/feature_pyramid_network';

/** Block counts per stage, as torchvision's resnet18 ... resnet101 builders give them. */
export const RESNET_BLOCKS = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3] } as const;
/** A supported depth. */
export type ResNetDepth = keyof typeof RESNET_BLOCKS;
/**
 * The supported depths, ascending.
 *
 * @example
 * ```ts
 * RESNET_DEPTHS.includes(18); // true
 * ```
 */
export const RESNET_DEPTHS: readonly ResNetDepth[] = [18, 34, 50, 101];

/** Options of {@link ResNetBody}. */
export interface ResNetBodyArgs extends TorchLayerArgs {
  /** 18, 34 (basic blocks), 50 (default) or 101 (bottlenecks). */
  depth?: ResNetDepth;
  /**
   * Number of trainable stages counted from the top (layer4, layer3, layer2, layer1, conv1),
   * 0-5; torchvision's default for detection is 3. Frozen stages get `trainable = false`.
   */
  trainableLayers?: number;
  /**
   * The norm after each conv: `frozen` (default; torchvision's for a pretrained backbone) or
   * `batch` (torchvision's when it trains a backbone from scratch; see {@link BatchNorm2d}).
   */
  norm?: BackboneNorm;
}

/** The four outputs C2-C5, keyed as torchvision's IntermediateLayerGetter keys them: what the FPN takes. */
export type ResNetFeatures = FpnInputs;

/** Stage names in torchvision order, top first for `trainableLayers` counting. */
const STAGES_TOP_DOWN = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'] as const;

/**
 * ResNet-18/34/50/101 body with FrozenBatchNorm (or BatchNorm2d to train from scratch), as a tf.layers.Layer.
 *
 * @example
 * ```ts
 * const body = new ResNetBody({ depth: 50 });
 * const { '0': c2, '3': c5 } = body.forward(images); // images [N, H, W, 3], normalised
 * ```
 */
export class ResNetBody extends TorchLayer {
  static override readonly className = 'ResNetBody';
  readonly depth: ResNetDepth;
  /** Output channels of C2..C5. */
  readonly outChannels: readonly number[];
  readonly norm: BackboneNorm;
  private readonly conv1: Conv2d;
  private readonly bn1: FrozenBatchNorm2d;
  private readonly stages: (Bottleneck | BasicBlock)[][] = [];

  constructor(args: ResNetBodyArgs = {}) {
    super({ name: args.name });
    this.depth = args.depth ?? 50;
    const blocks = RESNET_BLOCKS[this.depth];
    if (blocks === undefined) {
      throw new Error(`Error in ResNetBody: depth must be one of ${Object.keys(RESNET_BLOCKS).join(', ')}, got ${args.depth}`);
    }
    checkTrainableLayers(args.trainableLayers ?? 3); // before any weight is made
    this.norm = args.norm ?? 'frozen';
    if (this.norm !== 'frozen' && this.norm !== 'batch') {
      throw new Error(`Error in ResNetBody: norm must be 'frozen' or 'batch', got ${JSON.stringify(args.norm)}`);
    }
    this.conv1 = this.child('conv1', new Conv2d({ inChannels: 3, outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false }));
    this.bn1 = this.child('bn1', makeNorm(this.norm, 64));
    let cin = 64;
    const widths = [64, 128, 256, 512];
    const basic = isBasicBlockDepth(this.depth);
    const expansion = basic ? 1 : EXPANSION;
    for (let s = 0; s < 4; s++) {
      const stage: (Bottleneck | BasicBlock)[] = [];
      for (let b = 0; b < blocks[s]; b++) {
        const stride = b === 0 && s > 0 ? 2 : 1;
        // torchvision's _make_layer: a projection wherever the identity changes size or width.
        const downsample = b === 0 && (stride !== 1 || cin !== widths[s] * expansion);
        const args = { inChannels: cin, width: widths[s], stride, downsample, norm: this.norm };
        stage.push(this.child(`layer${s + 1}.${b}`, basic ? new BasicBlock(args) : new Bottleneck(args)));
        cin = widths[s] * expansion;
      }
      this.stages.push(stage);
    }
    this.outChannels = widths.map((w) => w * expansion);
    this.setTrainableLayers(args.trainableLayers ?? 3);
  }

  /** Freezes all but the top `n` stages (torchvision's trainable_backbone_layers). */
  setTrainableLayers(n: number): void {
    checkTrainableLayers(n);
    const trainable = new Set(STAGES_TOP_DOWN.slice(0, n));
    this.conv1.trainable = trainable.has('conv1');
    this.stages.forEach((stage, i) => {
      for (const block of stage) block.trainable = trainable.has(STAGES_TOP_DOWN[3 - i]);
    });
  }

  /** The trainable batch norms (none with `norm: 'frozen'`). */
  batchNorms(): BatchNorm2d[] {
    return this.descendants().filter((l): l is BatchNorm2d => l instanceof BatchNorm2d);
  }

  /**
   * torch's `train()` / `eval()` for the batch norms: with `true` they normalise with batch
   * statistics and record them for {@link BatchNorm2d.commitRunningStatistics}.
   */
  setBatchNormTraining(training: boolean): void {
    for (const bn of this.batchNorms()) {
      bn.training = training;
      if (!training) bn.discardRunningStatistics();
    }
  }

  /** x [N, H, W, 3] normalised images -> C2..C5. */
  forward(x: tf.Tensor4D): ResNetFeatures {
    if (x.rank !== 4 || x.shape[3] !== 3) {
      throw new Error(`Error in ResNetBody: expected images [N, H, W, 3], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const stem = convFrozenBn(this.conv1, this.bn1, x, 'relu');
      // Max pool 3x3, stride 2, padding 1: torch pads with -inf, and after a ReLU zeros are the
      // same, but explicit padding keeps the output size floor((H + 2 - 3) / 2) + 1 exact.
      let y: tf.Tensor4D = tf.maxPool(stem, 3, 2, symmetricPadding(1));
      const out: tf.Tensor4D[] = [];
      for (const stage of this.stages) {
        for (const block of stage) y = block.forward(y);
        out.push(y);
      }
      return { '0': out[0], '1': out[1], '2': out[2], '3': out[3] };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const f = this.forward(single(inputs) as tf.Tensor4D);
    return [f['0'], f['1'], f['2'], f['3']];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const s = inputShape as tf.Shape;
    // Each stride-2 step maps d -> floor((d - 1) / 2) + 1 (conv1, maxpool, then layer2..4).
    const down = (d: number | null, times: number) => {
      if (d === null) return null;
      for (let i = 0; i < times; i++) d = Math.floor((d - 1) / 2) + 1;
      return d;
    };
    return this.outChannels.map((c, i) => [s[0], down(s[1], 2 + i), down(s[2], 2 + i), c]);
  }
}

/**
 * Whether a depth is built of basic blocks (18, 34) rather than bottlenecks (50, 101).
 *
 * @example
 * ```ts
 * isBasicBlockDepth(18); // true
 * ```
 */
export function isBasicBlockDepth(depth: ResNetDepth): boolean {
  return depth === 18 || depth === 34;
}

function checkTrainableLayers(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 5) {
    throw new Error(`Error in ResNetBody: trainableLayers must be an integer in 0..5, got ${n}`);
  }
}
