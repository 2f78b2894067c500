/**
 * Hostile native model files (model.json + shards) loaded into an existing layer:
 * - a shard truncated by 10 bytes (sizes recorded at save time, and a legacy model.json without them);
 * - an overlong shard (bytes appended);
 * - a shard with one flipped byte (sha256 recorded at save time);
 * - a weight spec whose dtype is changed to int32, a spec with another shape, a duplicate spec,
 *   an unknown spec, a malformed shape;
 * - shard paths `../../../../../etc/passwd`, `/etc/passwd`, and a symlink to a file outside the folder;
 * - in-memory artifacts (any IOHandler): short data, and data whose recorded sha256 does not match;
 * - a file:// save read through another handler (as tf.io.http would) with a flipped byte;
 * - quantized saves with corrupt quantization fields (unknown dtype, negative, missing or
 *   non-finite scale or min, a range beyond float32, quantization on an int32 spec or null,
 *   a quantization field removed from or added to a spec).
 * Each must fail with an error naming the file and what is wrong, leave the layer's weights as they
 * were, leak no tensor and modify no file; the untouched files must still load.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { NodeFileHandler } from '../../src/io/file_handler';
import { applyWeightsArtifacts, loadWeights, saveWeights } from '../../src/io/native_weights';
import { Conv2d } from '../../src/nn/conv2d';
import { FrozenBatchNorm2d } from '../../src/backbone/frozen_batch_norm';
import { TorchLayer } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';

class Tiny extends TorchLayer {
  constructor() {
    super({});
    this.child('conv', new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1 }));
    this.child('bn', new FrozenBatchNorm2d({ numFeatures: 3 }));
  }
}

type Spec = { name: string; shape: number[]; dtype: string; quantization?: Record<string, unknown> | null };
type ModelJson = {
  weightsManifest: { paths: string[]; weights: Spec[] }[];
  userDefinedMetadata: Record<string, unknown>;
};

describe('hostile native weights', () => {
  let dir: string;
  let good: string; // folder of a good save
  let target: Tiny; // the layer every hostile file is loaded into
  let before: number[][]; // its weights before any load

  const values = (l: TorchLayer): number[][] => [...l.stateDict().values()].map((p) => Array.from(p.variable.read().dataSync()));
  const digest = (folder: string): string =>
    fs
      .readdirSync(folder)
      .sort()
      .map((f) => `${f}:${crypto.createHash('sha256').update(fs.readFileSync(path.join(folder, f))).digest('hex')}`)
      .join('\n');

  /** A copy of the good save, altered by `edit` (which gets the folder and the parsed model.json). */
  function variant(name: string, edit: (folder: string, json: ModelJson) => void, base = good): string {
    const folder = path.join(dir, name);
    fs.cpSync(base, folder, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8')) as ModelJson;
    edit(folder, json);
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
    return folder;
  }

  /** Loads `folder` into the target: must reject with `message`, change no weight, leak nothing, write nothing. */
  async function expectRefused(folder: string, message: RegExp): Promise<void> {
    const files = digest(folder);
    const n = tf.memory().numTensors;
    await expect(loadWeights(target, `file://${folder}`)).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(n);
    expect(values(target)).toEqual(before);
    expect(digest(folder)).toBe(files);
  }

  beforeAll(async () => {
    await useBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-hostile-weights-'));
    const source = new Tiny();
    for (const [k, p] of source.stateDict()) {
      const v = tf.tidy(() => tf.randomUniform(p.variable.shape as number[], 1, 2, 'float32', k.length));
      p.variable.write(v);
      v.dispose();
    }
    good = path.join(dir, 'good');
    await saveWeights(source, `file://${good}`);
    source.dispose();
    target = new Tiny();
    before = values(target);
  });

  afterAll(() => {
    target.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records each shard size and sha256 in model.json, and the good save loads', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(good, 'model.json'), 'utf8')) as ModelJson;
    const shard = fs.readFileSync(path.join(good, 'group1-shard1of1.bin'));
    expect(json.userDefinedMetadata.weightsShards).toEqual([
      { path: 'group1-shard1of1.bin', bytes: shard.byteLength, sha256: crypto.createHash('sha256').update(shard).digest('hex') },
    ]);
    const other = new Tiny();
    await loadWeights(other, `file://${good}`);
    expect(values(other)).not.toEqual(before);
    other.dispose();
  });

  it('a truncated shard names the file and both sizes', async () => {
    const shard = path.join(dir, 'short', 'group1-shard1of1.bin');
    const folder = variant('short', (f) => fs.truncateSync(path.join(f, 'group1-shard1of1.bin'), 250));
    await expectRefused(folder, new RegExp(`weight shard ${shard} has 250 bytes, expected 276 \\(truncated\\)`));
  });

  it('a truncated shard of a model.json without recorded sizes names the file and what the specs need', async () => {
    const folder = variant('short-legacy', (f, json) => {
      delete json.userDefinedMetadata.weightsShards;
      fs.truncateSync(path.join(f, 'group1-shard1of1.bin'), 250);
    });
    await expectRefused(folder, /weight shard .*short-legacy\/group1-shard1of1\.bin \(250 bytes\) holds 250 bytes but the manifest's weight specs need 276 bytes \(truncated\)/);
  });

  it('an overlong shard is an error too', async () => {
    const folder = variant('long', (f) => fs.appendFileSync(path.join(f, 'group1-shard1of1.bin'), Buffer.alloc(8)));
    await expectRefused(folder, /weight shard .*long\/group1-shard1of1\.bin has 284 bytes, expected 276 \(overlong\)/);
    const legacy = variant('long-legacy', (f, json) => {
      delete json.userDefinedMetadata.weightsShards;
      fs.appendFileSync(path.join(f, 'group1-shard1of1.bin'), Buffer.alloc(8));
    });
    await expectRefused(legacy, /long-legacy\/group1-shard1of1\.bin \(284 bytes\) holds 284 bytes but the manifest's weight specs need 276 bytes \(overlong\)/);
  });

  it('a flipped byte fails the recorded sha256, naming the shard', async () => {
    const folder = variant('flipped', (f) => {
      const file = path.join(f, 'group1-shard1of1.bin');
      const b = fs.readFileSync(file);
      b[100] ^= 0x01;
      fs.writeFileSync(file, b);
    });
    await expectRefused(folder, /flipped: weight shard group1-shard1of1\.bin is corrupt \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/);
  });

  it('spec changes are caught before any weight is written', async () => {
    const spec = (json: ModelJson, name: string): { name: string; shape: number[]; dtype: string } =>
      json.weightsManifest[0].weights.find((w) => w.name === name)!;
    const cases: [string, (json: ModelJson) => void, RegExp][] = [
      // conv.weight comes first in the data: before, it was written, then bn.* failed.
      ['int32', (j) => (spec(j, 'conv.weight').dtype = 'int32'), /does not match the model \(nothing was loaded\): wrong dtype conv.weight expected float32 found int32/],
      ['reshaped', (j) => (spec(j, 'conv.weight').shape = [3, 3, 3, 2]), /mis-shaped conv.weight expected \[3, 3, 2, 3\] found \[3, 3, 3, 2\]/],
      ['renamed', (j) => (spec(j, 'bn.bias').name = 'bn.other'), /missing bn.bias; unexpected bn.other/],
      ['duplicate', (j) => (spec(j, 'bn.bias').name = 'bn.weight'), /missing bn.bias; duplicate bn.weight/],
      ['bad-shape', (j) => (spec(j, 'bn.bias').shape = [-3]), /weight spec 'bn.bias' has shape \[-3\]; expected an array of non-negative integers/],
    ];
    for (const [name, edit, message] of cases) await expectRefused(variant(name, (_, j) => edit(j)), message);
  });

  it('shard paths cannot leave the model folder', async () => {
    const outside = path.join(dir, 'outside.bin');
    fs.writeFileSync(outside, fs.readFileSync(path.join(good, 'group1-shard1of1.bin')));
    const cases: [string, (f: string, json: ModelJson) => void, RegExp][] = [
      ['dotdot', (_, j) => (j.weightsManifest[0].paths = ['../../../../../etc/passwd']), /dotdot\/model\.json: weight shard path '\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' points outside the model folder/],
      ['dotdot-sibling', (_, j) => (j.weightsManifest[0].paths = ['../outside.bin']), /weight shard path '\.\.\/outside\.bin' points outside the model folder/],
      ['absolute', (_, j) => (j.weightsManifest[0].paths = [outside]), /absolute\/model\.json: weight shard path '.*outside\.bin' points outside the model folder/],
      [
        'symlink',
        (f, j) => {
          fs.symlinkSync(outside, path.join(f, 'link.bin'));
          j.weightsManifest[0].paths = ['link.bin'];
          delete j.userDefinedMetadata.weightsShards;
        },
        /symlink\/model\.json: weight shard path 'link\.bin' links to .*outside\.bin, outside the model folder/,
      ],
    ];
    for (const [name, edit, message] of cases) await expectRefused(variant(name, edit), message);
  });

  it('a legacy model.json split over two shards still loads; a short one lists both files', async () => {
    const whole = fs.readFileSync(path.join(good, 'group1-shard1of1.bin'));
    const split = variant('split', (f, j) => {
      fs.rmSync(path.join(f, 'group1-shard1of1.bin'));
      fs.writeFileSync(path.join(f, 'a.bin'), whole.subarray(0, 100));
      fs.writeFileSync(path.join(f, 'b.bin'), whole.subarray(100));
      j.weightsManifest[0].paths = ['a.bin', 'b.bin'];
      delete j.userDefinedMetadata.weightsShards;
    });
    const other = new Tiny();
    await loadWeights(other, `file://${split}`);
    const reference = new Tiny();
    await loadWeights(reference, `file://${good}`);
    expect(values(other)).toEqual(values(reference));
    other.dispose();
    reference.dispose();
    fs.truncateSync(path.join(split, 'b.bin'), 100);
    await expectRefused(split, /weight shards .*split\/a\.bin \(100 bytes\), .*split\/b\.bin \(100 bytes\) hold 200 bytes but the manifest's weight specs need 276 bytes/);
  });

  it('artifacts from any IOHandler: sizes always, sha256 where the save recorded it', async () => {
    let saved: tf.io.ModelArtifacts | undefined;
    const source = new Tiny();
    await saveWeights(source, tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }));
    source.dispose();
    const art = saved!;
    const integrity = (art.userDefinedMetadata as Record<string, { bytes: number; sha256: string }>).weightsIntegrity;
    expect(integrity.bytes).toBe(276);
    const data = art.weightData as ArrayBuffer;
    const n = tf.memory().numTensors;
    const short = { ...art, weightData: data.slice(0, 200) };
    expect(() => applyWeightsArtifacts(target, short, 'memory model')).toThrow(/memory model: the weight data has 200 bytes but its weight specs need 276 \(truncated\)/);
    const flipped = new Uint8Array(data.slice(0));
    flipped[7] ^= 0x80;
    expect(() => applyWeightsArtifacts(target, { ...art, weightData: flipped.buffer }, 'memory model')).toThrow(/memory model: the weight data is corrupt/);
    const int32 = { ...art, weightSpecs: art.weightSpecs!.map((s) => (s.name === 'conv.weight' ? { ...s, dtype: 'int32' as const } : s)) };
    expect(() => applyWeightsArtifacts(target, int32, 'memory model')).toThrow(/wrong dtype conv.weight expected float32 found int32/);
    await expect(loadWeights(target, tf.io.fromMemory({ ...art, weightData: data.slice(0, 200) }))).rejects.toThrow(/the given handler: the weight data has 200 bytes/);
    expect(tf.memory().numTensors).toBe(n);
    expect(values(target)).toEqual(before);
    // The untouched artifacts load.
    applyWeightsArtifacts(target, art, 'memory model');
    expect(values(target)).not.toEqual(before);
    expect(tf.memory().numTensors).toBe(n);
  });

  it('a file:// save read through another handler checks the recorded shard hashes, naming the shard', async () => {
    const art = await new NodeFileHandler(good).load(); // what tf.io.http would hand back
    const flipped = new Uint8Array((art.weightData as ArrayBuffer).slice(0));
    flipped[5] ^= 0x10;
    const was = values(target);
    const n = tf.memory().numTensors;
    await expect(loadWeights(target, tf.io.fromMemory({ ...art, weightData: flipped.buffer }))).rejects.toThrow(
      /the given handler: weight shard group1-shard1of1\.bin is corrupt \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/,
    );
    expect(tf.memory().numTensors).toBe(n);
    expect(values(target)).toEqual(was);
  });

  it('corrupt quantization fields are refused before any weight is written, naming the weight', async () => {
    before = values(target); // the tests above loaded good artifacts into it
    const source = new Tiny();
    for (const [k, p] of source.stateDict()) {
      const v = tf.tidy(() => tf.randomUniform(p.variable.shape as number[], -1, 1, 'float32', k.length + 7));
      p.variable.write(v);
      v.dispose();
    }
    // Tiny's conv weight has 54 values: minElements 0 quantizes it (the 1-D ones stay float32).
    const u8 = path.join(dir, 'good-uint8');
    const f16 = path.join(dir, 'good-float16');
    await saveWeights(source, `file://${u8}`, { quantization: 'uint8', minElements: 0 });
    await saveWeights(source, `file://${f16}`, { quantization: 'float16', minElements: 0 });
    for (const folder of [u8, f16]) {
      const other = new Tiny();
      await loadWeights(other, `file://${folder}`);
      expect(values(other)[1]).toEqual(values(source)[1]); // conv.bias, float32
      other.dispose();
    }
    source.dispose();
    const conv = (j: ModelJson): Spec => j.weightsManifest[0].weights.find((w) => w.name === 'conv.weight')!;
    const q = (j: ModelJson): Record<string, unknown> => conv(j).quantization!;
    const cases: [string, string, (j: ModelJson) => void, RegExp][] = [
      [u8, 'q-dtype', (j) => (q(j).dtype = 'int4'), /weight spec 'conv.weight' has quantization dtype 'int4'; expected one of 'uint8', 'uint16', 'float16'/],
      [u8, 'q-no-dtype', (j) => delete q(j).dtype, /weight spec 'conv.weight' has quantization dtype undefined; expected one of/],
      [u8, 'q-negative-scale', (j) => (q(j).scale = -0.01), /weight spec 'conv.weight' has quantization scale -0.01; uint8 needs a finite scale >= 0/],
      // JSON has no Infinity or NaN: JSON.stringify writes them as null.
      [u8, 'q-null-scale', (j) => (q(j).scale = null), /weight spec 'conv.weight' has quantization scale null; uint8 needs a finite scale >= 0/],
      [u8, 'q-string-scale', (j) => (q(j).scale = '0.01'), /weight spec 'conv.weight' has quantization scale '0.01'; uint8 needs a finite scale >= 0/],
      [u8, 'q-no-min', (j) => delete q(j).min, /weight spec 'conv.weight' has quantization min undefined; uint8 needs a finite min/],
      [u8, 'q-huge', (j) => (q(j).min = 1e39), /weight spec 'conv.weight' has quantization min 1e\+39 and scale [0-9.e-]+, which decode beyond the float32 range/],
      [u8, 'q-int32', (j) => (conv(j).dtype = 'int32'), /weight spec 'conv.weight' is 'int32' with quantization uint8; only float32 weights may be quantized/],
      [u8, 'q-null', (j) => (conv(j).quantization = null), /weight spec 'conv.weight' has quantization null; expected \{ dtype: 'uint8', 'uint16', 'float16', scale, min \}/],
      [u8, 'q-string', (j) => (conv(j).quantization = 'uint8' as unknown as Record<string, unknown>), /weight spec 'conv.weight' has quantization 'uint8'; expected \{ dtype:/],
      // The bytes no longer add up: the sizes catch what the fields alone cannot.
      [u8, 'q-removed', (j) => delete conv(j).quantization, /the shards hold \d+ bytes but the manifest's weight specs need \d+ bytes/],
      [f16, 'q-to-uint8', (j) => (conv(j).quantization = { dtype: 'uint8', scale: 1, min: 0 }), /the shards hold \d+ bytes but the manifest's weight specs need \d+ bytes/],
      [f16, 'q-added-to-bias', (j) => (j.weightsManifest[0].weights.find((w) => w.name === 'bn.bias')!.quantization = { dtype: 'float16' }), /the shards hold \d+ bytes but the manifest's weight specs need \d+ bytes/],
    ];
    for (const [base, name, edit, message] of cases) await expectRefused(variant(name, (_, j) => edit(j), base), message);

    // In memory (any IOHandler) a scale can be NaN or infinite.
    const art = await new NodeFileHandler(u8).load();
    const n = tf.memory().numTensors;
    for (const scale of [NaN, Infinity]) {
      const specs = art.weightSpecs!.map((s) => (s.name === 'conv.weight' ? { ...s, quantization: { ...s.quantization!, scale } } : s));
      expect(() => applyWeightsArtifacts(target, { ...art, weightSpecs: specs }, 'memory model')).toThrow(
        new RegExp(`memory model: weight spec 'conv.weight' has quantization scale ${scale}; uint8 needs a finite scale >= 0`),
      );
    }
    expect(tf.memory().numTensors).toBe(n);
    expect(values(target)).toEqual(before);
  });
});
