/**
 * Optimizers, gradient clipping and learning-rate schedule for training, with torch.optim's
 * arithmetic (torch 1.13) and weights named by torchvision state-dict keys. Frozen weights are
 * kept out of the optimizer and a gradient for one is refused, unlike tfjs's own optimizers.
 *
 * @example
 * ```ts
 * import { SGD, trainableParams, variablesOf, gradsByKey, clipGradNorm, WarmupMultiStepSchedule } from './train/optim';
 * const params = trainableParams(model);
 * const opt = new SGD(params, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
 * const sched = new WarmupMultiStepSchedule({ baseLr: 0.02, milestones: [16, 22], itersPerEpoch: n });
 * sched.apply(opt);
 * const { value, grads } = tf.variableGrads(() => totalLoss(), variablesOf(params));
 * const clipped = clipGradNorm(gradsByKey(params, grads), 10);
 * opt.step(clipped.grads);
 * tf.dispose([value, grads, [...clipped.grads.values()]]);
 * sched.step();
 * ```
 */
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { TorchOptimizer, nonFiniteIndices } from './optimizer';
export type { OptimizerKind, OptimizerOptions, OptimizerSlot, OptimizerState, StepResult, ParamUpdate } from './optimizer';
export { clipGradNorm } from './clip_grad';
export type { ClipGradNormOptions, ClipGradNormResult } from './clip_grad';
export { warmupMultiStepLr, WarmupMultiStepSchedule } from './schedule';
export type { WarmupMultiStepOptions, ScheduleState } from './schedule';
export { trainableParams, splitWeightDecay, isBiasKey, variablesOf, gradsByKey } from './param_groups';
export type { OptimParam, ParamGroup } from './param_groups';
export { NonFiniteGradientError, FrozenParameterError } from './errors';
