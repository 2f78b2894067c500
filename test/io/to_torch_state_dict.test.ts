/**
 * Our weights as torchvision's state dict: the keys, order and shapes torchvision 0.14's
 * maskrcnn_resnet50_fpn has (test/fixtures/torchvision, from tools/parity/dump_state_dict_keys.py),
 * PyTorch layout, loadStateDict's exact inverse, and no tensor left behind.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { MaskRCNNModel } from '../../src/api/model';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { TorchLayer, withoutInitialization } from '../../src/nn/torch_layer';
import { Conv2d } from '../../src/nn/conv2d';
import { FrozenBatchNorm2d } from '../../src/backbone/frozen_batch_norm';
import { BoxHead } from '../../src/heads/box_head';
import { MaskPredictor } from '../../src/heads/mask_predictor';
import { loadStateDict, toTorchStateDict } from '../../src/io/state_dict';
import { readTorchStateDictSync } from '../../src/io/torch_checkpoint';
import { describeEachBackend, useBackend } from '../support/backends';

const TORCHVISION_KEYS = path.join(__dirname, '..', 'fixtures', 'torchvision', 'maskrcnn_resnet50_fpn.keys.json');

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

// Whole models run on wasm: under jest the cpu backend takes minutes to transpose a ResNet.
describe('toTorchStateDict keys', () => {
  beforeAll(() => useBackend('wasm'));

  it("has torchvision's keys, order and shapes for maskrcnn_resnet50_fpn", async () => {
    const expected = JSON.parse(fs.readFileSync(TORCHVISION_KEYS, 'utf8')) as Record<string, number[]>;
    const network = withoutInitialization(() => new MaskRCNN({}));
    try {
      // torchvision's randomly initialised model has nn.BatchNorm2d, with num_batches_tracked.
      const withCounters = await toTorchStateDict(network, { numBatchesTracked: true });
      expect([...withCounters].map(([k, t]) => [k, t.shape])).toEqual(Object.entries(expected));
      expect(withCounters.get('backbone.body.bn1.num_batches_tracked')).toMatchObject({ dtype: 'int64', shape: [], data: new BigInt64Array([0n]) });
      // The published checkpoints' FrozenBatchNorm2d has none.
      const frozen = await toTorchStateDict(network);
      expect([...frozen.keys()]).toEqual(Object.keys(expected).filter((k) => !k.endsWith('num_batches_tracked')));
      const prefixed = await toTorchStateDict(network.roiHeads, { prefix: 'roi_heads.' });
      expect([...prefixed.keys()]).toEqual([...frozen.keys()].filter((k) => k.startsWith('roi_heads.')));
    } finally {
      network.dispose();
    }
  });
});

/** One layer of each layout: conv, frozen batch norm, linear (box head), conv_transpose (mask predictor). */
class Tiny extends TorchLayer {
  constructor() {
    super({});
    this.child('conv', new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1 }));
    this.child('bn', new FrozenBatchNorm2d({ numFeatures: 3 }));
    this.child('head', new BoxHead({ inChannels: 3, resolution: 2, representationSize: 5 }));
    this.child('mask', new MaskPredictor({ inChannels: 3, dimReduced: 4, numClasses: 2 }));
  }
}

function randomTiny(seed: number): Tiny {
  const t = withoutInitialization(() => new Tiny());
  let i = 0;
  for (const p of t.stateDict().values()) p.variable.write(tf.tidy(() => tf.randomNormal(p.variable.shape as number[], 0, 1, 'float32', seed + i++)));
  return t;
}

