/**
 * FrozenBatchNorm2d: batch norm with fixed statistics and affine parameters.
 *
 * Shapes: x [N, H, W, C] -> y [N, H, W, C].
 * y = x * scale + shift, scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale.
 * Detection batches are too small for batch statistics, so torchvision freezes all four tensors
 * (it never updates them, and never trains them); so do we: none of them is trainable.
 */
import * as tf from '@tensorflow/tfjs';
import { single } from '../nn/conv2d';
import { TorchLayer, TorchLayerArgs } from '../nn/torch_layer';

/** Options of {@link FrozenBatchNorm2d}. */
export interface FrozenBatchNormArgs extends TorchLayerArgs {
  numFeatures: number;
  /** torchvision's FrozenBatchNorm2d default: 1e-5. */
  eps?: number;
}

/** torchvision.ops.FrozenBatchNorm2d, keys `weight`, `bias`, `running_mean`, `running_var`. */
export class FrozenBatchNorm2d extends TorchLayer {
  static override readonly className: string = 'FrozenBatchNorm2d';
  readonly eps: number;
  protected readonly w: tf.LayerVariable;
  protected readonly b: tf.LayerVariable;
  protected readonly mean: tf.LayerVariable;
  protected readonly variance: tf.LayerVariable;

  /**
   * @param trainableAffine for {@link BatchNorm2d} only: weight and bias become trainable
   *   parameters (the statistics stay buffers).
   */
  constructor(args: FrozenBatchNormArgs, trainableAffine = false) {
    super({ name: args.name });
    const c = [args.numFeatures];
    this.eps = args.eps ?? 1e-5;
    this.w = this.param('weight', c, 'same', tf.initializers.ones(), trainableAffine);
    this.b = this.param('bias', c, 'same', tf.initializers.zeros(), trainableAffine);
    this.mean = this.param('running_mean', c, 'same', tf.initializers.zeros(), false);
    this.variance = this.param('running_var', c, 'same', tf.initializers.ones(), false);
  }

  /**
   * Whether {@link forward} normalises with the statistics of its input rather than the running
   * ones: never for a frozen norm; see {@link BatchNorm2d.training}.
   */
  get usesBatchStatistics(): boolean {
    return false;
  }

  /** The per-channel affine map `{ scale, shift }` ([C] each); the caller owns both tensors. */
  affine(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    return tf.tidy(() => {
      const scale = tf.mul(this.w.read(), tf.rsqrt(tf.add(this.variance.read(), this.eps))) as tf.Tensor1D;
      const shift = tf.sub(this.b.read(), tf.mul(this.mean.read(), scale)) as tf.Tensor1D;
      return { scale, shift };
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { scale, shift } = this.affine();
      return tf.add(tf.mul(x, scale), shift);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }
}
