import * as tf from '@tensorflow/tfjs';
import { rpnLosses } from '../../src/losses/rpn_losses';
import { concatTargets } from '../../src/targets/concat';
import { assignRpnTargets, sampleRpnLabels } from '../../src/targets/rpn_targets';
import { describeEachBackend } from '../support/backends';
import { Arr, f32, maxRelError, readFixture, relToMax } from '../targets/fixture_io';

interface LossOnlyCase {
  name: string;
  labels: Arr;
  regressionTargets: Arr;
  objectness: Arr;
  predDeltas: Arr;
  lossObjectness: number;
  lossRpnBoxReg: number;
  gradObjectnessOfObjectness: Arr;
  gradPredDeltasOfBoxReg: Arr;
}

interface PipelineCase {
  name: string;
  anchors: Arr[];
  gtBoxes: Arr[];
  labels: Arr[];
  regressionTargets: Arr[];
  objectness: Arr;
  predDeltas: Arr;
  lossObjectness: number;
  lossRpnBoxReg: number;
  gradObjectness: Arr;
  gradPredDeltas: Arr;
}

const fixture = readFixture<{ loss: PipelineCase[]; lossOnly: LossOnlyCase[] }>('rpn_targets.json');

/** Losses and their gradients w.r.t. objectness and deltas (each loss's own). */
function run(objectness: Float32Array, deltas: Float32Array, labels: ArrayLike<number>, targets: ArrayLike<number>) {
  const T = objectness.length;
  const x = tf.tensor1d(objectness);
  const d = tf.tensor2d(deltas, [T, 4]);
  const values = rpnLosses(x, d, labels, targets);
  const lossObj = values.loss_objectness.dataSync()[0];
  const lossBox = values.loss_rpn_box_reg.dataSync()[0];
  const gObj = tf.grad((xx: tf.Tensor) => rpnLosses(xx, d, labels, targets).loss_objectness)(x);
  const gBox = tf.grad((dd: tf.Tensor) => rpnLosses(x, dd, labels, targets).loss_rpn_box_reg)(d);
  const out = { lossObj, lossBox, gObj: gObj.dataSync().slice(), gBox: gBox.dataSync().slice() };
  tf.dispose([x, d, values.loss_objectness, values.loss_rpn_box_reg, gObj, gBox]);
  return out;
}