describeEachBackend('toTorchStateDict values', () => {
  it('is the inverse of loadStateDict, bit for bit, and copies the values', async () => {
    const a = randomTiny(5);
    const b = withoutInitialization(() => new Tiny());
    try {
      const sd = await toTorchStateDict(a);
      expect([...sd].map(([k, t]) => [k, t.shape])).toEqual([
        ['conv.weight', [3, 2, 3, 3]], ['conv.bias', [3]],
        ['bn.weight', [3]], ['bn.bias', [3]], ['bn.running_mean', [3]], ['bn.running_var', [3]],
        ['head.fc6.weight', [5, 12]], ['head.fc6.bias', [5]], ['head.fc7.weight', [5, 5]], ['head.fc7.bias', [5]],
        ['mask.conv5_mask.weight', [3, 4, 2, 2]], ['mask.conv5_mask.bias', [4]],
        ['mask.mask_fcn_logits.weight', [2, 4, 1, 1]], ['mask.mask_fcn_logits.bias', [2]],
      ]);
      const params = a.stateDict();
      const value = (key: string) => params.get(key)!.variable.read().arraySync() as number[][][][];
      // conv OIHW: torch [o][i][y][x] is ours [y][x][i][o].
      expect(sd.get('conv.weight')!.data[((2 * 2 + 1) * 3 + 0) * 3 + 2]).toBe(value('conv.weight')[0][2][1][2]);
      // linear [out, in]: torch [o][i] is ours [i][o].
      expect(sd.get('head.fc6.weight')!.data[3 * 12 + 7]).toBe((value('head.fc6.weight') as unknown as number[][])[7][3]);
      // conv_transpose torch [in, out, kh, kw] is ours [kh, kw, out, in].
      expect(sd.get('mask.conv5_mask.weight')!.data[((1 * 4 + 3) * 2 + 0) * 2 + 1]).toBe(value('mask.conv5_mask.weight')[0][1][3][1]);
      expect(loadStateDict(b, sd).loaded).toHaveLength(14);
      const again = await toTorchStateDict(b);
      for (const [k, t] of sd) expect({ k, same: bytesOf(again.get(k)!.data).equals(bytesOf(t.data)) }).toEqual({ k, same: true });
      // The arrays are copies: changing them does not change the model.
      const before = Array.from(b.stateDict().get('bn.bias')!.variable.read().dataSync());
      (again.get('bn.bias')!.data as Float32Array).fill(42);
      expect(Array.from(b.stateDict().get('bn.bias')!.variable.read().dataSync())).toEqual(before);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('leaves no tensor behind', async () => {
    const tiny = randomTiny(7);
    try {
      await toTorchStateDict(tiny); // warm-up: backends allocate their own tensors once
      const before = tf.memory().numTensors;
      await toTorchStateDict(tiny, { numBatchesTracked: true });
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      tiny.dispose();
    }
  });
});

describe('MaskRCNNModel.saveTorch', () => {
  beforeAll(() => useBackend('wasm'));

  it('writes what toTorchStateDict gives, leaves no tensor behind and checks its options', async () => {
    const config = { depth: 18 as const, fpnChannels: 16, representationSize: 32, maskLayers: [8, 8], maskDimReduced: 8, numClasses: 3 };
    const network = withoutInitialization(() => new MaskRCNN(config));
    const model = new MaskRCNNModel(network, ['bg', 'a', 'b'], undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-save-torch-'));
    try {
      await toTorchStateDict(network); // warm-up: backends allocate their own tensors once
      const before = tf.memory().numTensors;
      const result = await model.saveTorch(path.join(dir, 'm.pth'));
      expect(tf.memory().numTensors).toBe(before);
      expect(result.tensors).toBe(network.stateDict().size);
      const back = readTorchStateDictSync(result.path);
      const direct = await toTorchStateDict(network);
      for (const [k, t] of direct) expect({ k, same: bytesOf(back.get(k)!.data).equals(bytesOf(t.data)) }).toEqual({ k, same: true });
      await expect(model.saveTorch(path.join(dir, 'x.pth'), { quantization: 'float16' } as never)).rejects.toThrow(
        "Error in saveTorch: unknown option 'quantization'; valid options are numBatchesTracked, prefix",
      );
      model.dispose();
      await expect(model.saveTorch(path.join(dir, 'y.pth'))).rejects.toThrow('Error in saveTorch: this MaskRCNNModel was disposed');
    } finally {
      model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
