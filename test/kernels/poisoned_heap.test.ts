/**
 * Gradients on a poisoned wasm heap equal the cpu backend's.
 *
 * Every tensor block the wasm backend allocates starts as NaN here (test/support/poisoned_heap),
 * so a kernel that reads memory it never wrote, or fills only part of its output, fails every
 * time instead of at random. The cases run one after another in one session, as a training step
 * does, so state that outlives a kernel call (XNNPACK operators cached by tensor id) is
 * exercised too: whole `tf.grads` of conv and matMul, so that the input and weight gradients
 * share their `dy` as they do in training, on the shapes of small training images (FPN levels
 * of 1x1 and 2x2 pixels, single RoIs, single channels), and the RPN head with its losses.
 *
 * Before the fix in KernelScope.matMul2d, the 1x1-conv cases on a 1x1 map gave NaN filter
 * gradients here, and the training runs of issue 10 stopped on a NaN gradient of
 * `rpn.head.bbox_pred.weight`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { rpnLosses } from '../../src/losses/rpn_losses';
import { RPNHead } from '../../src/rpn/rpn_head';
import { useBackend } from '../support/backends';
import { poisonWasmHeap } from '../support/poisoned_heap';
import { Figures, REL_TOL, relErr, seeded, seededTensor } from './compare';

interface Case {
  readonly name: string;
  /** The gradients to compare, computed inside a tidy. */
  readonly grads: () => tf.Tensor[];
}

/** Sum of y weighted by seeded values, so that every output element gets its own dy. */
function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, seededTensor(y.shape, seed)));
}

function convCase(name: string, x: number[], k: number, cout: number, stride: number, pad: 'same' | 'valid' | number): Case {
  return {
    name: `conv ${name}: x [${x}], ${k}x${k}, ${cout} out, stride ${stride}, pad ${pad}`,
    grads: () => {
      const xt = seededTensor(x, 11) as tf.Tensor4D;
      const w = seededTensor([k, k, x[3], cout], 12) as tf.Tensor4D;
      const p = typeof pad === 'number' ? ([[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]) : pad;
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, p), 13));
      return g([xt, w]);
    },
  };
}

function matMulCase(m: number, k: number, n: number, transposeA = false, transposeB = false, batch = 0): Case {
  const lead = batch > 0 ? [batch] : [];
  return {
    name: `matMul ${batch > 0 ? `batch ${batch} ` : ''}[${m}, ${k}] x [${k}, ${n}]${transposeA ? ' tA' : ''}${transposeB ? ' tB' : ''}`,
    grads: () => {
      const a = seededTensor([...lead, ...(transposeA ? [k, m] : [m, k])], 21);
      const b = seededTensor([...lead, ...(transposeB ? [n, k] : [k, n])], 22);
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => weightedSum(tf.matMul(x, y, transposeA, transposeB), 23));
      return g([a, b]);
    },
  };
}

/** One tensor seen through reshapes of two shapes as matMul's right operand. */
const reshapedOperandCase: Case = {
  name: 'matMul right operand reshaped [1, 12] then [12, 1] (one data id, two shapes)',
  grads: () => {
    const t = seededTensor([12], 31);
    const first = tf.matMul(seededTensor([5, 1], 32), tf.reshape(t, [1, 12])); // [5, 12]
    const second = tf.matMul(seededTensor([3, 12], 33), tf.reshape(t, [12, 1])); // [3, 1]
    return [first, second];
  },
};

/** The RPN head (16 channels) on FPN levels of a 64 x 64 image, with its two losses. */
const rpnCase: Case = {
  name: 'RPN head + losses on levels 16, 8, 4, 2, 1 px',
  grads: () => {
    const head = new RPNHead({ inChannels: 16, numAnchors: 3 });
    head.ensureBuilt();
    try {
      head.weights.forEach((v, i) => v.write(tf.mul(seededTensor(v.shape as number[], 40 + i), 0.1)));
      const levels = [16, 8, 4, 2, 1].map((s, i) => seededTensor([1, s, s, 16], 50 + i) as tf.Tensor4D);
      const T = levels.reduce((n, l) => n + l.shape[1] * l.shape[2] * 3, 0);
      // Every 7th anchor drawn, every 3rd of those positive; the 1x1 level's anchors among them.
      const labels = new Float32Array(T).fill(-1);
      for (let i = 0; i < T; i += 7) labels[i] = (i / 7) % 3 === 0 ? 1 : 0;
      for (let i = T - 3; i < T; i++) labels[i] = 1;
      const targets = seeded(4 * T, 60);
      const vars = head.weights.map((v) => v.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => {
        const out = head.forward(levels);
        const objectness = tf.concat(out.objectness.map((o) => tf.reshape(o, [-1])));
        const deltas = tf.concat(out.deltas.map((d) => tf.reshape(d, [-1, 4])));
        const l = rpnLosses(objectness, deltas, labels, targets);
        return tf.add(l.loss_objectness, l.loss_rpn_box_reg) as tf.Scalar;
      }, vars);
      return vars.map((v) => grads[v.name]);
    } finally {
      head.dispose();
    }
  },
};

