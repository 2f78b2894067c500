/**
 * The `.pth` writer: byte for byte what torch.save writes (a file torch 1.13 wrote, made by
 * tools/make_torch_test_files.py), every dtype back through our reader, the zip layout torch
 * relies on (64-byte aligned records, the archive named after the file), refusals that name
 * the tensor, and writes that are all or nothing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readTorchStateDictSync, type StateDict } from '../../src/io/torch_checkpoint';
import { encodeTorchStateDict, type TorchTensorInput, writeTorchStateDict } from '../../src/io/torch_writer';
import { torchZipChunks } from '../../src/io/zip_writer';
import { ZipArchive } from '../../src/io/zip_archive';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function expectSameTensors(a: StateDict, b: StateDict): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    expect({ k, dtype: u.dtype, shape: u.shape, requiresGrad: u.requiresGrad }).toEqual({ k, dtype: t.dtype, shape: t.shape, requiresGrad: t.requiresGrad });
    expect(bytesOf(u.data).equals(bytesOf(t.data))).toBe(true);
  }
}

describe('writeTorchStateDict', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-torch-writer-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the bytes torch.save wrote for the same OrderedDict', () => {
    const file = path.join(FIXTURES, 'saved_by_torch.pth');
    const sd = readTorchStateDictSync(file);
    expect(sd.size).toBe(40);
    const ours = Buffer.concat(encodeTorchStateDict(sd, { archiveName: 'saved_by_torch' }));
    const theirs = fs.readFileSync(file);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('gives back every dtype, shape, requires_grad and byte through our reader, strided views made contiguous', async () => {
    const sd = readTorchStateDictSync(path.join(FIXTURES, 'state_dict.pth'));
    const out = path.join(dir, 'every_dtype.pth');
    const result = await writeTorchStateDict(out, sd);
    expect(result).toEqual({ path: out, bytes: fs.statSync(out).size, tensors: sd.size });
    expectSameTensors(sd, readTorchStateDictSync(out));
  });

  it('names the archive after the file as torch 1.13 does and aligns every record to 64 bytes', async () => {
    const sd = new Map<string, TorchTensorInput>([
      ['a', { dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) }],
      ['b', { dtype: 'int64', shape: [], data: new BigInt64Array([5n]) }],
    ]);
    const out = path.join(dir, 'my.model.pth');
    await writeTorchStateDict(out, sd);
    const zip = ZipArchive.fromBytes(fs.readFileSync(out), out);
    expect(zip.entries.map((e) => e.name)).toEqual(['my.model/data.pkl', 'my.model/data/0', 'my.model/data/1', 'my.model/version']);
    expect(zip.entries.map((e) => e.dataOffset % 64)).toEqual([0, 0, 0, 0]);
    expect(new TextDecoder().decode(zip.read('my.model/version'))).toBe('3\n');
    expect(zip.entry('my.model/data/1')!.method).toBe(0);
    // Bytes are written under the default name 'archive', as torch.save into a BytesIO.
    const buffered = ZipArchive.fromBytes(Buffer.concat(encodeTorchStateDict(sd)), 'buffer');
    expect(buffered.entries[0].name).toBe('archive/data.pkl');
  });

  it('refuses a tensor whose data does not fit its dtype or shape, naming the key, and writes nothing', async () => {
    const bad = (t: Partial<TorchTensorInput>) => new Map([['w', { dtype: 'float32', shape: [2], data: new Float32Array(2), ...t } as TorchTensorInput]]);
    expect(() => encodeTorchStateDict(bad({ data: new Int32Array(2) }))).toThrow(
      "Error in encodeTorchStateDict: 'w' (float32, shape [2]) needs a Float32Array of 2 elements, got Int32Array of 2",
    );
    expect(() => encodeTorchStateDict(bad({ shape: [3] }))).toThrow("'w' (float32, shape [3]) needs a Float32Array of 3 elements, got Float32Array of 2");
    expect(() => encodeTorchStateDict(bad({ data: [1, 2] as unknown as Float32Array }))).toThrow("needs a Float32Array of 2 elements, got object");
    // A Node Buffer is a Uint8Array.
    expect(() => encodeTorchStateDict(new Map([['b', { dtype: 'uint8', shape: [2], data: Buffer.from([1, 2]) }]]))).not.toThrow();
    expect(() => encodeTorchStateDict(bad({ shape: [-2] }))).toThrow("'w' has shape [-2]; sizes must be non-negative integers");
    expect(() => encodeTorchStateDict(bad({ dtype: 'complex64' as TorchTensorInput['dtype'] }))).toThrow("'w' has dtype 'complex64'; valid dtypes are float32, float64");
    expect(() => encodeTorchStateDict(bad({}), { archiveName: 'a/b' })).toThrow("archiveName must be a non-empty name without slashes, got 'a/b'");
    const out = path.join(dir, 'refused.pth');
    await expect(writeTorchStateDict(out, bad({ shape: [3] }))).rejects.toThrow("'w'");
    expect(fs.existsSync(out)).toBe(false);
  });

  it('zip writer refuses two records of one name and archives past 4 GiB', () => {
    const data = new Uint8Array(1);
    expect(() => torchZipChunks([{ name: 'a/x', data }, { name: 'a/x', data }])).toThrow("two records are named 'a/x'");
    const huge = { byteLength: 2 ** 32 } as Uint8Array;
    expect(() => torchZipChunks([{ name: 'a/x', data: huge }])).toThrow('archives past 4 GiB need ZIP64 headers');
  });
});
