import * as tf from '@tensorflow/tfjs';
import { BackboneWithFpn } from '../../src/backbone/backbone_with_fpn';
import { FrozenBatchNorm2d } from '../../src/backbone/frozen_batch_norm';
import { ResNetBody } from '../../src/backbone/resnet';
import { torchShape, withoutInitialization } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';
import r50Keys from '../fixtures/torchvision/maskrcnn_resnet50_fpn.keys.json';
import r101Keys from '../fixtures/torchvision/resnet101_fpn_backbone.keys.json';

/** torchvision keys under `prefix`, without BatchNorm2d's num_batches_tracked counters. */
function torchvisionKeys(all: Record<string, number[]>, prefix: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, shape] of Object.entries(all)) {
    if (k.startsWith(prefix) && !k.endsWith('num_batches_tracked')) out.set(k.slice(prefix.length), shape);
  }
  return out;
}

function ourKeys(layer: BackboneWithFpn): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, p] of layer.stateDict()) out.set(k, torchShape(p.variable.shape as number[], p.layout));
  return out;
}

describe('backbone structure', () => {
  beforeAll(() => useBackend('wasm'));

  it('ResNet-50 + FPN has exactly torchvision\'s backbone keys and shapes', () => {
    const backbone = withoutInitialization(() => new BackboneWithFpn({ depth: 50 })); // keys and shapes only
    const expected = torchvisionKeys(r50Keys, 'backbone.');
    expect(expected.size).toBe(281);
    expect(Object.fromEntries(ourKeys(backbone))).toEqual(Object.fromEntries(expected));
    backbone.dispose();
  });

  it('ResNet-101 comes from the same code with other block counts', () => {
    const backbone = withoutInitialization(() => new BackboneWithFpn({ depth: 101 }));
    const expected = torchvisionKeys(r101Keys, '');
    expect(Object.fromEntries(ourKeys(backbone))).toEqual(Object.fromEntries(expected));
    expect([...backbone.stateDict().keys()].filter((k) => /^body\.layer3\.\d+\.conv1\.weight$/.test(k))).toHaveLength(23);
    backbone.dispose();
  });

  it('ResNet-18 and -34 are basic blocks: two 3x3 convs, a projection only where the shape changes', () => {
    const r18 = withoutInitialization(() => new ResNetBody({ depth: 18 }));
    const keys = [...r18.stateDict().keys()];
    expect(r18.outChannels).toEqual([64, 128, 256, 512]);
    expect(keys.filter((k) => k.endsWith('conv1.weight') && k.startsWith('layer'))).toHaveLength(8);
    expect(keys.some((k) => k.includes('conv3'))).toBe(false);
    // torchvision's _make_layer: layer1 keeps 64 channels at stride 1, so no downsample there.
    expect(keys.filter((k) => k.endsWith('downsample.0.weight'))).toEqual(['layer2.0.downsample.0.weight', 'layer3.0.downsample.0.weight', 'layer4.0.downsample.0.weight']);
    expect(r18.stateDict().get('layer2.0.conv1.weight')!.variable.shape).toEqual([3, 3, 64, 128]);
    r18.dispose();
    const r34 = withoutInitialization(() => new ResNetBody({ depth: 34 }));
    expect([...r34.stateDict().keys()].filter((k) => /^layer3\.\d+\.conv1\.weight$/.test(k))).toHaveLength(6);
    r34.dispose();
  });

  it('rejects an unknown depth and a bad trainableLayers', () => {
    expect(() => new ResNetBody({ depth: 42 as 50 })).toThrow('depth must be one of 18, 34, 50, 101, got 42');
    const before = tf.memory().numTensors;
    expect(() => new ResNetBody({ trainableLayers: 6 })).toThrow('trainableLayers must be an integer in 0..5, got 6');
    expect(tf.memory().numTensors).toBe(before); // refused before any weight is made
  });

  it('freezes conv1 and layer1 by default (torchvision trainable_backbone_layers = 3), and no batch norm ever trains', () => {
    const body = withoutInitialization(() => new ResNetBody());
    const trainable = new Set(body.trainableWeights);
    const names = [...body.stateDict()].filter(([, p]) => trainable.has(p.variable)).map(([k]) => k);
    expect(names.some((k) => k.startsWith('conv1') || k.startsWith('layer1.'))).toBe(false);
    expect(names.some((k) => k.startsWith('layer2.'))).toBe(true);
    expect(names.every((k) => /conv\d\.weight$|downsample\.0\.weight$/.test(k))).toBe(true);
    body.setTrainableLayers(5);
    expect(new Set(body.trainableWeights).size).toBe(53); // every conv of ResNet-50
    body.setTrainableLayers(0);
    expect(body.trainableWeights).toHaveLength(0);
    body.dispose();
  });

  it('FrozenBatchNorm2d applies weight * (x - mean) / sqrt(var + 1e-5) + bias and has no trainable weights', () => {
    const bn = new FrozenBatchNorm2d({ numFeatures: 2 });
    const sd = bn.stateDict();
    sd.get('weight')!.variable.write(tf.tensor1d([2, 0.5]));
    sd.get('bias')!.variable.write(tf.tensor1d([1, -1]));
    sd.get('running_mean')!.variable.write(tf.tensor1d([3, -2]));
    sd.get('running_var')!.variable.write(tf.tensor1d([4, 0.25]));
    const x = tf.tensor4d([5, 0, -1, 2], [1, 2, 1, 2]);
    const y = bn.forward(x);
    const expected = [
      2 * (5 - 3) / Math.sqrt(4 + 1e-5) + 1,
      0.5 * (0 + 2) / Math.sqrt(0.25 + 1e-5) - 1,
      2 * (-1 - 3) / Math.sqrt(4 + 1e-5) + 1,
      0.5 * (2 + 2) / Math.sqrt(0.25 + 1e-5) - 1,
    ];
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(bn.trainableWeights).toHaveLength(0);
    expect([...sd.values()].map((p) => p.variable.trainable)).toEqual([false, false, false, false]);
    // Unfreezing the layer (as a user might with layer.trainable = true) still leaves the
    // statistics frozen: they are buffers, not parameters.
    bn.trainable = true;
    expect(bn.trainableWeights).toHaveLength(0);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('works inside the Layers API: a tf.model built on the body gives the same outputs as forward()', () => {
    const backbone = new BackboneWithFpn();
    const input = tf.input({ shape: [64, 96, 3] });
    const outputs = backbone.apply(input) as tf.SymbolicTensor[];
    expect(outputs.map((o) => o.shape)).toEqual([
      [null, 16, 24, 256],
      [null, 8, 12, 256],
      [null, 4, 6, 256],
      [null, 2, 3, 256],
      [null, 1, 2, 256],
    ]);
    const model = tf.model({ inputs: input, outputs });
    expect(model.countParams()).toBeGreaterThan(26e6);
    const x = tf.randomNormal([1, 64, 96, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const viaModel = model.predict(x) as tf.Tensor[];
    const direct = backbone.forward(x);
    (['0', '1', '2', '3', 'pool'] as const).forEach((k, i) => {
      expect(tf.max(tf.abs(tf.sub(viaModel[i], direct[k]))).dataSync()[0]).toBe(0);
    });
    tf.dispose([x, ...viaModel, ...Object.values(direct)]);
    backbone.dispose();
  });

  it('a forward pass leaks no tensors, and odd sizes give torch\'s output sizes', () => {
    const backbone = withoutInitialization(() => new BackboneWithFpn()); // sizes and tensor counts only
    const x = tf.zeros([1, 50, 70, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const f = backbone.forward(x);
    // conv1 7x7/2 p3: 25x35; maxpool 3x3/2 p1: 13x18; then 7x9, 4x5, 2x3; pool 1x2.
    expect([f['0'], f['1'], f['2'], f['3'], f.pool].map((t) => t.shape.slice(1, 3))).toEqual([
      [13, 18],
      [7, 9],
      [4, 5],
      [2, 3],
      [1, 2],
    ]);
    tf.dispose(Object.values(f));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => backbone.forward(tf.zeros([1, 32, 32, 4]) as tf.Tensor4D)).toThrow(
      'Error in ResNetBody: expected images [N, H, W, 3], got [1, 32, 32, 4]',
    );
    x.dispose();
    backbone.dispose();
  });
});
