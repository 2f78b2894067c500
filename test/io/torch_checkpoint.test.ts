import { existsSync, readFileSync, rmSync } from 'fs';
import * as path from 'path';
import {
  type StateDict,
  type TorchTensorData,
  type TorchTensorRef,
  isTorchTensorRef,
  openTorchCheckpoint,
  readTorchStateDict,
  readTorchStateDictSync,
  toFloat32,
  toInt32,
} from '../../src/io/torch_checkpoint';
import type { PickleValue } from '../../src/io/unpickler';
import { writeZip, zipEntries } from './support/zip_writer';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');
const fixture = (name: string): string => path.join(FIXTURES, name);

interface Expected {
  dtype: string;
  shape: number[];
  requires_grad: boolean;
  is_parameter: boolean;
  hex: string;
  float32_hex: string;
}
const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<
  string,
  Record<string, Expected>
> & { payload_file: string };

function hex(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

function contiguous(shape: number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s.unshift(acc);
    acc *= shape[i];
  }
  return s;
}

/** Every tensor equals torch's bit for bit, in torch's order, and so does its float32 copy. */
function expectMatches(sd: StateDict, expected: Record<string, Expected>): void {
  expect([...sd.keys()]).toEqual(Object.keys(expected));
  for (const [key, want] of Object.entries(expected)) {
    const t = sd.get(key)!;
    expect({ key, dtype: t.dtype, shape: t.shape, strides: t.strides }).toEqual({
      key,
      dtype: want.dtype,
      shape: want.shape,
      strides: contiguous(want.shape),
    });
    expect({ key, requiresGrad: t.requiresGrad, isParameter: t.isParameter }).toEqual({
      key,
      requiresGrad: want.requires_grad,
      isParameter: want.is_parameter,
    });
    expect({ key, hex: hex(t.data) }).toEqual({ key, hex: want.hex });
    expect({ key, float32: hex(toFloat32(t)) }).toEqual({ key, float32: want.float32_hex });
  }
}

function withEntries(
  file: string,
  edit: (entries: Array<[string, Uint8Array]>) => Array<[string, Uint8Array]>,
): Uint8Array {
  return writeZip(edit(zipEntries(readFileSync(fixture(file)))), { align: 64 });
}

function refOf(file: string, key: string): TorchTensorRef {
  const root = openTorchCheckpoint(fixture(file)).root as Map<PickleValue, PickleValue>;
  const ref = root.get(key)!;
  if (!isTorchTensorRef(ref)) throw new Error(`${key} is not a tensor`);
  return ref;
}

