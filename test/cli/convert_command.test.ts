/**
 * `maskrcnn convert`: a model folder to a .pth and back bit for bit, the architecture read off
 * the checkpoint, quantized output, never replacing without --force, errors that name the file,
 * and no tensor left behind. A small model with random weights stands in for a trained one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { load, MaskRCNNModel } from '../../src/api/model';
import { runConvert } from '../../src/cli/convert_command';
import { createProgram } from '../../src/cli/main';
import { toTorchStateDict } from '../../src/io/state_dict';
import { readTorchStateDictSync } from '../../src/io/torch_checkpoint';
import { MaskRCNN, MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';

const CONFIG: MaskRCNNConfig = { depth: 18, fpnChannels: 16, representationSize: 32, maskLayers: [8, 8], maskDimReduced: 8, numClasses: 3 };
const NAMES = ['__background__', 'circle', 'square'];

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('maskrcnn convert', () => {
  let dir: string;
  let modelDir: string;
  let network: MaskRCNN;
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const at = (name: string) => path.join(dir, name);
  const convert = (o: Omit<Parameters<typeof runConvert>[0], 'backend'>) => runConvert({ backend: 'wasm', ...o }, log);

  beforeAll(async () => {
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-convert-'));
    // Random weights, one seed per tensor (faster than the seeded initialisers of a ResNet).
    network = withoutInitialization(() => new MaskRCNN({ ...CONFIG, transform: { minSize: 64, maxSize: 96 } }));
    let seed = 1;
    for (const p of network.stateDict().values()) p.variable.write(tf.tidy(() => tf.randomNormal(p.variable.shape as number[], 0, 0.1, 'float32', seed++)));
    modelDir = at('model');
    await new MaskRCNNModel(network, NAMES, undefined).save(`file://${modelDir}`);
  });
  afterAll(() => {
    network.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => lines.splice(0));

  it('converts a model folder to a .pth and back, bit for bit, reading the architecture off the checkpoint', async () => {
    const pth = at('shapes.pth');
    const toTorch = await convert({ input: modelDir, output: pth });
    expect(toTorch).toMatchObject({ from: 'native', to: 'torch', output: pth, tensors: network.stateDict().size, bytes: fs.statSync(pth).size });
    expect(lines).toContain(`converted ${modelDir} (maskrcnn-tfjs model) to ${pth} (torchvision state dict): ${toTorch.tensors} tensors, ${(toTorch.bytes / 1e6).toFixed(1)} MB`);
    const written = readTorchStateDictSync(pth);
    const expected = await toTorchStateDict(network);
    expect([...written.keys()]).toEqual([...expected.keys()]);
    for (const [k, t] of expected) expect({ k, same: bytesOf(written.get(k)!.data).equals(bytesOf(t.data)) }).toEqual({ k, same: true });

    // Back: the .pth holds weights only; --config and --class-names give what it cannot hold.
    const configFile = at('config.json');
    fs.writeFileSync(configFile, JSON.stringify({ transform: { minSize: 64, maxSize: 96 } }));
    const namesFile = at('names.json');
    fs.writeFileSync(namesFile, JSON.stringify(NAMES));
    const back = at('back');
    expect(await convert({ input: pth, output: back, config: configFile, classNames: namesFile })).toMatchObject({ from: 'torch', to: 'native', output: back });
    const json = JSON.parse(fs.readFileSync(path.join(back, 'model.json'), 'utf8'));
    expect(json.modelTopology.config).toEqual({ ...CONFIG, transform: { minSize: 64, maxSize: 96 } });
    expect(json.userDefinedMetadata.classNames).toEqual(NAMES);
    const model = await load(back, { backend: 'wasm' });
    try {
      const ours = network.stateDict();
      for (const [k, p] of model.network.stateDict()) {
        const same = bytesOf(p.variable.read().dataSync()).equals(bytesOf(ours.get(k)!.variable.read().dataSync()));
        expect({ k, same }).toEqual({ k, same: true });
      }
    } finally {
      model.dispose();
    }
  });

  it('writes quantized model folders with --quantize, and .pth counters with --num-batches-tracked', async () => {
    const q = at('quantized');
    await convert({ input: modelDir, output: q, quantize: 'float16' });
    expect(JSON.parse(fs.readFileSync(path.join(q, 'model.json'), 'utf8')).userDefinedMetadata.quantization).toBe('float16');
    const counted = at('counted.pt');
    const r = await convert({ input: path.join(modelDir, 'model.json'), output: counted, numBatchesTracked: true });
    const sd = readTorchStateDictSync(counted);
    expect(sd.get('backbone.body.bn1.num_batches_tracked')).toMatchObject({ dtype: 'int64', shape: [] });
    expect(r.tensors).toBe(sd.size);
    expect(sd.size).toBe(network.stateDict().size + [...sd.keys()].filter((k) => k.endsWith('num_batches_tracked')).length);
  });

  it('never replaces an output without --force, and with --force replaces it whole', async () => {
    const pth = at('taken.pth');
    fs.writeFileSync(pth, 'old');
    await expect(convert({ input: modelDir, output: pth })).rejects.toThrow(`Error in convert: ${pth} exists; pass --force to replace it`);
    expect(fs.readFileSync(pth, 'utf8')).toBe('old');
    await convert({ input: modelDir, output: pth, force: true });
    expect(readTorchStateDictSync(pth).size).toBe(network.stateDict().size);

    const folder = at('taken');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'keep.txt'), 'mine');
    await expect(convert({ input: pth, output: folder })).rejects.toThrow(`Error in convert: ${folder} exists; pass --force to replace it`);
    expect(fs.readdirSync(folder)).toEqual(['keep.txt']);
    await convert({ input: pth, output: folder, force: true });
    expect(fs.readdirSync(folder)).toContain('model.json');
    expect(fs.readdirSync(folder)).not.toContain('keep.txt');
    // No temporary file or folder is left next to the outputs.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses missing and unrecognised inputs and outputs, naming the file, before reading anything', async () => {
    const missing = at('nope.pth');
    await expect(convert({ input: missing, output: at('x') })).rejects.toThrow(`Error in convert: input ${missing} does not exist`);
    const empty = at('empty-folder');
    fs.mkdirSync(empty);
    await expect(convert({ input: empty, output: at('x') })).rejects.toThrow(`Error in convert: input ${empty} is a folder without model.json`);
    const notes = at('notes.txt');
    fs.writeFileSync(notes, 'hello');
    await expect(convert({ input: notes, output: at('x') })).rejects.toThrow(`Error in convert: input ${notes} is neither a .pth / .pt checkpoint nor a model folder`);
    const garbage = at('garbage.pth');
    fs.writeFileSync(garbage, 'not a zip');
    await expect(convert({ input: garbage, output: at('x') })).rejects.toThrow(`Error in convert: ${garbage}: not a zip archive`);
    await expect(convert({ input: modelDir, output: at('x.bin'), to: 'torch' })).rejects.toThrow(`Error in convert: output ${at('x.bin')} must end in .pth or .pt for --to torch`);
    await expect(convert({ input: modelDir, output: at('x.pth'), to: 'native' })).rejects.toThrow(`Error in convert: output ${at('x.pth')} is a file name, but native output is a folder`);
    await expect(convert({ input: modelDir, output: at('x'), to: 'onnx' })).rejects.toThrow("Error in convert: --to is 'onnx'; expected torch or native");
    await expect(convert({ input: modelDir, output: at('x.pth'), quantize: 'float16' })).rejects.toThrow('Error in convert: --quantize applies to native output only');
    await expect(convert({ input: modelDir, output: at('x'), quantize: 'int4' })).rejects.toThrow("Error in convert: --quantize is 'int4'; expected float16 or uint8");
    await expect(convert({ input: modelDir, output: modelDir, force: true })).rejects.toThrow(`Error in convert: output ${modelDir} is the input`);
    await expect(convert({ input: modelDir, output: at('x'), config: notes })).rejects.toThrow(`Error in convert: --config ${notes} is not valid JSON`);
    expect(fs.existsSync(at('x'))).toBe(false);
    expect(fs.existsSync(at('x.pth'))).toBe(false);
  });

  it('runs from the maskrcnn command line and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const out = at('cli.pth');
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await createProgram().parseAsync(['node', 'maskrcnn', 'convert', modelDir, out, '--backend', 'wasm']);
      await createProgram().parseAsync(['node', 'maskrcnn', 'convert', out, at('cli'), '--backend', 'wasm', '--quantize', 'uint8']);
    } finally {
      spy.mockRestore();
    }
    expect(readTorchStateDictSync(out).size).toBe(network.stateDict().size);
    expect(fs.existsSync(path.join(at('cli'), 'model.json'))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
