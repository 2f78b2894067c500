/**
 * BatchNorm2d: the backbone norm torchvision uses when it trains a backbone from scratch
 * (`norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d` in its model builders).
 *
 * Shapes: x [N, H, W, C] -> y [N, H, W, C].
 * In training mode ({@link BatchNorm2d.training}) it normalises with the statistics of its input
 * over N, H and W: y = (x - mean) / sqrt(var + eps) * weight + bias, var the biased variance,
 * and records them; {@link BatchNorm2d.commitRunningStatistics} then moves the running buffers
 * as torch does (momentum 0.1, the unbiased variance). Outside training mode it is exactly
 * {@link FrozenBatchNorm2d} on its running statistics, so a model trained with it saves, loads
 * and runs like any other: same four state_dict keys, same inference.
 *
 * torch also keeps `num_batches_tracked`; with a fixed momentum it changes nothing, and it is
 * neither stored nor expected here.
 */
import * as tf from '@tensorflow/tfjs';
import { FrozenBatchNorm2d, FrozenBatchNormArgs } from './frozen_batch_norm';

/** Which norm the ResNet body uses: `frozen` (torchvision's for pretrained backbones, default) or `batch`. */
export type BackboneNorm = 'frozen' | 'batch';

/** Options of {@link BatchNorm2d}. */
export interface BatchNormArgs extends FrozenBatchNormArgs {
  /** Weight of the new batch in the running statistics; torch's default 0.1. */
  momentum?: number;
}

/**
 * torch.nn.BatchNorm2d (affine, tracking running statistics), keys `weight`, `bias`,
 * `running_mean`, `running_var`; weight and bias are trainable.
 *
 * @example
 * ```ts
 * const bn = new BatchNorm2d({ numFeatures: 64 });
 * bn.training = true;
 * const y = bn.forward(x);       // batch statistics, recorded
 * bn.commitRunningStatistics();  // after the optimizer step
 * ```
 */
export class BatchNorm2d extends FrozenBatchNorm2d {
  static override readonly className = 'BatchNorm2d';
  readonly momentum: number;
  /** torch's `module.train()`: normalise with batch statistics and record them. */
  training = false;
  private pending: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } | undefined;

  constructor(args: BatchNormArgs) {
    super(args, true);
    this.momentum = args.momentum ?? 0.1;
  }

  override get usesBatchStatistics(): boolean {
    return this.training;
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training) return super.forward(x);
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    const eps = this.eps;
    // One op with torch's closed-form backward (batch_norm_backward): fewer roundings than
    // differentiating the moments op by op, and fewer kernels.
    const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xs, ws, bs] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      // mean, variance [C] over N, H, W; the variance is the biased one torch normalises with.
      const { mean, variance } = tf.moments(xs, [0, 1, 2]);
      this.record(mean as tf.Tensor1D, variance as tf.Tensor1D, count);
      const rstd = tf.rsqrt(tf.add(variance, eps)); // [C]
      const xHat = tf.mul(tf.sub(xs, mean), rstd); // [N, H, W, C]
      save([xHat, rstd, ws]);
      return {
        value: tf.add(tf.mul(xHat, ws), bs),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, r, w] = saved;
          const sumDy = tf.sum(dy, [0, 1, 2]); // [C]
          const sumDyXHat = tf.sum(tf.mul(dy, xh), [0, 1, 2]); // [C]
          // dx = w * rstd / n * (n * dy - sum(dy) - xHat * sum(dy * xHat))
          const dx = tf.mul(tf.sub(tf.sub(dy, tf.div(sumDy, count)), tf.mul(xh, tf.div(sumDyXHat, count))), tf.mul(w, r));
          return [dx, sumDyXHat, sumDy];
        },
      };
    });
    return tf.tidy(() => normalise(x, this.w.read(), this.b.read()) as tf.Tensor4D);
  }

  /** Keeps the last batch's statistics (a later forward on the same batch replaces them). */
  private record(mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void {
    this.discardRunningStatistics();
    this.pending = { mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()), count };
  }

  /** Whether a training forward has recorded statistics not yet committed. */
  get hasPendingStatistics(): boolean {
    return this.pending !== undefined;
  }

  /**
   * running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
   * (var * n / (n - 1)), as torch updates them in a training forward. No-op without a record.
   */
  commitRunningStatistics(): void {
    const p = this.pending;
    if (p === undefined) return;
    const m = this.momentum;
    const unbiased = p.count > 1 ? p.count / (p.count - 1) : 1;
    tf.tidy(() => {
      this.mean.write(tf.add(tf.mul(this.mean.read(), 1 - m), tf.mul(p.mean, m)));
      this.variance.write(tf.add(tf.mul(this.variance.read(), 1 - m), tf.mul(p.variance, m * unbiased)));
    });
    this.discardRunningStatistics();
  }

  /** Drops recorded statistics (a step that was not applied). */
  discardRunningStatistics(): void {
    if (this.pending === undefined) return;
    tf.dispose([this.pending.mean, this.pending.variance]);
    this.pending = undefined;
  }

  override dispose(): ReturnType<FrozenBatchNorm2d['dispose']> {
    this.discardRunningStatistics();
    return super.dispose();
  }
}

/**
 * The norm layer of one conv in the ResNet body.
 *
 * @example
 * ```ts
 * makeNorm('batch', 64); // BatchNorm2d
 * ```
 */
export function makeNorm(kind: BackboneNorm, numFeatures: number): FrozenBatchNorm2d {
  return kind === 'batch' ? new BatchNorm2d({ numFeatures }) : new FrozenBatchNorm2d({ numFeatures });
}
