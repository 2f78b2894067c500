import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../../src/nn/conv2d';
import { FrozenBatchNorm2d } from '../../src/backbone/frozen_batch_norm';
import { TorchLayer } from '../../src/nn/torch_layer';
import { loadStateDict } from '../../src/io/state_dict';
import { loadWeights, saveWeights } from '../../src/io/native_weights';
import { StateDict, TorchTensorData } from '../../src/io/torch_checkpoint';
import { useBackend } from '../support/backends';

/** A tiny two-layer module: conv (keys conv.weight, conv.bias) + frozen BN (bn.*). */
class Tiny extends TorchLayer {
  readonly conv: Conv2d;
  readonly bn: FrozenBatchNorm2d;
  constructor(outChannels = 3) {
    super({});
    this.conv = this.child('conv', new Conv2d({ inChannels: 2, outChannels, kernelSize: 3, padding: 1 }));
    this.bn = this.child('bn', new FrozenBatchNorm2d({ numFeatures: outChannels }));
  }
}

function tensor(shape: number[], f: (i: number) => number): TorchTensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => f(i));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { dtype: 'float32', shape, strides, data, requiresGrad: false, isParameter: false, source: { storageKey: '0', storageOffset: 0, strides } };
}

function tinyStateDict(prefix = ''): StateDict {
  return new Map([
    [`${prefix}conv.weight`, tensor([3, 2, 3, 3], (i) => i)], // torch OIHW
    [`${prefix}conv.bias`, tensor([3], (i) => -i)],
    [`${prefix}bn.weight`, tensor([3], () => 2)],
    [`${prefix}bn.bias`, tensor([3], () => 0.5)],
    [`${prefix}bn.running_mean`, tensor([3], () => 0.1)],
    [`${prefix}bn.running_var`, tensor([3], () => 3)],
    [`${prefix}bn.num_batches_tracked`, { ...tensor([], () => 7), dtype: 'int64', data: new BigInt64Array([7n]) }],
  ]);
}

describe('loadStateDict', () => {
  beforeAll(() => useBackend('cpu'));

  it('maps conv OIHW to HWIO and copies buffers, ignoring num_batches_tracked', () => {
    const m = new Tiny();
    const report = loadStateDict(m, tinyStateDict());
    expect(report.loaded).toHaveLength(6);
    expect(report.unexpected).toEqual([]);
    const w = m.conv.weight.read().arraySync() as number[][][][];
    // torch weight[o][i][y][x] = ((o * 2 + i) * 3 + y) * 3 + x lands at ours[y][x][i][o].
    for (const [o, i, y, x] of [[0, 0, 0, 0], [2, 1, 1, 2], [1, 0, 2, 1]]) {
      expect(w[y][x][i][o]).toBe(((o * 2 + i) * 3 + y) * 3 + x);
    }
    expect(Array.from(m.stateDict().get('bn.running_var')!.variable.read().dataSync())).toEqual([3, 3, 3]);
    m.dispose();
  });

  it('honours a prefix, so a backbone loads from a full-model state dict', () => {
    const m = new Tiny();
    const sd = tinyStateDict('backbone.');
    sd.set('rpn.head.conv.weight', tensor([1], () => 0));
    expect(loadStateDict(m, sd, { prefix: 'backbone.' }).unexpected).toEqual([]);
    m.dispose();
  });

  it('strict mode names missing, unexpected and mis-shaped keys, and loads nothing', () => {
    const m = new Tiny(4);
    const sd = tinyStateDict();
    sd.delete('bn.running_mean');
    sd.set('head.extra', tensor([2], () => 1));
    const before = m.conv.bias!.read().arraySync();
    expect(() => loadStateDict(m, sd, { source: 'model.pth' })).toThrow(
      'Error in loadStateDict: model.pth does not match the model (nothing was loaded): ' +
        'missing keys (1): bn.running_mean; unexpected keys (1): head.extra; ' +
        'mis-shaped keys (5): conv.weight expected [4, 2, 3, 3] but found [3, 2, 3, 3]',
    );
    expect(m.conv.bias!.read().arraySync()).toEqual(before);
    m.dispose();
  });

  it('non-strict mode loads what fits and reports the rest (fine-tuning with other classes)', () => {
    const m = new Tiny(4);
    const r = loadStateDict(m, tinyStateDict(), { strict: false });
    expect(r.loaded).toEqual([]);
    expect(r.mismatched.map((x) => x.key)).toEqual(['conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var']);
    const m3 = new Tiny(3);
    const sd = tinyStateDict();
    sd.delete('conv.bias');
    const r3 = loadStateDict(m3, sd, { strict: false });
    expect(r3.missing).toEqual(['conv.bias']);
    expect(r3.loaded).toHaveLength(5);
    m.dispose();
    m3.dispose();
  });

  it('rejects an integer tensor where a float parameter is expected', () => {
    const m = new Tiny();
    const sd = tinyStateDict();
    sd.set('conv.bias', { ...tensor([3], () => 1), dtype: 'int32', data: new Int32Array(3) });
    expect(() => loadStateDict(m, sd, { source: 'x.pth' })).toThrow('x.pth: conv.bias has dtype int32, expected a floating-point tensor');
    m.dispose();
  });
});

describe('native weights (model.json + shards)', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-native-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips every parameter through file:// without leaking', async () => {
    const a = new Tiny();
    loadStateDict(a, tinyStateDict());
    const before = tf.memory().numTensors;
    const result = await saveWeights(a, `file://${dir}/tiny`, { config: { outChannels: 3 } });
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((54 + 3 + 4 * 3) * 4);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'tiny', 'model.json'), 'utf8'));
    expect(json.format).toBe('maskrcnn-tfjs');
    expect(json.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toContain('bn.running_var');

    const b = new Tiny();
    const info = await loadWeights(b, `file://${dir}/tiny/model.json`);
    expect(info.config).toEqual({ outChannels: 3 });
    for (const [k, p] of a.stateDict()) {
      expect(b.stateDict().get(k)!.variable.read().arraySync()).toEqual(p.variable.read().arraySync());
    }
    expect(tf.memory().numTensors).toBe(before + 6); // b's six variables
    a.dispose();
    b.dispose();
  });

  it('splits large weights into 4 MiB shards and reads them back', async () => {
    const big = new Tiny(60000); // conv weight 60000 * 2 * 3 * 3 floats = 4.3 MB: two shards
    await saveWeights(big, `file://${dir}/big`);
    const shards = fs.readdirSync(path.join(dir, 'big')).filter((f) => f.endsWith('.bin')).sort();
    expect(shards).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    await loadWeights(big, `file://${dir}/big`);
    big.dispose();
  });

  it('refuses files that do not fit the model, and says why', async () => {
    const other = new Tiny(4);
    await expect(loadWeights(other, `file://${dir}/tiny`)).rejects.toThrow(
      /does not match the model \(nothing was loaded\): mis-shaped conv.weight expected \[3, 3, 2, 4\] found \[3, 3, 2, 3\]/,
    );
    await expect(loadWeights(other, `file://${dir}/nowhere`)).rejects.toThrow(/nowhere\/model.json: no such file/);
    fs.mkdirSync(path.join(dir, 'broken'));
    fs.writeFileSync(path.join(dir, 'broken', 'model.json'), '{"format": "maskrcnn-tfjs", "weightsManifest": [{"paths": ["gone.bin"], "weights": []}]}');
    await expect(loadWeights(other, `file://${dir}/broken`)).rejects.toThrow(/weight shard .*gone.bin is missing/);
    other.dispose();
  });
});