const CASES: Case[] = [
  convCase('1x1 on a 1x1 map (FPN pool level)', [1, 1, 1, 16], 1, 12, 1, 'valid'),
  convCase('1x1 on a 1x1 map, batch 2', [2, 1, 1, 16], 1, 12, 1, 'valid'),
  convCase('1x1 on a 1x1 map, one output channel', [1, 1, 1, 16], 1, 1, 1, 'valid'),
  convCase('1x1 on a 1x1 map, one input channel', [1, 1, 1, 1], 1, 8, 1, 'valid'),
  convCase('1x1 on a 1x2 map', [1, 1, 2, 8], 1, 12, 1, 'valid'),
  convCase('1x1 stride 2 to a 1x1 map', [1, 2, 2, 8], 1, 6, 2, 'valid'),
  convCase('3x3 pad 1 on a 1x1 map', [1, 1, 1, 8], 3, 8, 1, 1),
  convCase('3x3 pad 1 on a 2x2 map', [1, 2, 2, 8], 3, 8, 1, 1),
  convCase('3x3 stride 2 pad 1 to a 1x1 map', [1, 2, 2, 8], 3, 6, 2, 1),
  convCase('1x1 on 4x4', [1, 4, 4, 16], 1, 12, 1, 'valid'),
  convCase('3x3 same on 8x9, batch 2', [2, 8, 9, 6], 3, 5, 1, 'same'),
  convCase('7x7 stride 2 pad 3 (stem)', [1, 16, 18, 3], 7, 8, 2, 3),
  matMulCase(1, 16, 12),
  matMulCase(12, 16, 1),
  matMulCase(12, 1, 16),
  matMulCase(1, 1, 1),
  matMulCase(1, 64, 32, false, true),
  matMulCase(32, 64, 1, true, false),
  matMulCase(5, 48, 7, true, true),
  matMulCase(2, 40, 3, false, false, 3),
  matMulCase(1, 24, 1, false, true, 2),
  reshapedOperandCase,
  rpnCase,
];

const figures = new Figures('gradients on a poisoned wasm heap vs cpu');
let reference: Map<string, Float32Array[]>;

async function valuesOf(c: Case): Promise<Float32Array[]> {
  const outs = tf.tidy(() => c.grads());
  try {
    return await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
  } finally {
    tf.dispose(outs);
  }
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('cpu');
  reference = new Map();
  for (const c of CASES) reference.set(c.name, await valuesOf(c));
  await useBackend('wasm');
});
afterAll(() => figures.print());

test('every case, in one session, on a poisoned heap: finite and equal to cpu', async () => {
  const before = tf.memory().numTensors;
  const restore = poisonWasmHeap();
  const failures: string[] = [];
  try {
    // Twice: the second pass meets the operator caches the first one left.
    for (const pass of [1, 2]) {
      for (const c of CASES) {
        const got = await valuesOf(c);
        const want = reference.get(c.name)!;
        const errors = got.map((g, i) => relErr(g, want[i]));
        if (pass === 1) figures.add(c.name, errors);
        errors.forEach((e, i) => {
          if (!(e < REL_TOL)) failures.push(`pass ${pass}, ${c.name}, output ${i}: ${e}`);
        });
      }
    }
  } finally {
    restore();
  }
  expect(failures).toEqual([]);
  expect(tf.memory().numTensors).toBe(before);
});

test('the poison is active: a fresh uninitialised wasm tensor reads as NaN', () => {
  const restore = poisonWasmHeap();
  try {
    const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: string): tf.TensorInfo };
    const info = backend.makeOutput([4], 'float32');
    const t = tf.engine().makeTensorFromTensorInfo(info);
    expect(Array.from(t.dataSync()).every(Number.isNaN)).toBe(true);
    t.dispose();
  } finally {
    restore();
  }
});
