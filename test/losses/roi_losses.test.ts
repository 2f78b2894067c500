import * as tf from '@tensorflow/tfjs';
import { fastRcnnLoss } from '../../src/losses/roi_losses';
import { describeEachBackend } from '../support/backends';
import { Arr, f32, i32, maxRelError, readFixture, relToMax } from '../targets/fixture_io';

interface FastRcnnCase {
  name: string;
  labels: Arr;
  regressionTargets: Arr;
  classLogits: Arr;
  boxRegression: Arr;
  lossClassifier: number;
  lossBoxReg: number;
  gradClassLogits: Arr;
  gradBoxRegression: Arr;
}

const fixture = readFixture<{ loss: FastRcnnCase[] }>('roi_targets.json');

function run(logits: tf.Tensor2D, boxes: tf.Tensor2D, labels: ArrayLike<number>, targets: ArrayLike<number>) {
  const v = fastRcnnLoss(logits, boxes, labels, targets);
  const gCls = tf.grad((x: tf.Tensor) => fastRcnnLoss(x as tf.Tensor2D, boxes, labels, targets).loss_classifier)(logits);
  const gBox = tf.grad((x: tf.Tensor) => fastRcnnLoss(logits, x as tf.Tensor2D, labels, targets).loss_box_reg)(boxes);
  const out = {
    cls: v.loss_classifier.dataSync()[0],
    box: v.loss_box_reg.dataSync()[0],
    gCls: gCls.dataSync().slice(),
    gBox: gBox.dataSync().slice(),
  };
  tf.dispose([v.loss_classifier, v.loss_box_reg, gCls, gBox]);
  return out;
}

describeEachBackend('fastRcnnLoss vs torchvision fastrcnn_loss', () => {
  for (const c of fixture.loss) {
    it(`${c.name}: values within 1e-5, gradients within 1e-4`, () => {
      const logits = tf.tensor2d(f32(c.classLogits), c.classLogits.shape as [number, number]);
      const boxes = tf.tensor2d(f32(c.boxRegression), c.boxRegression.shape as [number, number]);
      const r = run(logits, boxes, i32(c.labels), f32(c.regressionTargets));
      const eCls = maxRelError([r.cls], [c.lossClassifier]);
      const eBox = c.lossBoxReg === 0 ? Math.abs(r.box) : maxRelError([r.box], [c.lossBoxReg]);
      const gCls = relToMax(r.gCls, f32(c.gradClassLogits));
      const gBox = relToMax(r.gBox, f32(c.gradBoxRegression));
      console.log(
        `fastrcnn ${c.name} [${tf.getBackend()}]: classifier ${r.cls} (rel err ${eCls.toExponential(2)}), box ${r.box} ` +
          `(err ${eBox.toExponential(2)}); grad rel err ${gCls.toExponential(2)} / ${gBox.toExponential(2)}`,
      );
      expect(eCls).toBeLessThanOrEqual(1e-5);
      expect(eBox).toBeLessThanOrEqual(1e-5);
      expect(gCls).toBeLessThanOrEqual(1e-4);
      expect(gBox).toBeLessThanOrEqual(1e-4);
      tf.dispose([logits, boxes]);
    });
  }

  it('uses only the label class deltas of positives, normalised by all samples', () => {
    // 2 samples, K = 2: sample 0 positive (class 1), sample 1 background.
    const logits = tf.tensor2d([[0, 0], [0, 0]]);
    const boxes = tf.tensor2d([[9, 9, 9, 9, 1, 0, 0, 0], [5, 5, 5, 5, 5, 5, 5, 5]]);
    const r = run(logits, boxes, [1, 0], new Float32Array(8));
    expect(r.cls).toBeCloseTo(Math.log(2), 6);
    expect(r.box).toBeCloseTo((1 - 0.5 / 9) / 2, 6);
    expect(Array.from(r.gBox, (v) => v + 0)).toEqual([0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([logits, boxes]);
  });

  it('gives finite zeros with a defined gradient for zero samples', () => {
    const logits = tf.zeros([0, 3]) as tf.Tensor2D;
    const boxes = tf.zeros([0, 12]) as tf.Tensor2D;
    const r = run(logits, boxes, [], []);
    expect([r.cls, r.box]).toEqual([0, 0]);
    expect(r.gCls.length).toBe(0);
    tf.dispose([logits, boxes]);
  });

  it('ignores non-finite targets of background rows; does not leak; checks arguments', () => {
    const logits = tf.tensor2d([[0.2, 1], [0.5, -1]]);
    const boxes = tf.tensor2d([[0, 0, 0, 0, 0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1, 1, 1, 1, 1]]);
    const clean = run(logits, boxes, [1, 0], new Float32Array(8));
    const before = tf.memory().numTensors;
    const dirty = run(logits, boxes, [1, 0], Float32Array.of(0, 0, 0, 0, -Infinity, NaN, 0, 0));
    expect(tf.memory().numTensors).toBe(before);
    expect(dirty).toEqual(clean);
    expect(() => fastRcnnLoss(logits, boxes, [2, 0], new Float32Array(8))).toThrow('Error in fastRcnnLoss: labels[0] must be an integer in [0, 2), got 2');
    expect(() => fastRcnnLoss(logits, tf.zeros([2, 4]) as tf.Tensor2D, [1, 0], new Float32Array(8))).toThrow(
      'Error in fastRcnnLoss: boxRegression must be [S, 4 * K] = [2, 8], got [2,4]',
    );
    expect(() => fastRcnnLoss(logits, boxes, [1, 0], new Float32Array(4))).toThrow('regressionTargets must have 8 entries');
    tf.dispose([logits, boxes]);
  });
});
