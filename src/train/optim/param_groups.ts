/**
 * Which weights an optimizer may touch, named by torchvision state-dict keys.
 *
 * tfjs optimizers update any variable they are handed a gradient for, `trainable` or not, and
 * `tf.variableGrads` names gradients by tfjs variable names (`conv2d_3/weight_1`). Our optimizers
 * instead take a fixed list of {@link OptimParam} (key + variable) chosen once from the model's
 * state dict, keep frozen weights out of it, and take gradients keyed by state-dict key.
 */
import * as tf from '@tensorflow/tfjs';
import type { TorchLayer, TorchParam } from '../../nn/torch_layer';

/** One trainable weight: its state-dict key and its variable. */
export interface OptimParam {
  readonly key: string;
  readonly variable: tf.LayerVariable;
}

/**
 * A set of parameters sharing hyperparameters, as a torch param group. `weightDecay` overrides
 * the optimizer's default for these parameters only (0 turns decay off, e.g. for biases).
 */
export interface ParamGroup {
  readonly params: readonly OptimParam[];
  readonly weightDecay?: number;
}

function isTorchLayer(source: TorchLayer | ReadonlyMap<string, TorchParam>): source is TorchLayer {
  return typeof (source as TorchLayer).stateDict === 'function';
}

/**
 * The trainable parameters of a model, in state-dict order, as torchvision's reference script
 * selects them (`[p for p in model.parameters() if p.requires_grad]`): a parameter is kept when
 * it is declared trainable (not a FrozenBatchNorm buffer) and its variable is currently trainable
 * (its layer or stage has not been frozen).
 *
 * @param source a TorchLayer, or a state dict as returned by `layer.stateDict()`.
 * @param prefix prepended to every key, e.g. `'backbone.'` to name keys as in the full model.
 * @example
 * ```ts
 * const params = trainableParams(model);
 * const opt = new SGD(params, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
 * ```
 */
export function trainableParams(
  source: TorchLayer | ReadonlyMap<string, TorchParam>,
  prefix = '',
): OptimParam[] {
  const sd = isTorchLayer(source) ? source.stateDict() : source;
  const out: OptimParam[] = [];
  for (const [key, p] of sd) {
    if (p.trainable && p.variable.trainable) out.push({ key: prefix + key, variable: p.variable });
  }
  return out;
}

/** True for keys naming a bias (`....bias`), the usual candidates for no weight decay. */
export function isBiasKey(key: string): boolean {
  return key === 'bias' || key.endsWith('.bias');
}

/**
 * Splits parameters into two groups: those for which `noDecay(key)` holds get `weightDecay: 0`
 * (or `noDecayValue`), the rest keep the optimizer default. With FrozenBatchNorm (the torchvision
 * Mask R-CNN default) norm weights are never trainable, so biases are the only usual candidates;
 * torchvision's reference applies decay to every trainable parameter unless told otherwise.
 * Empty groups are dropped.
 *
 * @example
 * ```ts
 * const groups = splitWeightDecay(trainableParams(model), isBiasKey);
 * const opt = new SGD(groups, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
 * ```
 */
export function splitWeightDecay(
  params: readonly OptimParam[],
  noDecay: (key: string) => boolean,
  noDecayValue = 0,
): ParamGroup[] {
  const decay = params.filter((p) => !noDecay(p.key));
  const rest = params.filter((p) => noDecay(p.key));
  const groups: ParamGroup[] = [];
  if (decay.length > 0) groups.push({ params: decay });
  if (rest.length > 0) groups.push({ params: rest, weightDecay: noDecayValue });
  return groups;
}

/**
 * The tfjs variables behind `params`, to pass as the var list of `tf.variableGrads` so that
 * gradients are taken for exactly these weights.
 *
 * @example
 * ```ts
 * const { value, grads } = tf.variableGrads(() => lossFn(), variablesOf(params));
 * ```
 */
export function variablesOf(params: readonly OptimParam[]): tf.Variable[] {
  // LayerVariable.read() returns the tf.Variable it wraps (typed as a plain Tensor).
  return params.map((p) => p.variable.read() as tf.Variable);
}

/**
 * Renames the gradients from `tf.variableGrads` (keyed by tfjs variable name) to state-dict
 * keys. The tensors are not copied: dispose either map's tensors once, not both.
 *
 * @throws Error naming the variable when a gradient belongs to none of `params` (take the
 *   gradients with `variablesOf(params)` as the var list).
 * @example
 * ```ts
 * const { value, grads } = tf.variableGrads(() => lossFn(), variablesOf(params));
 * opt.step(gradsByKey(params, grads));
 * tf.dispose([value, grads]);
 * ```
 */
export function gradsByKey(params: readonly OptimParam[], grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  const keyOf = new Map<string, string>();
  for (const v of params) keyOf.set((v.variable.read() as tf.Variable).name, v.key);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of Object.entries(grads)) {
    const key = keyOf.get(name);
    if (key === undefined) {
      throw new Error(
        `gradsByKey: gradient for tfjs variable '${name}' matches none of the ${params.length} parameters ` +
          `(pass variablesOf(params) as the var list of tf.variableGrads)`,
      );
    }
    out.set(key, g);
  }
  return out;
}