describe('readTorchStateDict', () => {
  it('reads every tensor of a torch 1.13 state dict exactly', async () => {
    expectMatches(await readTorchStateDict(fixture('state_dict.pth')), EXPECTED['state_dict.pth']);
  });

  it('reads the same state dict saved with pickle protocol 4', () => {
    expectMatches(readTorchStateDictSync(fixture('state_dict_protocol4.pth')), EXPECTED['state_dict.pth']);
  });

  it('reads an nn.Module state_dict with nested module names', () => {
    const sd = readTorchStateDictSync(fixture('module_state_dict.pth'));
    expectMatches(sd, EXPECTED['module_state_dict.pth']);
    expect([...sd.keys()]).toContain('2.1.weight');
    expect(toInt32(sd.get('1.num_batches_tracked')!)).toEqual(Int32Array.from([7]));
  });

  it('applies storage offsets and strides of views', () => {
    const sd = readTorchStateDictSync(fixture('state_dict.pth'));
    const tr = sd.get('transposed')!;
    expect(tr.source).toEqual({ storageKey: tr.source.storageKey, storageOffset: 0, strides: [1, 5] });
    expect(Array.from(tr.data as Float32Array)).toEqual([0, 5, 10, 1, 6, 11, 2, 7, 12, 3, 8, 13, 4, 9, 14]);
    const base = sd.get('shared.base')!;
    const view = sd.get('shared.view')!;
    expect(view.source.storageKey).toBe(base.source.storageKey);
    expect(view.source.storageOffset).toBe(3);
    expect(Array.from(view.data as Float32Array)).toEqual([1.5, 2, 2.5, 3, 3.5, 4]);
    expect(sd.get('expanded')!.source.strides).toEqual([1, 0]);
    expect(Array.from(sd.get('expanded')!.data as Float32Array)).toEqual([2, 2, 2, 2, 3, 3, 3, 3]);
    const sliced = sd.get('sliced')!;
    expect(sliced.shape).toEqual([2, 2, 3]);
    expect(Array.from(sliced.data as Float64Array)).toEqual([21, 22, 23, 31, 32, 33, 41, 42, 43, 51, 52, 53]);
    expect(sd.get('empty')!.data.length).toBe(0);
  });

  it('keeps int64 exact and converts to int32 only when values fit', () => {
    const sd = readTorchStateDictSync(fixture('state_dict.pth'));
    const big = sd.get('int64_big')!;
    expect(Array.from(big.data as BigInt64Array)).toEqual([-(2n ** 62n) - 1n, 2n ** 40n, -1n, 0n]);
    expect(() => toInt32(big)).toThrow('toInt32: element 0 of an int64 tensor is -4611686018427387905');
    const n = sd.get('bn.num_batches_tracked')!;
    expect(n.shape).toEqual([]);
    expect(toInt32(n)).toEqual(Int32Array.from([123456]));
    expect(toInt32(sd.get('bool')!)).toEqual(Int32Array.from([1, 0, 0, 1]));
    expect(toInt32(sd.get('uint8')!)).toEqual(Int32Array.from([0, 255, 17]));
    expect(() => toInt32(sd.get('half')!)).toThrow('toInt32: tensor has dtype float16');
    const w = sd.get('linear.weight')!;
    expect(toFloat32(w)).toBe(w.data); // float32 is returned as is
  });

  it('finds the state dict of training checkpoints, or the one named by key', () => {
    const want = EXPECTED['training_checkpoint.pth'];
    expectMatches(readTorchStateDictSync(fixture('training_checkpoint.pth')), want);
    expectMatches(readTorchStateDictSync(fixture('state_dict_key.pth')), want);
    expectMatches(readTorchStateDictSync(fixture('custom_key.pth'), { key: 'ema' }), want);
  });

  it('says which keys a checkpoint without a state dict has', () => {
    const file = fixture('custom_key.pth');
    expect(() => readTorchStateDictSync(file)).toThrow(
      `${file} holds no state dict at the top level or under 'model' / 'state_dict' / ` +
        "'model_state_dict'; top-level keys are 'ema' (dict with tensors), 'epoch' (int), " +
        "'steps' (list); pass options.key to pick one",
    );
    expect(() => readTorchStateDictSync(file, { key: 'model' })).toThrow(
      `${file}: no top-level key 'model'; top-level keys are 'ema' (dict with tensors)`,
    );
    expect(() => readTorchStateDictSync(file, { key: 'epoch' })).toThrow(
      `${file}: 'epoch' is not a state dict: it has type int, not dict`,
    );
    expect(() => readTorchStateDictSync(fixture('training_checkpoint.pth'), { key: 'optimizer' })).toThrow(
      "'optimizer' is not a state dict: 'state' holds a value of type dict, not a tensor",
    );
  });

  it('exposes the rest of a training checkpoint without reading tensors', () => {
    const root = openTorchCheckpoint(fixture('training_checkpoint.pth')).root as Map<PickleValue, PickleValue>;
    expect(root.get('epoch')).toBe(3);
    expect(root.get('best_map')).toBe(0.375);
    expect(root.get('note')).toBe('unit test');
    expect(root.get('blob')).toEqual(Uint8Array.from([0, 255, 97, 98]));
    const opt = root.get('optimizer') as Map<PickleValue, PickleValue>;
    const group = (opt.get('param_groups') as PickleValue[])[0] as Map<PickleValue, PickleValue>;
    expect(group.get('lr')).toBe(0.01);
    expect(group.get('momentum')).toBe(0.9);
    expect(group.get('params')).toEqual([0, 1]);
    const state = opt.get('state') as Map<PickleValue, PickleValue>;
    expect([...state.keys()]).toEqual([0, 1]);
  });

  it('reads from bytes, misaligned bytes, ZIP64 archives and big-endian archives alike', async () => {
    const want = EXPECTED['state_dict.pth'];
    const bytes = readFileSync(fixture('state_dict.pth'));
    expectMatches(readTorchStateDictSync(new Uint8Array(bytes), { name: 'mem.pth' }), want);
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expectMatches(await readTorchStateDict(shifted), want);
    expectMatches(readTorchStateDictSync(writeZip(zipEntries(bytes), { zip64: true })), want);

    // The same archive written by a big-endian host: every storage byte-swapped, and a record
    // saying so (torch >= 2.1).
    const ckpt = openTorchCheckpoint(bytes, { name: 'le.pth' });
    const itemSize: Record<string, number> = {};
    for (const v of (ckpt.root as Map<PickleValue, PickleValue>).values()) {
      const ref = v as TorchTensorRef;
      itemSize[`state_dict/data/${ref.storage.key}`] = ref.storage.dtype === 'float64' || ref.storage.dtype === 'int64'
        ? 8
        : ref.storage.dtype === 'float32' || ref.storage.dtype === 'int32' ? 4
        : ref.storage.dtype === 'float16' || ref.storage.dtype === 'bfloat16' || ref.storage.dtype === 'int16' ? 2 : 1;
    }
    const swapped = zipEntries(bytes).map(([name, data]): [string, Uint8Array] => {
      const size = itemSize[name];
      if (size === undefined) return [name, data];
      const out = data.slice();
      for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
      return [name, out];
    });
    swapped.push(['state_dict/byteorder', new TextEncoder().encode('big')]);
    expectMatches(readTorchStateDictSync(writeZip(swapped, { align: 64 }), { name: 'be.pth' }), want);
  });
});

