import * as tf from '@tensorflow/tfjs';
import { boxIou } from '../../src/boxes/box_iou';
import { pairwiseIou } from '../../src/targets/pairwise_iou';
import { Rng } from '../../src/util/random';
import { describeEachBackend } from '../support/backends';

function randomBoxes(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x = rng.uniform(-20, 200);
    const y = rng.uniform(-20, 150);
    const kind = rng.int(0, 10);
    // mostly ordinary boxes; some empty (zero width or height), some tiny, some inverted
    const w = kind === 0 ? 0 : kind === 1 ? rng.uniform(0, 1e-3) : kind === 2 ? -rng.uniform(0, 5) : rng.uniform(1, 120);
    const h = kind === 3 ? 0 : rng.uniform(0.5, 90);
    out.set([x, y, x + w, y + h], 4 * i);
  }
  return out;
}

describeEachBackend('pairwiseIou equals src/boxes boxIou bit for bit', () => {
  it('on ordinary, empty, tiny and inverted boxes', () => {
    const rng = new Rng(21);
    const gt = randomBoxes(13, rng);
    const pred = randomBoxes(700, rng);
    // duplicate a few boxes and add two empty boxes that meet each other (NaN in torchvision)
    const gtAll = new Float32Array([...gt, ...pred.subarray(0, 8), 5, 5, 5, 5]);
    const predAll = new Float32Array([...pred, 5, 5, 5, 5]);
    const want = tf.tidy(() => boxIou(tf.tensor2d(gtAll, [gtAll.length / 4, 4]), tf.tensor2d(predAll, [predAll.length / 4, 4])).dataSync());
    const got = pairwiseIou(gtAll, predAll);
    expect(got.length).toBe(want.length);
    let differ = 0;
    let nan = 0;
    for (let i = 0; i < got.length; i++) {
      if (Number.isNaN(want[i])) nan++;
      if (!Object.is(got[i] + 0, want[i] + 0) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) differ++;
    }
    expect(nan).toBeGreaterThan(0);
    expect(differ).toBe(0);
  });

  it('handles empty sides', () => {
    expect(pairwiseIou(new Float32Array(0), new Float32Array(8)).length).toBe(0);
    expect(pairwiseIou(new Float32Array(4), new Float32Array(0)).length).toBe(0);
  });
});
