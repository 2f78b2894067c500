/** Reads test/fixtures/optim/optim_cases.json (tools/make_optim_cases.py, torch 1.13) and builds a toy model. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TorchLayer } from '../../../src/nn/torch_layer';
import { decodeF32, maxRelError as relError } from '../../support/errors';

/**
 * Largest |a - e| / max(|e|, floor) over all entries; NaN anywhere makes it NaN. The floor keeps
 * entries that pass near zero (where one float32 rounding of a larger intermediate dominates)
 * from reading as huge relative errors.
 */
export const maxRelError = (actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-2): number => relError(actual, expected, floor);

/** An array as the generator stores it: little-endian float32 bytes in base64. */
export interface Arr {
  shape: number[];
  dtype: 'float32';
  b64: string;
}

export interface OptimizerCase {
  name: string;
  lrs: number[];
  params: Arr[];
  grads: Array<Array<Arr | null>>;
  after: Arr[][];
}

export interface ClipCase {
  max_norm: number;
  grads: Arr[];
  total_norm: number;
  clipped: Arr[];
}

export interface ScheduleCase {
  unit: 'epoch' | 'iteration';
  base_lr: number;
  iters_per_epoch?: number;
  warmup_iters: number;
  warmup_factor: number;
  milestones: number[];
  gamma: number;
  lrs: number[];
}

export interface OptimFixtures {
  torch: string;
  optimizers: Record<string, OptimizerCase>;
  clip: ClipCase[];
  schedules: ScheduleCase[];
}

let cached: OptimFixtures | undefined;

export function fixtures(): OptimFixtures {
  cached ??= JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'optim', 'optim_cases.json'), 'utf8'),
  ) as OptimFixtures;
  return cached;
}

export function f32(a: Arr): Float32Array {
  if (a.dtype !== 'float32') throw new Error(`fixture array is ${String(a.dtype)}, expected float32`);
  return decodeF32(a.b64);
}

export function tensorOf(a: Arr): tf.Tensor {
  return tf.tensor(f32(a), a.shape, 'float32');
}

/** State-dict keys of the toy model, in the fixture's parameter order. */
export const KEYS = ['conv.weight', 'fc.weight', 'fc.bias'] as const;

/**
 * A model with the fixture's three trainable parameters and one frozen FrozenBatchNorm-like
 * buffer (`bn.running_mean`, declared non-trainable) plus a weight frozen later by tests.
 */
export class ToyModel extends TorchLayer {
  static override readonly className = 'OptimToyModel';
  readonly frozen: tf.LayerVariable;

  constructor() {
    super({});
    this.param('conv.weight', [3, 3, 2, 4], 'same');
    this.param('fc.weight', [5, 3], 'same');
    this.param('fc.bias', [4], 'same');
    this.frozen = this.param('bn.running_mean', [4], 'same', tf.initializers.ones(), false);
  }

  /** Writes the fixture's initial values. */
  load(params: readonly Arr[]): void {
    const sd = this.stateDict();
    KEYS.forEach((k, i) => {
      const t = tensorOf(params[i]);
      (sd.get(k) as { variable: tf.LayerVariable }).variable.write(t);
      t.dispose();
    });
  }

  values(key: string): Float32Array {
    return (this.stateDict().get(key) as { variable: tf.LayerVariable }).variable.read().dataSync() as Float32Array;
  }
}

/** Gradients of step `s` of a case, by key (null entries left out). Caller disposes. */
export function stepGrads(c: OptimizerCase, s: number): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  c.grads[s].forEach((g, i) => {
    if (g !== null) out.set(KEYS[i], tensorOf(g));
  });
  return out;
}