describe('readTorchStateDict on bad input', () => {
  const payload = EXPECTED.payload_file;
  beforeAll(() => rmSync(payload, { force: true }));

  it.each(['malicious.pth', 'malicious_protocol4.pth'])('refuses %s and runs nothing', async (name) => {
    const file = fixture(name);
    const message = `forbidden global posix.system in data.pkl of ${file}; only tensors and state dicts can be loaded`;
    await expect(readTorchStateDict(file)).rejects.toThrow(message);
    expect(() => openTorchCheckpoint(file)).toThrow(message);
    expect(existsSync(payload)).toBe(false);
  });

  it('refuses a truncated archive', () => {
    const file = fixture('truncated.pth');
    expect(() => readTorchStateDictSync(file)).toThrow(
      `${file}: truncated zip archive: it starts like a zip file but has no end-of-central-directory record`,
    );
  });

  it('refuses the legacy format, saying how to re-save', () => {
    const file = fixture('legacy.pth');
    expect(() => readTorchStateDictSync(file)).toThrow(
      `${file} is a legacy (torch < 1.6, non-zip) checkpoint, which is not supported; re-save the ` +
        'weights in a trusted environment with torch.save(model.state_dict(), path)',
    );
    expect(() => readTorchStateDictSync(fixture('bare_pickle.pth'))).toThrow('is a bare pickle, not a torch.save zip checkpoint');
  });

  it('refuses a file that is not a zip archive', () => {
    expect(() => readTorchStateDictSync(new TextEncoder().encode('{"not": "a checkpoint"}'), { name: 'x.json' })).toThrow(
      'x.json: not a zip archive (no end-of-central-directory record)',
    );
  });

  it('refuses an archive without data.pkl, and TorchScript archives', () => {
    const noPkl = withEntries('state_dict.pth', (e) => e.filter(([n]) => !n.endsWith('data.pkl')));
    expect(() => readTorchStateDictSync(noPkl, { name: 'nopkl.pth' })).toThrow(
      "nopkl.pth: missing data.pkl: no entry 'state_dict/data.pkl' in the archive",
    );
    const script = writeZip([['m/code/__torch__.py', new Uint8Array(1)], ['m/constants.pkl', new Uint8Array(1)]]);
    expect(() => readTorchStateDictSync(script, { name: 'm.pt' })).toThrow(
      'm.pt is a TorchScript archive (torch.jit.save), not supported',
    );
  });

  it('names a missing storage record and the tensor that needs it', () => {
    const key = refOf('state_dict.pth', 'linear.weight').storage.key;
    const bytes = withEntries('state_dict.pth', (e) => e.filter(([n]) => n !== `state_dict/data/${key}`));
    expect(() => readTorchStateDictSync(bytes, { name: 'gone.pth' })).toThrow(
      `gone.pth: tensor 'linear.weight': missing storage record 'state_dict/data/${key}'`,
    );
  });

  it('refuses a storage record shorter than its declared size', () => {
    const key = refOf('state_dict.pth', 'linear.weight').storage.key;
    const bytes = withEntries('state_dict.pth', (e) =>
      e.map(([n, d]): [string, Uint8Array] => [n, n === `state_dict/data/${key}` ? d.subarray(0, 100) : d]),
    );
    expect(() => readTorchStateDictSync(bytes, { name: 'short.pth' })).toThrow(
      `short.pth: tensor 'linear.weight': storage record 'state_dict/data/${key}' holds 100 bytes, ` +
        'but its float32 storage declares 35 elements (140 bytes)',
    );
  });

  it('refuses a view that reads past its storage, and tensors over maxTensorBytes', () => {
    const ckpt = openTorchCheckpoint(fixture('state_dict.pth'), { maxTensorBytes: 64 });
    const ref = (ckpt.root as Map<PickleValue, PickleValue>).get('shared.view') as TorchTensorRef;
    expect(() => ckpt.materialize({ ...ref, shape: [3, 3] }, 'forged')).toThrow(
      `${fixture('state_dict.pth')}: forged: storage 'state_dict/data/${ref.storage.key}' is shorter ` +
        'than the tensor needs: shape [3,3] with stride [3,1] at offset 3 reads element 11, but the storage has 10',
    );
    expect(() => ckpt.materialize({ ...ref, shape: [20, 3], strides: [0, 1] }, 'huge')).toThrow(
      'huge: shape [20,3] needs 240 bytes, more than maxTensorBytes (64)',
    );
    const ok: TorchTensorData = ckpt.materialize(ref, 'ok');
    expect(Array.from(ok.data as Float32Array)).toEqual([1.5, 2, 2.5, 3, 3.5, 4]);
  });

  it('names an unknown opcode in data.pkl', () => {
    const bytes = withEntries('state_dict.pth', (e) =>
      e.map(([n, d]): [string, Uint8Array] => {
        if (!n.endsWith('data.pkl')) return [n, d];
        const out = d.slice();
        out[2] = 0xfe;
        return [n, out];
      }),
    );
    expect(() => readTorchStateDictSync(bytes, { name: 'op.pth' })).toThrow(
      'data.pkl of op.pth: unknown pickle opcode 0xfe at byte 2',
    );
  });
});
