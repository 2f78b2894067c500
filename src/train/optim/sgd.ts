/**
 * Stochastic gradient descent with momentum, step for step as torch.optim.SGD (torch 1.13,
 * single-tensor path, dampening 0, maximize false):
 *
 *     d = g + wd * p                      (when wd != 0)
 *     buf = d                             (first update of p)
 *     buf = momentum * buf + d            (afterwards)
 *     d = nesterov ? d + momentum * buf : buf
 *     p = p - lr * d
 *
 * torchvision's detection reference trains with lr 0.02 (8 GPUs x 2 images), momentum 0.9,
 * weight decay 1e-4 on every trainable parameter.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchOptimizer } from './optimizer';
import type { OptimizerKind, OptimizerOptions, ParamUpdate } from './optimizer';
import type { OptimParam, ParamGroup } from './param_groups';

/** SGD settings; defaults are torch's (momentum 0, no decay, no Nesterov). */
export interface SGDOptions extends OptimizerOptions {
  momentum?: number;
  nesterov?: boolean;
}

/**
 * torch.optim.SGD for weights named by state-dict key. State: `momentum_buffer` per parameter
 * (when momentum > 0).
 *
 * @example
 * ```ts
 * const params = trainableParams(model);
 * const opt = new SGD(params, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
 * const { value, grads } = tf.variableGrads(() => totalLoss(), variablesOf(params));
 * opt.step(gradsByKey(params, grads));
 * tf.dispose([value, grads]);
 * ```
 */
export class SGD extends TorchOptimizer {
  protected readonly kind: OptimizerKind = 'sgd';
  protected readonly slotNames: readonly string[];
  protected readonly exportsParamStep = false;
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(params: readonly OptimParam[] | readonly ParamGroup[], options: SGDOptions) {
    super('SGD', params, options);
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!Number.isFinite(this.momentum) || this.momentum < 0) {
      throw new Error(`SGD: momentum must be a finite number >= 0, got ${String(options.momentum)}`);
    }
    if (this.nesterov && this.momentum <= 0) throw new Error('SGD: nesterov needs momentum > 0');
    this.slotNames = this.momentum > 0 ? ['momentum_buffer'] : [];
  }

  protected update(
    p: tf.Tensor,
    g: tf.Tensor,
    slots: readonly tf.Tensor[] | null,
    _paramStep: number,
    weightDecay: number,
  ): ParamUpdate {
    let d = weightDecay !== 0 ? tf.add(g, tf.mul(p, weightDecay)) : g;
    // torch: param.add_(d, alpha=-lr).
    if (this.momentum === 0) return { param: tf.add(p, tf.mul(d, -this.lr)), slots: [] };
    // torch clones d into a fresh buffer on the first update; tidy keeps what we return.
    const buf = slots === null ? tf.clone(d) : tf.add(tf.mul(slots[0], this.momentum), d);
    d = this.nesterov ? tf.add(d, tf.mul(buf, this.momentum)) : buf;
    return { param: tf.add(p, tf.mul(d, -this.lr)), slots: [buf] };
  }
}
