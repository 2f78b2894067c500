/**
 * Shared machinery of our torch-semantics optimizers: parameter bookkeeping by state-dict key,
 * gradient validation (frozen weights, shapes, non-finite values) before anything is written,
 * leak-free updates, and state export/import for checkpoints.
 *
 * P parameters; each has the shape of its variable, and its slots (momentum buffer, Adam
 * moments) have that same shape.
 */
import * as tf from '@tensorflow/tfjs';
import { FrozenParameterError, NonFiniteGradientError } from './errors';
import type { OptimParam, ParamGroup } from './param_groups';

/** Which optimizer wrote a state; a state only loads into the same kind. */
export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

/**
 * One piece of per-parameter state, named as in torch's `optimizer.state_dict()['state']`
 * (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`). Values are in our layout (the variable's
 * shape), copied out of the backend, so they can be written to a checkpoint as they are.
 */
export interface OptimizerSlot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Everything an optimizer needs to continue exactly where it stopped. */
export interface OptimizerState {
  readonly kind: OptimizerKind;
  /** Number of steps applied so far (calls to `step` that updated at least the step count). */
  readonly step: number;
  /** Per-parameter slots by state-dict key; parameters without state (no gradient yet) are absent. */
  readonly slots: Map<string, readonly OptimizerSlot[]>;
}

/** What one call to `step` did. */
export interface StepResult {
  /** The optimizer's step count after this call. */
  readonly step: number;
  /** Keys of the parameters updated (those given a gradient), in parameter order. */
  readonly updated: readonly string[];
}

/** Options common to every optimizer. */
export interface OptimizerOptions {
  /** Learning rate; change it between steps with `opt.lr = ...` (what a scheduler does). */
  lr: number;
  /** L2 penalty (SGD, Adam) or decoupled decay (AdamW) for groups that do not set their own. */
  weightDecay?: number;
  /**
   * Check every gradient for NaN/Infinity before updating (one small device read per step).
   * Default true; a failed check throws {@link NonFiniteGradientError} and changes nothing.
   */
  checkFinite?: boolean;
}

/** What a subclass computes for one parameter, inside a tidy. */
export interface ParamUpdate {
  readonly param: tf.Tensor;
  readonly slots: tf.Tensor[];
}

interface Entry {
  readonly key: string;
  readonly variable: tf.LayerVariable;
  readonly shape: readonly number[];
  readonly weightDecay: number;
  /** null until the parameter first receives a gradient (torch creates state lazily too). */
  slots: tf.Tensor[] | null;
  /** Steps this parameter was updated in (torch Adam's per-parameter `state['step']`). */
  paramStep: number;
}

