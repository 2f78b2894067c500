/**
 * The box predictor of torchvision 0.14 (`FastRCNNPredictor`): class logits and per-class box
 * deltas from the box head's features.
 *
 * Shapes: R RoIs, F box-head features (1024), K classes including background (91 for COCO).
 *   x              [R, F]
 *   classLogits    [R, K]
 *   boxRegression  [R, 4*K]   (dx, dy, dw, dh) of class k at columns 4k .. 4k+3
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { TorchLayer, type TorchLayerArgs } from '../nn/torch_layer';
import { linearBiasInit, linearWeightInit } from './init';

/** Constructor arguments of {@link BoxPredictor}. */
export interface BoxPredictorArgs extends TorchLayerArgs {
  /** Features F of the box head. Default 1024. */
  inChannels?: number;
  /** Classes K including background. Default 91 (COCO); set it when fine-tuning. */
  numClasses?: number;
}

/** Outputs of {@link BoxPredictor.forward}; the caller owns both tensors. */
export interface BoxPredictorOutput {
  /** `[R, K]` classification logits (softmax over K, class 0 is background). */
  readonly classLogits: tf.Tensor2D;
  /** `[R, 4*K]` box deltas per class, to be decoded against the proposals. */
  readonly boxRegression: tf.Tensor2D;
}

/**
 * torchvision's `FastRCNNPredictor` with its state_dict keys (`cls_score.weight`,
 * `cls_score.bias`, `bbox_pred.weight`, `bbox_pred.bias`, under `roi_heads.box_predictor`).
 * Weights start as `nn.Linear`'s default, as in torchvision.
 *
 * @example
 * ```ts
 * const predictor = new BoxPredictor({ numClasses: 91 });
 * const { classLogits, boxRegression } = predictor.forward(tf.zeros([5, 1024]));
 * classLogits.shape;   // [5, 91]
 * boxRegression.shape; // [5, 364]
 * ```
 */
export class BoxPredictor extends TorchLayer {
  static override readonly className = 'BoxPredictor';
  readonly inChannels: number;
  readonly numClasses: number;
  private readonly clsWeight: tf.LayerVariable;
  private readonly clsBias: tf.LayerVariable;
  private readonly bboxWeight: tf.LayerVariable;
  private readonly bboxBias: tf.LayerVariable;

  constructor(args: BoxPredictorArgs = {}) {
    super({ name: args.name });
    this.inChannels = args.inChannels ?? 1024;
    this.numClasses = args.numClasses ?? 91;
    if (!Number.isInteger(this.inChannels) || this.inChannels < 1) {
      throw new Error(`Error in BoxPredictor: inChannels must be a positive integer, got ${this.inChannels}`);
    }
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2) {
      throw new Error(
        `Error in BoxPredictor: numClasses must be an integer >= 2 (background + 1), got ${this.numClasses}`,
      );
    }
    const f = this.inChannels;
    const k = this.numClasses;
    this.clsWeight = this.param('cls_score.weight', [f, k], 'linear', linearWeightInit());
    this.clsBias = this.param('cls_score.bias', [k], 'same', linearBiasInit(f));
    this.bboxWeight = this.param('bbox_pred.weight', [f, 4 * k], 'linear', linearWeightInit());
    this.bboxBias = this.param('bbox_pred.bias', [4 * k], 'same', linearBiasInit(f));
  }

  /**
   * Runs both linear layers. Differentiable. R may be 0.
   *
   * @param x `[R, F]` box-head features.
   * @returns class logits `[R, K]` and box deltas `[R, 4*K]`; the caller owns them.
   */
  forward(x: tf.Tensor2D): BoxPredictorOutput {
    this.ensureBuilt();
    if (x.rank !== 2 || x.shape[1] !== this.inChannels) {
      throw new Error(`Error in BoxPredictor.forward: x must have shape [R, ${this.inChannels}], got [${x.shape}]`);
    }
    const [classLogits, boxRegression] = tf.tidy(() => this.apply2d(x));
    return { classLogits, boxRegression };
  }

  private apply2d(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const classLogits = tf.fused.matMul({ a: x, b: this.clsWeight.read() as tf.Tensor2D, bias: this.clsBias.read() });
    const boxRegression = tf.fused.matMul({ a: x, b: this.bboxWeight.read() as tf.Tensor2D, bias: this.bboxBias.read() });
    return [classLogits as tf.Tensor2D, boxRegression as tf.Tensor2D];
  }

  /** tf.layers entry point: `[R, F]` in, `[classLogits, boxRegression]` out. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.apply2d(x as tf.Tensor2D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [
      [s[0], this.numClasses],
      [s[0], 4 * this.numClasses],
    ];
  }
}
