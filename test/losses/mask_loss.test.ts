import * as tf from '@tensorflow/tfjs';
import { maskRcnnLoss } from '../../src/losses/mask_loss';
import { concatTargets } from '../../src/targets/concat';
import { projectMasksOnBoxes } from '../../src/targets/mask_targets';
import { describeEachBackend } from '../support/backends';
import { Arr, f32, i32, maxAbsDiff, maxRelError, readFixture, relToMax, u8 } from '../targets/fixture_io';

interface MaskLossCase {
  name: string;
  height: number;
  width: number;
  numClasses: number;
  gtMasks: Arr[];
  gtLabels: Arr[];
  proposals: Arr[];
  matchedIdxs: Arr[];
  maskLogits: Arr;
  labels: Arr;
  maskTargets: Arr;
  lossMask: number;
  gradMaskLogits: Arr;
}

const fixture = readFixture<{ loss: MaskLossCase[] }>('mask_targets.json');

function run(logits: tf.Tensor4D, labels: ArrayLike<number>, targets: ArrayLike<number>) {
  const v = maskRcnnLoss(logits, labels, targets);
  const g = tf.grad((x: tf.Tensor) => maskRcnnLoss(x as tf.Tensor4D, labels, targets).loss_mask)(logits);
  const out = { loss: v.loss_mask.dataSync()[0], grad: g.dataSync().slice() };
  tf.dispose([v.loss_mask, g]);
  return out;
}

describeEachBackend('maskRcnnLoss vs torchvision maskrcnn_loss', () => {
  for (const c of fixture.loss) {
    const logitsOf = (): tf.Tensor4D => tf.tensor4d(f32(c.maskLogits), c.maskLogits.shape as [number, number, number, number]);

    it(`${c.name}: value within 1e-5, gradient within 1e-4 (torchvision's targets)`, () => {
      const logits = logitsOf();
      const r = run(logits, i32(c.labels), f32(c.maskTargets));
      const e = maxRelError([r.loss], [c.lossMask]);
      const g = relToMax(r.grad, f32(c.gradMaskLogits));
      console.log(`mask loss ${c.name} [${tf.getBackend()}]: ${r.loss} (rel err ${e.toExponential(2)}), grad rel err ${g.toExponential(2)}`);
      expect(e).toBeLessThanOrEqual(1e-5);
      expect(g).toBeLessThanOrEqual(1e-4);
      // only the label's channel receives gradient
      const [P, M, , K] = logits.shape;
      const labels = i32(c.labels);
      let offChannel = 0;
      for (let p = 0; p < P; p++) {
        for (let i = 0; i < M * M; i++) {
          for (let k = 0; k < K; k++) if (k !== labels[p] && r.grad[(p * M * M + i) * K + k] !== 0) offChannel++;
        }
      }
      expect(offChannel).toBe(0);
      logits.dispose();
    });

    it(`${c.name}: our projected targets give torchvision's loss end to end`, () => {
      const targets = concatTargets(
        c.gtMasks.map((m, i) =>
          projectMasksOnBoxes({ data: u8(m), height: c.height, width: c.width }, f32(c.proposals[i]), i32(c.matchedIdxs[i]), 28),
        ),
      );
      expect(maxAbsDiff(targets, f32(c.maskTargets))).toBeLessThanOrEqual(1e-6);
      const labels = concatTargets(c.gtLabels.map((l, i) => Int32Array.from(i32(c.matchedIdxs[i]), (g) => i32(l)[g])));
      expect(Array.from(labels)).toEqual(Array.from(i32(c.labels)));
      const logits = logitsOf();
      const r = run(logits, labels, targets);
      const e = maxRelError([r.loss], [c.lossMask]);
      const g = relToMax(r.grad, f32(c.gradMaskLogits));
      console.log(`mask pipeline ${c.name} [${tf.getBackend()}]: rel err ${e.toExponential(2)}, grad ${g.toExponential(2)}`);
      expect(e).toBeLessThanOrEqual(1e-5);
      expect(g).toBeLessThanOrEqual(1e-4);
      logits.dispose();
    });
  }

  it('is 0 with a defined gradient when there are no positives (torchvision: sum * 0)', () => {
    const logits = tf.zeros([0, 28, 28, 3]) as tf.Tensor4D;
    const r = run(logits, [], []);
    expect(r.loss).toBe(0);
    expect(r.grad.length).toBe(0);
    logits.dispose();
  });

  it('matches the BCE formula on a hand case with soft targets', () => {
    // 1 positive, 1x1 mask, 2 classes: reads channel 1 (logit 2) against target 0.25.
    const logits = tf.tensor4d([[[[-3, 2]]]]);
    const r = run(logits, [1], [0.25]);
    const sig = 1 / (1 + Math.exp(-2));
    expect(r.loss).toBeCloseTo(-(0.25 * Math.log(sig) + 0.75 * Math.log(1 - sig)), 6);
    expect(r.grad[0]).toBe(0);
    expect(r.grad[1]).toBeCloseTo(sig - 0.25, 6);
    logits.dispose();
  });

  it('does not leak, works under variableGrads, and checks its arguments', () => {
    const v = tf.variable(tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1)) as tf.Variable<tf.Rank.R4>;
    const labels = [2, 1];
    const targets = new Float32Array(32).fill(1);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => maskRcnnLoss(v, labels, targets).loss_mask, [v]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => maskRcnnLoss(v, [3, 0], targets)).toThrow('Error in maskRcnnLoss: labels[0] must be an integer in [0, 3), got 3');
    expect(() => maskRcnnLoss(v, [1], targets)).toThrow('Error in maskRcnnLoss: labels must have 2 entries');
    expect(() => maskRcnnLoss(v, labels, new Float32Array(31))).toThrow('Error in maskRcnnLoss: maskTargets must have 32 entries');
    expect(() => maskRcnnLoss(tf.zeros([2, 4, 3, 3]) as tf.Tensor4D, labels, targets)).toThrow(/must be \[P, M, M, K\]/);
    v.dispose();
  });
});
