/**
 * Adam and AdamW, step for step as torch.optim.Adam / AdamW (torch 1.13, single-tensor path,
 * amsgrad false, maximize false). For parameter p at its own step t (counted per parameter, so a
 * parameter without a gradient in some steps has a smaller t, as in torch):
 *
 *     Adam:  g = g + wd * p                       (L2 penalty folded into the gradient)
 *     AdamW: p = p * (1 - lr * wd)                (decoupled decay, before the Adam step)
 *     m = beta1 * m + (1 - beta1) * g
 *     v = beta2 * v + (1 - beta2) * g * g
 *     p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * eps is added outside the square root, after the bias correction of v, as torch does; the bias
 * corrections are computed in double precision on the host, as torch computes them in Python.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchOptimizer } from './optimizer';
import type { OptimizerKind, OptimizerOptions, ParamUpdate } from './optimizer';
import type { OptimParam, ParamGroup } from './param_groups';

/** Adam/AdamW settings; defaults are torch's (betas [0.9, 0.999], eps 1e-8). */
export interface AdamOptions extends OptimizerOptions {
  betas?: readonly [number, number];
  eps?: number;
}

abstract class AdamBase extends TorchOptimizer {
  protected readonly slotNames: readonly string[] = ['exp_avg', 'exp_avg_sq'];
  protected readonly exportsParamStep = true;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  protected abstract readonly decoupled: boolean;

  protected constructor(where: string, params: readonly OptimParam[] | readonly ParamGroup[], options: AdamOptions) {
    super(where, params, options);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    for (const [name, b] of [['betas[0]', this.beta1], ['betas[1]', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`${where}: ${name} must be in [0, 1), got ${String(b)}`);
    }
    if (!(this.eps >= 0) || !Number.isFinite(this.eps)) throw new Error(`${where}: eps must be >= 0, got ${String(this.eps)}`);
  }

  protected update(
    p: tf.Tensor,
    g: tf.Tensor,
    slots: readonly tf.Tensor[] | null,
    paramStep: number,
    weightDecay: number,
  ): ParamUpdate {
    let param = p;
    let grad = g;
    if (weightDecay !== 0) {
      if (this.decoupled) param = tf.mul(p, 1 - this.lr * weightDecay);
      else grad = tf.add(g, tf.mul(p, weightDecay));
    }
    // torch starts both moments at zero; 0 * beta + x is exactly x, so the first step skips them.
    const gm = tf.mul(grad, 1 - this.beta1);
    const gv = tf.mul(tf.mul(grad, 1 - this.beta2), grad);
    const m = slots === null ? gm : tf.add(tf.mul(slots[0], this.beta1), gm);
    const v = slots === null ? gv : tf.add(tf.mul(slots[1], this.beta2), gv);
    const bc1 = 1 - this.beta1 ** paramStep;
    const bc2 = 1 - this.beta2 ** paramStep;
    const stepSize = this.lr / bc1;
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
    return { param: tf.add(param, tf.mul(tf.div(m, denom), -stepSize)), slots: [m, v] };
  }
}

/**
 * torch.optim.Adam (weight decay as an L2 term in the gradient). State per parameter:
 * `exp_avg`, `exp_avg_sq`, `step`.
 *
 * @example
 * ```ts
 * const opt = new Adam(trainableParams(model), { lr: 1e-4 });
 * opt.step(grads);
 * ```
 */
export class Adam extends AdamBase {
  protected readonly kind: OptimizerKind = 'adam';
  protected readonly decoupled = false;

  constructor(params: readonly OptimParam[] | readonly ParamGroup[], options: AdamOptions) {
    super('Adam', params, options);
  }
}

/**
 * torch.optim.AdamW: decay decoupled from the gradient, `p *= 1 - lr * wd` before the Adam step.
 * torch's default weight decay for AdamW is 1e-2, applied here too when `weightDecay` is not set.
 *
 * @example
 * ```ts
 * const opt = new AdamW(splitWeightDecay(trainableParams(model), isBiasKey), { lr: 1e-4, weightDecay: 0.05 });
 * opt.step(grads);
 * ```
 */
export class AdamW extends AdamBase {
  protected readonly kind: OptimizerKind = 'adamw';
  protected readonly decoupled = true;

  constructor(params: readonly OptimParam[] | readonly ParamGroup[], options: AdamOptions) {
    super('AdamW', params, { ...options, weightDecay: options.weightDecay ?? 1e-2 });
  }
}