function checkNumber(where: string, name: string, v: number, min: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new Error(`${where}: ${name} must be a finite number >= ${min}, got ${String(v)}`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isGroupList(params: readonly OptimParam[] | readonly ParamGroup[]): params is readonly ParamGroup[] {
  return params.length > 0 && 'params' in params[0];
}

/**
 * Base class of {@link SGD}, {@link Adam} and {@link AdamW}. Holds only the parameters it was
 * given; a gradient for any other key (or for a variable frozen since) is refused with
 * {@link FrozenParameterError}, so frozen weights can never move.
 */
export abstract class TorchOptimizer {
  /** Current learning rate, used by the next `step`. */
  lr: number;
  protected abstract readonly kind: OptimizerKind;
  /** Names of the tensor slots `update` takes and returns, in that order. */
  protected abstract readonly slotNames: readonly string[];
  /** Whether the per-parameter step count is part of the state (Adam's `state['step']`). */
  protected abstract readonly exportsParamStep: boolean;
  private readonly entries: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();
  private readonly checkFinite: boolean;
  private stepCount = 0;
  private disposed = false;

  protected constructor(
    protected readonly where: string,
    params: readonly OptimParam[] | readonly ParamGroup[],
    options: OptimizerOptions,
  ) {
    checkNumber(where, 'lr', options.lr, 0);
    const defaultDecay = options.weightDecay ?? 0;
    checkNumber(where, 'weightDecay', defaultDecay, 0);
    this.lr = options.lr;
    this.checkFinite = options.checkFinite ?? true;
    const groups: readonly ParamGroup[] = isGroupList(params) ? params : [{ params: params as readonly OptimParam[] }];
    groups.forEach((group, gi) => {
      const decay = group.weightDecay ?? defaultDecay;
      checkNumber(where, `param group ${gi} weightDecay`, decay, 0);
      for (const p of group.params) {
        if (this.byKey.has(p.key)) throw new Error(`${where}: parameter '${p.key}' given twice`);
        if (!p.variable.trainable) {
          throw new Error(`${where}: parameter '${p.key}' is frozen (trainable=false); leave it out of the optimizer`);
        }
        if (p.variable.dtype !== 'float32') {
          throw new Error(`${where}: parameter '${p.key}' is ${p.variable.dtype}, expected float32`);
        }
        const shape = [...p.variable.read().shape];
        const entry: Entry = { key: p.key, variable: p.variable, shape, weightDecay: decay, slots: null, paramStep: 0 };
        this.entries.push(entry);
        this.byKey.set(p.key, entry);
      }
    });
    if (this.entries.length === 0) throw new Error(`${where}: no parameters to optimize`);
  }

  /** State-dict keys of the managed parameters, in order. */
  get keys(): string[] {
    return this.entries.map((e) => e.key);
  }

  /** Number of steps applied so far. */
  get iterations(): number {
    return this.stepCount;
  }

  /**
   * Computes one parameter's new value and slots from its value `p`, gradient `g` and current
   * slots (null on its first update). Runs inside a tidy; must not dispose its inputs.
   */
  protected abstract update(
    p: tf.Tensor,
    g: tf.Tensor,
    slots: readonly tf.Tensor[] | null,
    paramStep: number,
    weightDecay: number,
  ): ParamUpdate;

  /**
   * Applies one update with the gradients in `grads` (state-dict key -> gradient, same shape as
   * the variable). Parameters without a gradient are skipped and their state untouched, as torch
   * skips `p.grad is None`. Everything is validated before the first write, so a throw leaves
   * parameters, state and step count unchanged. The gradients stay owned by the caller.
   *
   * @throws FrozenParameterError for a key not managed here or a variable frozen since.
   * @throws NonFiniteGradientError when a gradient holds NaN/Infinity (with `checkFinite`).
   * @example
   * ```ts
   * const { value, grads } = tf.variableGrads(() => loss(), variablesOf(params));
   * opt.step(gradsByKey(params, grads));
   * tf.dispose([value, grads]);
   * ```
   */
  step(grads: ReadonlyMap<string, tf.Tensor>): StepResult {
    this.assertLive();
    const work: Array<{ entry: Entry; grad: tf.Tensor }> = [];
    for (const [key, grad] of grads) {
      const entry = this.byKey.get(key);
      if (entry === undefined) {
        throw new FrozenParameterError(this.where, key, 'which this optimizer does not manage (frozen or not given)');
      }
      if (!entry.variable.trainable) {
        throw new FrozenParameterError(this.where, key, 'whose variable has been frozen (trainable=false)');
      }
      if (grad.isDisposed) throw new Error(`${this.where}: gradient for '${key}' is disposed`);
      if (!sameShape(grad.shape, entry.shape)) {
        throw new Error(
          `${this.where}: gradient for '${key}' has shape [${grad.shape}], parameter has [${entry.shape}]`,
        );
      }
      if (grad.dtype !== 'float32') throw new Error(`${this.where}: gradient for '${key}' is ${grad.dtype}, expected float32`);
    }
    for (const entry of this.entries) {
      const grad = grads.get(entry.key);
      if (grad !== undefined) work.push({ entry, grad });
    }
    if (this.checkFinite && work.length > 0) {
      const bad = nonFiniteIndices(work.map((w) => w.grad));
      if (bad.length > 0) throw new NonFiniteGradientError(this.where, bad.map((i) => work[i].entry.key));
    }
    for (const { entry, grad } of work) {
      const paramStep = entry.paramStep + 1;
      const old = entry.slots;
      const next = tf.tidy(() => {
        const r = this.update(entry.variable.read(), grad, old, paramStep, entry.weightDecay);
        entry.variable.write(r.param);
        return r.slots;
      });
      if (old !== null) for (const t of old) if (!next.includes(t)) t.dispose();
      entry.slots = next;
      entry.paramStep = paramStep;
    }
    this.stepCount++;
    return { step: this.stepCount, updated: work.map((w) => w.entry.key) };
  }

  /**
   * Copies the optimizer state out of the backend (a synchronous read per slot).
   *
   * @example
   * ```ts
   * const saved = opt.getState();
   * const resumed = new SGD(params, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
   * resumed.setState(saved);
   * ```
   */
  getState(): OptimizerState {
    this.assertLive();
    const slots = new Map<string, readonly OptimizerSlot[]>();
    for (const e of this.entries) {
      if (e.slots === null) continue;
      const list: OptimizerSlot[] = e.slots.map((t, i) => ({
        name: this.slotNames[i],
        shape: [...t.shape],
        values: new Float32Array(t.dataSync()),
      }));
      if (this.exportsParamStep) list.push({ name: 'step', shape: [], values: Float32Array.of(e.paramStep) });
      if (list.length > 0) slots.set(e.key, list);
    }
    return { kind: this.kind, step: this.stepCount, slots };
  }

  /**
   * Replaces the whole optimizer state (as torch's `load_state_dict`): parameters absent from
   * `state.slots` start afresh. Validated completely before anything changes.
   *
   * @throws Error naming the key and slot when the kind, a key, a slot name or a shape does not fit.
   * @example
   * ```ts
   * opt.setState(checkpoint.optimizer);
   * ```
   */
  setState(state: OptimizerState): void {
    this.assertLive();
    const w = `${this.where}.setState`;
    if (state.kind !== this.kind) throw new Error(`${w}: state is for '${state.kind}', this optimizer is '${this.kind}'`);
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new Error(`${w}: step must be an integer >= 0, got ${String(state.step)}`);
    }
    const expected = [...this.slotNames, ...(this.exportsParamStep ? ['step'] : [])];
    const plan = new Map<string, { tensors: Float32Array[]; paramStep: number; shape: number[] }>();
    for (const [key, list] of state.slots) {
      const entry = this.byKey.get(key);
      if (entry === undefined) throw new Error(`${w}: state for '${key}', which this optimizer does not manage`);
      const names = list.map((s) => s.name);
      if (names.length !== expected.length || !expected.every((n) => names.includes(n))) {
        throw new Error(`${w}: '${key}' has slots [${names.join(', ')}], expected [${expected.join(', ')}]`);
      }
      const tensors: Float32Array[] = [];
      let paramStep = 0;
      for (const name of expected) {
        const slot = list.find((s) => s.name === name) as OptimizerSlot;
        if (name === 'step') {
          if (slot.shape.length !== 0 || slot.values.length !== 1 || !Number.isInteger(slot.values[0]) || slot.values[0] < 1) {
            throw new Error(`${w}: '${key}' slot 'step' must be one integer >= 1`);
          }
          paramStep = slot.values[0];
          continue;
        }
        if (!sameShape(slot.shape, entry.shape)) {
          throw new Error(`${w}: '${key}' slot '${name}' has shape [${slot.shape}], parameter has [${entry.shape}]`);
        }
        const size = entry.shape.reduce((a, b) => a * b, 1);
        if (!(slot.values instanceof Float32Array) || slot.values.length !== size) {
          throw new Error(`${w}: '${key}' slot '${name}' needs a Float32Array of ${size} values`);
        }
        tensors.push(slot.values);
      }
      plan.set(key, { tensors, paramStep: this.exportsParamStep ? paramStep : state.step, shape: [...entry.shape] });
    }
    for (const e of this.entries) {
      if (e.slots !== null) tf.dispose(e.slots);
      const p = plan.get(e.key);
      e.slots = p === undefined ? null : p.tensors.map((v) => tf.tensor(v, p.shape, 'float32'));
      e.paramStep = p === undefined ? 0 : p.paramStep;
    }
    this.stepCount = state.step;
  }

  /** Frees the slot tensors (not the parameters). The optimizer is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const e of this.entries) if (e.slots !== null) tf.dispose(e.slots);
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`${this.where}: optimizer used after dispose()`);
  }
}

/** Indices of the tensors holding a NaN or Infinity, with a single device read. */
export function nonFiniteIndices(tensors: readonly tf.Tensor[]): number[] {
  if (tensors.length === 0) return [];
  // x * 0 is 0 for finite x and NaN for NaN/Inf, so the sum is NaN exactly when one value is bad.
  // The inner tidy frees each full-size product at once, so the check never doubles gradient memory.
  const sums = tf.tidy(() => tf.stack(tensors.map((t) => tf.tidy(() => tf.sum(tf.mul(t, 0))))).dataSync());
  const bad: number[] = [];
  sums.forEach((s, i) => {
    if (!Number.isFinite(s)) bad.push(i);
  });
  return bad;
}
