import * as tf from '@tensorflow/tfjs';
import { torchShape } from '../../src/nn/torch_layer';
import { RPNHead } from '../../src/rpn/rpn_head';
import { describeEachBackend } from '../support/backends';
import { decodeF32, loadTorchState, maxAbs, maxRelError, readFixture, type TensorB64 } from './fixture_io';

interface RpnFixture {
  inChannels: number;
  features: Record<string, TensorB64>;
  stateDict: Record<string, TensorB64>;
  objectness: Record<string, TensorB64>;
  deltas: Record<string, TensorB64>;
}
const fx = readFixture<RpnFixture>('rpn.json');
const LEVELS = ['0', '1', '2', '3', 'pool'];

function nhwc(t: TensorB64): tf.Tensor4D {
  return tf.tensor4d(decodeF32(t.nhwc!), t.shape as [number, number, number, number]);
}

describeEachBackend('RPNHead', () => {
  it("has torchvision's state_dict keys and shapes", () => {
    const head = new RPNHead();
    head.ensureBuilt();
    const shapes = Object.fromEntries(
      [...head.stateDict()].map(([k, p]) => [k, torchShape(p.variable.shape as number[], p.layout)]),
    );
    expect(shapes).toEqual({
      'conv.0.0.weight': [256, 256, 3, 3],
      'conv.0.0.bias': [256],
      'cls_logits.weight': [3, 256, 1, 1],
      'cls_logits.bias': [3],
      'bbox_pred.weight': [12, 256, 1, 1],
      'bbox_pred.bias': [12],
    });
    head.dispose();
  });

  it('initialises as torchvision: normal(std 0.01) weights, zero biases', async () => {
    const head = new RPNHead();
    head.ensureBuilt();
    const sd = head.stateDict();
    const w = Array.from(await sd.get('conv.0.0.weight')!.variable.read().data());
    const mean = w.reduce((s, x) => s + x, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(std).toBeGreaterThan(0.0098);
    expect(std).toBeLessThan(0.0102);
    for (const k of ['conv.0.0.bias', 'cls_logits.bias', 'bbox_pred.bias']) {
      expect(maxAbs(await sd.get(k)!.variable.read().data())).toBe(0);
    }
    head.dispose();
  });

  it('matches torchvision per level within 1e-5 relative (fixture weights)', async () => {
    const head = new RPNHead({ inChannels: fx.inChannels });
    head.ensureBuilt();
    loadTorchState(head, fx.stateDict);
    const feats = LEVELS.map((l) => nhwc(fx.features[l]));
    const before = tf.memory().numTensors;
    const { objectness, deltas } = head.forward(feats);
    expect(tf.memory().numTensors).toBe(before + 2 * LEVELS.length);
    for (const [l, level] of LEVELS.entries()) {
      expect(objectness[l].shape).toEqual(fx.objectness[level].shape);
      expect(deltas[l].shape).toEqual(fx.deltas[level].shape);
      const eo = decodeF32(fx.objectness[level].nhwc!);
      const ed = decodeF32(fx.deltas[level].nhwc!);
      expect(maxRelError(await objectness[l].data(), eo, maxAbs(eo))).toBeLessThan(1e-5);
      expect(maxRelError(await deltas[l].data(), ed, maxAbs(ed))).toBeLessThan(1e-5);
    }
    tf.dispose([objectness, deltas]);
    expect(tf.memory().numTensors).toBe(before);
    // the tf.layers entry point gives the same result for one level
    const [o, d] = head.apply(feats[1]) as tf.Tensor[];
    expect(maxRelError(await o.data(), decodeF32(fx.objectness['1'].nhwc!), 1)).toBeLessThan(1e-5);
    expect(d.shape).toEqual(fx.deltas['1'].shape);
    tf.dispose([o, d, feats]);
    head.dispose();
  });

  it('rejects features with the wrong channel count', () => {
    const head = new RPNHead({ inChannels: 8 });
    const bad = tf.zeros([1, 4, 4, 16]) as tf.Tensor4D;
    expect(() => head.forward([bad])).toThrow(/Error in RPNHead.forward: features\[0\] must have shape \[N, H, W, 8\]/);
    expect(() => new RPNHead({ numAnchors: 0 })).toThrow(/numAnchors must be a positive integer/);
    bad.dispose();
    head.dispose();
  });
});