describeEachBackend('rpnLosses vs torchvision compute_loss', () => {
  for (const c of fixture.lossOnly) {
    it(`${c.name}: values within 1e-5, gradients within 1e-4`, () => {
      const r = run(f32(c.objectness), f32(c.predDeltas), f32(c.labels), f32(c.regressionTargets));
      const eObj = maxRelError([r.lossObj], [c.lossObjectness]);
      const eBox = c.lossRpnBoxReg === 0 ? Math.abs(r.lossBox) : maxRelError([r.lossBox], [c.lossRpnBoxReg]);
      const gObj = relToMax(r.gObj, f32(c.gradObjectnessOfObjectness));
      const gBox = relToMax(r.gBox, f32(c.gradPredDeltasOfBoxReg));
      console.log(
        `rpn loss ${c.name} [${tf.getBackend()}]: objectness ${r.lossObj} (rel err ${eObj.toExponential(2)}), box ${r.lossBox} ` +
          `(err ${eBox.toExponential(2)}); grad rel err ${gObj.toExponential(2)} / ${gBox.toExponential(2)}`,
      );
      expect(eObj).toBeLessThanOrEqual(1e-5);
      expect(eBox).toBeLessThanOrEqual(1e-5);
      expect(gObj).toBeLessThanOrEqual(1e-4);
      expect(gBox).toBeLessThanOrEqual(1e-4);
    });
  }

  for (const c of fixture.loss) {
    it(`${c.name}: our targets + take-all sampling + losses equal torchvision end to end`, () => {
      const perImage = c.anchors.map((a, i) => assignRpnTargets(f32(a), { boxes: f32(c.gtBoxes[i]) }));
      // the fixture is in the take-all regime: every labelled anchor is drawn, no Rng needed
      const labels = concatTargets(perImage.map((t) => sampleRpnLabels(t.labels)));
      expect(Array.from(labels)).toEqual(Array.from(concatTargets(c.labels.map(f32))));
      const targets = concatTargets(perImage.map((t) => t.regressionTargets));
      const r = run(f32(c.objectness), f32(c.predDeltas), labels, targets);
      const eObj = maxRelError([r.lossObj], [c.lossObjectness]);
      const eBox = maxRelError([r.lossBox], [c.lossRpnBoxReg]);
      const gObj = relToMax(r.gObj, f32(c.gradObjectness));
      const gBox = relToMax(r.gBox, f32(c.gradPredDeltas));
      console.log(
        `rpn pipeline ${c.name} [${tf.getBackend()}]: rel err ${eObj.toExponential(2)} / ${eBox.toExponential(2)}, ` +
          `grad ${gObj.toExponential(2)} / ${gBox.toExponential(2)}`,
      );
      expect(eObj).toBeLessThanOrEqual(1e-5);
      expect(eBox).toBeLessThanOrEqual(1e-5);
      expect(gObj).toBeLessThanOrEqual(1e-4);
      expect(gBox).toBeLessThanOrEqual(1e-4);
    });
  }

  it('gives finite zeros with defined gradients when nothing is drawn or nothing is foreground', () => {
    const obj = Float32Array.of(0.3, -2, 5);
    const del = new Float32Array(12).fill(0.2);
    const none = run(obj, del, [-1, -1, -1], new Float32Array(12));
    expect([none.lossObj, none.lossBox]).toEqual([0, 0]);
    expect(Array.from(none.gObj)).toEqual([0, 0, 0]);
    expect(Array.from(none.gBox).every((v) => v === 0)).toBe(true);
    // an image without GT: only background anchors; torchvision's targets there are -inf
    const bgOnly = run(obj, del, [0, 0, -1], new Float32Array(12).fill(-Infinity));
    expect(bgOnly.lossBox).toBe(0);
    expect(Number.isFinite(bgOnly.lossObj) && bgOnly.lossObj > 0).toBe(true);
    expect(Array.from(bgOnly.gBox).every((v) => v === 0)).toBe(true);
    expect(bgOnly.gObj[2]).toBe(0); // not drawn
  });

  it('ignores non-finite targets of rows that are not foreground', () => {
    const obj = Float32Array.of(0.3, -2);
    const del = Float32Array.of(0.1, 0.2, 0.3, 0.4, 0, 0, 0, 0);
    const clean = run(obj, del, [1, 0], Float32Array.of(0, 0, 0, 0, 0, 0, 0, 0));
    const dirty = run(obj, del, [1, 0], Float32Array.of(0, 0, 0, 0, NaN, -Infinity, Infinity, NaN));
    expect(dirty).toEqual(clean);
    expect(() => run(obj, del, [1, 0], Float32Array.of(NaN, 0, 0, 0, 0, 0, 0, 0))).toThrow(
      'Error in rpnLosses: regressionTargets (foreground rows)[0] is not finite',
    );
  });

  it('accepts [N, A] objectness and [N, A, 4] deltas, and works under variableGrads', () => {
    const x = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1]]));
    const d = tf.variable(tf.tensor3d([[[0.1, -0.5, 0, 0], [0, 0, 0, 0]], [[0, 0.3, 0, 0], [0, 0, 0, 0.05]]]));
    const labels = [1, 0, -1, 1];
    const targets = new Float32Array(16);
    const { value, grads } = tf.variableGrads(() => {
      const l = rpnLosses(x, d, labels, targets);
      return tf.add(l.loss_objectness, l.loss_rpn_box_reg) as tf.Scalar;
    }, [x, d]);
    const g = grads[x.name].arraySync() as number[][];
    // d/dx = (sigmoid(x) - y) / 3 over the 3 drawn anchors
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    expect(g[0][0]).toBeCloseTo((sig(0.5) - 1) / 3, 6);
    expect(g[0][1]).toBeCloseTo(sig(-1) / 3, 6);
    expect(g[1][0]).toBe(0);
    const gd = grads[d.name].arraySync() as number[][][];
    // smooth L1 gradient / 3 drawn anchors: d / beta inside |d| < 1/9, sign(d) outside
    expect(gd[0][0][0]).toBeCloseTo((0.1 * 9) / 3, 6);
    expect(gd[0][0][1]).toBeCloseTo(-1 / 3, 6);
    expect(gd[1][1][3]).toBeCloseTo((0.05 * 9) / 3, 6);
    expect(gd[1][0][1]).toBe(0); // anchor not drawn
    tf.dispose([value, x, d, ...Object.values(grads)]);
  });

  it('does not leak tensors, and checks its arguments', () => {
    const x = tf.tensor1d([0.5, -1]);
    const d = tf.zeros([2, 4]);
    const before = tf.memory().numTensors;
    const l = rpnLosses(x, d, [1, 0], new Float32Array(8));
    tf.dispose([l.loss_objectness, l.loss_rpn_box_reg]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const r = rpnLosses(a, b, [1, 0], new Float32Array(8));
      return tf.add(r.loss_objectness, r.loss_rpn_box_reg);
    })([x, d]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => rpnLosses(x, tf.zeros([2, 3]), [1, 0], new Float32Array(8))).toThrow('Error in rpnLosses: predDeltas must be [T, 4] with T = 2');
    expect(() => rpnLosses(x, d, [1], new Float32Array(8))).toThrow('Error in rpnLosses: labels must have 2 entries');
    expect(() => rpnLosses(x, d, [1, 2], new Float32Array(8))).toThrow('Error in rpnLosses: labels[1] must be 1, 0 or -1, got 2');
    expect(() => rpnLosses(x, d, [1, 0], new Float32Array(4))).toThrow('Error in rpnLosses: regressionTargets must have 8 entries');
    tf.dispose([x, d]);
  });
});
