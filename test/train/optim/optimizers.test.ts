import * as tf from '@tensorflow/tfjs';
import {
  Adam,
  AdamW,
  FrozenParameterError,
  NonFiniteGradientError,
  SGD,
  WarmupMultiStepSchedule,
  clipGradNorm,
  gradsByKey,
  isBiasKey,
  splitWeightDecay,
  trainableParams,
  variablesOf,
} from '../../../src/train/optim';
import type { OptimParam, TorchOptimizer } from '../../../src/train/optim';
import { describeEachBackend } from '../../support/backends';
import { KEYS, ToyModel, f32, fixtures, maxRelError, stepGrads } from './fixture_io';
import type { OptimizerCase } from './fixture_io';

/** The optimizer each fixture case was made with (tools/make_optim_cases.py). */
const MAKERS: Record<string, (params: OptimParam[], lr: number) => TorchOptimizer> = {
  sgd: (p, lr) => new SGD(p, { lr, momentum: 0.9, weightDecay: 1e-4 }),
  sgd_plain: (p, lr) => new SGD(p, { lr, weightDecay: 1e-4 }),
  sgd_nesterov: (p, lr) => new SGD(p, { lr, momentum: 0.9, weightDecay: 1e-4, nesterov: true }),
  sgd_groups: (p, lr) => new SGD(splitWeightDecay(p, isBiasKey), { lr, momentum: 0.9, weightDecay: 1e-4 }),
  adam: (p, lr) => new Adam(p, { lr, weightDecay: 1e-4 }),
  adamw: (p, lr) => new AdamW(p, { lr, weightDecay: 1e-2 }),
  adamw_betas: (p, lr) => new AdamW(p, { lr, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.05 }),
};

const TOL = 1e-6;

function setup(c: OptimizerCase): { model: ToyModel; params: OptimParam[]; opt: TorchOptimizer } {
  const model = new ToyModel();
  model.load(c.params);
  const params = trainableParams(model);
  return { model, params, opt: MAKERS[c.name](params, c.lrs[0]) };
}

/** Runs steps [from, to) of a case; returns the largest relative error against torch. */
function runSteps(c: OptimizerCase, model: ToyModel, opt: TorchOptimizer, from: number, to: number): number {
  let worst = 0;
  for (let s = from; s < to; s++) {
    opt.lr = c.lrs[s];
    const grads = stepGrads(c, s);
    opt.step(grads);
    tf.dispose([...grads.values()]);
    KEYS.forEach((k, i) => {
      worst = Math.max(worst, maxRelError(model.values(k), f32(c.after[s][i])));
    });
  }
  return worst;
}

function snapshot(model: ToyModel): Float32Array[] {
  return [...KEYS, 'bn.running_mean'].map((k) => model.values(k).slice());
}

