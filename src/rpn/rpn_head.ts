/**
 * The RPN head of torchvision 0.14 (`RPNHead`): one 3x3 conv + ReLU shared by every FPN level,
 * then two 1x1 convs for objectness logits and box deltas.
 *
 * Shapes: N images, C channels (256), A anchors per location (3); level l is Hl x Wl.
 *   features[l]   [N, Hl, Wl, C]
 *   objectness[l] [N, Hl, Wl, A]      logit of anchor a at channel a
 *   deltas[l]     [N, Hl, Wl, A*4]    (dx, dy, dw, dh) of anchor a at channels 4a .. 4a+3
 * torchvision's NCHW `[N, A*4, H, W]` views as `[N, A, 4, H, W]`; our NHWC channel order is the
 * same `a*4 + c`, so `[N, H, W, A*4] -> [N, H*W*A, 4]` is a plain reshape.
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';

/** Constructor arguments of {@link RPNHead}. */
export interface RPNHeadArgs extends TorchLayerArgs {
  /** Channels of every FPN level. Default 256. */
  inChannels?: number;
  /** Anchors per location A. Default 3 (one size, three aspect ratios). */
  numAnchors?: number;
  /** Number of 3x3 conv + ReLU blocks before the two predictors. Default 1 (torchvision's default). */
  convDepth?: number;
}

/** Per-level outputs of {@link RPNHead.forward}. */
export interface RPNHeadOutput {
  /** `[N, Hl, Wl, A]` objectness logits per level. */
  readonly objectness: tf.Tensor4D[];
  /** `[N, Hl, Wl, A*4]` box deltas per level. */
  readonly deltas: tf.Tensor4D[];
}

/**
 * RPN head with torchvision's state_dict keys (`conv.0.0.weight`, `conv.0.0.bias`,
 * `cls_logits.weight`, `cls_logits.bias`, `bbox_pred.weight`, `bbox_pred.bias`, under the
 * prefix `rpn.head`). Weights are initialised as torchvision does: normal(std 0.01), bias 0.
 *
 * @example
 * ```ts
 * const head = new RPNHead({ inChannels: 256, numAnchors: 3 });
 * const { objectness, deltas } = head.forward([tf.zeros([1, 8, 8, 256])]);
 * objectness[0].shape; // [1, 8, 8, 3]
 * deltas[0].shape;     // [1, 8, 8, 12]
 * ```
 */
export class RPNHead extends TorchLayer {
  static override readonly className = 'RPNHead';
  readonly inChannels: number;
  readonly numAnchors: number;
  readonly convDepth: number;
  private convs: Array<{ weight: tf.LayerVariable; bias: tf.LayerVariable }> = [];
  private clsWeight?: tf.LayerVariable;
  private clsBias?: tf.LayerVariable;
  private bboxWeight?: tf.LayerVariable;
  private bboxBias?: tf.LayerVariable;

  constructor(args: RPNHeadArgs = {}) {
    super({ name: args.name });
    this.inChannels = args.inChannels ?? 256;
    this.numAnchors = args.numAnchors ?? 3;
    this.convDepth = args.convDepth ?? 1;
    for (const [name, v] of [
      ['inChannels', this.inChannels],
      ['numAnchors', this.numAnchors],
      ['convDepth', this.convDepth],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Error in RPNHead: ${name} must be a positive integer, got ${v}`);
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = this.inChannels;
    const a = this.numAnchors;
    const normal = () => (seed: number | undefined) => tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed });
    const zeros = () => tf.initializers.zeros();
    for (let i = 0; i < this.convDepth; i++) {
      this.convs.push({
        weight: this.param(`conv.${i}.0.weight`, [3, 3, c, c], 'conv', normal()),
        bias: this.param(`conv.${i}.0.bias`, [c], 'same', zeros()),
      });
    }
    this.clsWeight = this.param('cls_logits.weight', [1, 1, c, a], 'conv', normal());
    this.clsBias = this.param('cls_logits.bias', [a], 'same', zeros());
    this.bboxWeight = this.param('bbox_pred.weight', [1, 1, c, a * 4], 'conv', normal());
    this.bboxBias = this.param('bbox_pred.bias', [a * 4], 'same', zeros());
    super.build(inputShape);
  }

  /**
   * Runs the head on every level. Differentiable (runs under the caller's tape).
   *
   * @param features `[N, Hl, Wl, C]` per level.
   * @returns objectness `[N, Hl, Wl, A]` and deltas `[N, Hl, Wl, A*4]` per level; the caller owns them.
   */
  forward(features: readonly tf.Tensor4D[]): RPNHeadOutput {
    this.ensureBuilt();
    features.forEach((f, l) => {
      if (f.rank !== 4 || f.shape[3] !== this.inChannels) {
        throw new Error(
          `Error in RPNHead.forward: features[${l}] must have shape [N, H, W, ${this.inChannels}], got [${f.shape}]`,
        );
      }
    });
    const objectness: tf.Tensor4D[] = [];
    const deltas: tf.Tensor4D[] = [];
    for (const f of features) {
      const [o, d] = tf.tidy(() => this.level(f));
      objectness.push(o);
      deltas.push(d);
    }
    return { objectness, deltas };
  }

  private level(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    let t = x;
    for (const { weight, bias } of this.convs) {
      // torch Conv2d(3x3, padding=1, stride 1) == tfjs 'same'
      t = tf.relu(tf.add(tf.conv2d(t, weight.read() as tf.Tensor4D, 1, 'same'), bias.read())) as tf.Tensor4D;
    }
    const o = tf.add(tf.conv2d(t, this.clsWeight!.read() as tf.Tensor4D, 1, 'valid'), this.clsBias!.read());
    const d = tf.add(tf.conv2d(t, this.bboxWeight!.read() as tf.Tensor4D, 1, 'valid'), this.bboxBias!.read());
    return [o as tf.Tensor4D, d as tf.Tensor4D];
  }

  /** tf.layers entry point: one level in, `[objectness, deltas]` out. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.level(x as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [
      [s[0], s[1], s[2], this.numAnchors],
      [s[0], s[1], s[2], this.numAnchors * 4],
    ];
  }
}