describeEachBackend('torch optimizers', (backend) => {
  const cases = Object.values(fixtures().optimizers);

  it.each(cases.map((c) => c.name))('%s matches torch over 8 steps', (name) => {
    const c = fixtures().optimizers[name];
    const { model, opt } = setup(c);
    const worst = runSteps(c, model, opt, 0, c.lrs.length);
    console.log(`${backend} ${name}: max rel error ${worst.toExponential(2)} over ${c.lrs.length} steps`);
    expect(worst).toBeLessThanOrEqual(TOL);
    expect(opt.iterations).toBe(c.lrs.length);
    opt.dispose();
    model.dispose();
  });

  it('trainableParams leaves out frozen buffers; gradients from tf.variableGrads map to keys', () => {
    const c = fixtures().optimizers.sgd;
    const { model, params, opt } = setup(c);
    expect(params.map((p) => p.key)).toEqual([...KEYS]);
    expect(trainableParams(model, 'backbone.').map((p) => p.key)).toEqual(KEYS.map((k) => `backbone.${k}`));
    // loss = sum_k <w_k, G_k> has gradient G_k for w_k: the fixture gradients of step 0.
    const target = stepGrads(c, 0);
    const { value, grads } = tf.variableGrads(
      () => tf.addN(params.map((p) => tf.sum(tf.mul(p.variable.read(), target.get(p.key) as tf.Tensor)))) as tf.Scalar,
      variablesOf(params),
    );
    const byKey = gradsByKey(params, grads);
    expect([...byKey.keys()].sort()).toEqual([...KEYS].sort());
    opt.step(byKey);
    KEYS.forEach((k, i) => expect(maxRelError(model.values(k), f32(c.after[0][i]))).toBeLessThanOrEqual(TOL));
    expect(() => gradsByKey(params.slice(1), grads)).toThrow(/gradsByKey: gradient for tfjs variable .* matches none/);
    tf.dispose([value, grads, [...target.values()]]);
    opt.dispose();
    model.dispose();
  });

  it('never moves a frozen weight: a gradient for one is refused and nothing changes', () => {
    const c = fixtures().optimizers.sgd;
    const { model, params, opt } = setup(c);
    const before = snapshot(model);
    const grads = stepGrads(c, 0);
    const frozenGrad = tf.onesLike(model.frozen.read());
    grads.set('bn.running_mean', frozenGrad);
    expect(() => opt.step(grads)).toThrow(FrozenParameterError);
    expect(() => opt.step(grads)).toThrow(/'bn.running_mean', which this optimizer does not manage/);
    expect(snapshot(model)).toEqual(before);
    expect(opt.iterations).toBe(0);
    expect(opt.getState().slots.size).toBe(0);

    // A managed weight frozen after construction: refused with a gradient, untouched without one.
    params[2].variable.trainable = false;
    grads.delete('bn.running_mean');
    expect(() => opt.step(grads)).toThrow(/'fc.bias', whose variable has been frozen/);
    expect(snapshot(model)).toEqual(before);
    const fcBias = grads.get('fc.bias') as tf.Tensor;
    grads.delete('fc.bias');
    expect(opt.step(grads).updated).toEqual(['conv.weight', 'fc.weight']);
    expect(model.values('fc.bias')).toEqual(before[2]);
    expect(model.values('bn.running_mean')).toEqual(before[3]);
    expect(model.values('conv.weight')).not.toEqual(before[0]);

    expect(() => new SGD([{ key: 'fc.bias', variable: params[2].variable }], { lr: 0.1 })).toThrow(/'fc.bias' is frozen/);

    // Freezing the whole layer (torch's requires_grad_(False)) empties trainableParams and every
    // gradient is refused; unfreezing does not make the FrozenBatchNorm-like buffer trainable.
    model.trainable = false;
    expect(trainableParams(model)).toEqual([]);
    expect(() => opt.step(grads)).toThrow(/'conv.weight', whose variable has been frozen/);
    model.trainable = true;
    expect(trainableParams(model).map((p) => p.key)).toEqual([...KEYS]);
    tf.dispose([frozenGrad, fcBias, [...grads.values()]]);
    opt.dispose();
    model.dispose();
  });

  it.each([NaN, Infinity, -Infinity])('a %s gradient throws NonFiniteGradientError naming the key and changes nothing', (bad) => {
    const c = fixtures().optimizers.adamw;
    const { model, opt } = setup(c);
    runSteps(c, model, opt, 0, 2);
    const before = snapshot(model);
    const state = opt.getState();
    const grads = stepGrads(c, 2);
    const fc = grads.get('fc.weight') as tf.Tensor;
    const poisoned = tf.tidy(() => {
      const v = fc.dataSync().slice();
      v[7] = bad;
      return tf.tensor(v, fc.shape);
    });
    grads.set('fc.weight', poisoned);
    let caught: unknown;
    try {
      opt.step(grads);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NonFiniteGradientError);
    expect((caught as NonFiniteGradientError).keys).toEqual(['fc.weight']);
    expect((caught as Error).message).toMatch(/AdamW: non-finite gradient .* for fc.weight/);
    expect(snapshot(model)).toEqual(before);
    expect(opt.iterations).toBe(2);
    expect(opt.getState()).toEqual(state);
    tf.dispose([fc, [...grads.values()]]);
    opt.dispose();
    model.dispose();
  });

  it.each(['sgd', 'sgd_groups', 'adam', 'adamw'])('%s state round trip: a fresh optimizer continues identically', (name) => {
    const c = fixtures().optimizers[name];
    const a = setup(c);
    runSteps(c, a.model, a.opt, 0, 4);
    const state = a.opt.getState();
    // Adam keeps a per-parameter step: the adam case skipped conv.weight at step 2.
    if (name === 'adam') expect(state.slots.get('conv.weight')?.find((s) => s.name === 'step')?.values[0]).toBe(3);
    if (name === 'sgd') expect(state.slots.get('fc.weight')?.map((s) => s.name)).toEqual(['momentum_buffer']);

    const b = setup(c);
    KEYS.forEach((k) => {
      const t = tf.tensor(a.model.values(k), b.params[KEYS.indexOf(k)].variable.read().shape);
      b.params[KEYS.indexOf(k)].variable.write(t);
      t.dispose();
    });
    b.opt.setState(state);
    expect(b.opt.getState()).toEqual(state);
    const errA = runSteps(c, a.model, a.opt, 4, c.lrs.length);
    const errB = runSteps(c, b.model, b.opt, 4, c.lrs.length);
    expect(errB).toBeLessThanOrEqual(TOL);
    expect(errB).toBe(errA);
    KEYS.forEach((k) => expect(b.model.values(k)).toEqual(a.model.values(k)));
    expect(b.opt.iterations).toBe(c.lrs.length);
    [a, b].forEach((x) => {
      x.opt.dispose();
      x.model.dispose();
    });
  });

  it('setState rejects a state that does not fit, naming what is wrong', () => {
    const c = fixtures().optimizers.adam;
    const { model, opt } = setup(c);
    runSteps(c, model, opt, 0, 1);
    const state = opt.getState();
    const other = new SGD(trainableParams(model), { lr: 0.1, momentum: 0.9 });
    expect(() => other.setState(state)).toThrow(/SGD.setState: state is for 'adam', this optimizer is 'sgd'/);
    const slots = new Map(state.slots);
    slots.set('head.weight', slots.get('fc.weight') ?? []);
    expect(() => opt.setState({ ...state, slots })).toThrow(/'head.weight', which this optimizer does not manage/);
    const wrongShape = new Map(state.slots);
    wrongShape.set('fc.bias', (state.slots.get('fc.bias') ?? []).map((s) => (s.name === 'step' ? s : { ...s, shape: [2, 2] })));
    expect(() => opt.setState({ ...state, slots: wrongShape })).toThrow(/'fc.bias' slot 'exp_avg' has shape \[2,2\], parameter has \[4\]/);
    const missing = new Map(state.slots);
    missing.set('fc.bias', (state.slots.get('fc.bias') ?? []).filter((s) => s.name !== 'exp_avg_sq'));
    expect(() => opt.setState({ ...state, slots: missing })).toThrow(/'fc.bias' has slots \[exp_avg, step\]/);
    expect(() => opt.setState({ ...state, step: -1 })).toThrow(/step must be an integer/);
    // A failed setState changed nothing.
    expect(opt.getState()).toEqual(state);
    other.dispose();
    opt.dispose();
    model.dispose();
  });

  it('rejects bad gradients and options with the argument named', () => {
    const c = fixtures().optimizers.sgd;
    const { model, params, opt } = setup(c);
    const g = tf.zeros([4, 5]);
    expect(() => opt.step(new Map([['fc.weight', g]]))).toThrow(/SGD: gradient for 'fc.weight' has shape \[4,5\], parameter has \[5,3\]/);
    expect(() => new SGD(params, { lr: -1 })).toThrow(/SGD: lr must be/);
    expect(() => new SGD(params, { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum/);
    expect(() => new Adam(params, { lr: 0.1, betas: [0.9, 1] })).toThrow(/Adam: betas\[1\] must be in \[0, 1\)/);
    expect(() => new SGD([...params, params[0]], { lr: 0.1 })).toThrow(/'conv.weight' given twice/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/no parameters/);
    g.dispose();
    opt.dispose();
    expect(() => opt.step(new Map())).toThrow(/used after dispose/);
    model.dispose();
  });

  it.each(Object.keys(MAKERS))('%s does not leak: tensor count constant over 10 steps, slots freed by dispose', (name) => {
    const c = fixtures().optimizers[name];
    const { model, opt } = setup(c);
    const gradsOf = (s: number): Map<string, tf.Tensor> => stepGrads(c, s % c.lrs.length);
    // Steps 0 and 1 create every slot (some cases give a parameter no gradient at step 0).
    for (let s = 0; s < 2; s++) {
      const warm = gradsOf(s);
      opt.step(warm);
      tf.dispose([...warm.values()]);
    }
    expect(opt.getState().slots.size).toBe(name === 'sgd_plain' ? 0 : KEYS.length);
    const before = tf.memory().numTensors;
    for (let s = 2; s < 12; s++) {
      const grads = gradsOf(s);
      opt.step(grads);
      opt.getState();
      tf.dispose([...grads.values()]);
    }
    expect(tf.memory().numTensors).toBe(before);
    const slots = opt.getState().slots;
    let slotTensors = 0;
    slots.forEach((list) => (slotTensors += list.filter((s) => s.name !== 'step').length));
    opt.setState(opt.getState());
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - slotTensors);
    model.dispose();
  });

  it('the whole training-step flow (variableGrads, gradsByKey, clipGradNorm, step, schedule) does not leak', () => {
    const c = fixtures().optimizers.sgd;
    const { model, params, opt } = setup(c);
    const sched = new WarmupMultiStepSchedule({ baseLr: 0.02, milestones: [5], milestoneUnit: 'iteration', warmupIters: 3 });
    const target = stepGrads(c, 1);
    const trainStep = (): void => {
      sched.apply(opt);
      const { value, grads } = tf.variableGrads(
        () => tf.addN(params.map((p) => tf.sum(tf.mul(tf.square(p.variable.read()), target.get(p.key) as tf.Tensor)))) as tf.Scalar,
        variablesOf(params),
      );
      const clipped = clipGradNorm(gradsByKey(params, grads), 1);
      opt.step(clipped.grads);
      tf.dispose([value, grads, [...clipped.grads.values()]]);
      sched.step();
    };
    trainStep();
    const before = tf.memory().numTensors;
    const w0 = model.values('conv.weight').slice();
    for (let i = 0; i < 10; i++) trainStep();
    expect(tf.memory().numTensors).toBe(before);
    expect(model.values('conv.weight')).not.toEqual(w0);
    expect(opt.lr).toBeCloseTo(0.002, 12);
    tf.dispose([...target.values()]);
    opt.dispose();
    model.dispose();
  });
});
