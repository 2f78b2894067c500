/**
 * Hostile `.pth` inputs for the torch checkpoint reader (src/io/torch_checkpoint.ts,
 * src/io/zip_archive.ts). Every file is forged here, in a temporary folder:
 *
 *  1. expanded-view bomb: a ~500-byte file whose 8 tensors are stride-0 views of 256 MiB each
 *     over a 1-element storage (peak memory measured in a child process);
 *  2. one stride-0 view of 1.25 GiB, under the default total budget (child process);
 *  3. deflate shared-storage bomb: a ~260 KB file, one deflated 256 MiB storage viewed by 6
 *     tensors (child process);
 *  4. one deflated storage shared by 6 small views: inflated once, values right;
 *  5. a deflated record whose declared size is over the budget;
 *  6. a deflate stream that produces more than its declared size;
 *  7. 64 flipped bytes in a stored storage record (CRC-32), and a flipped byte in data.pkl;
 *  8. a deflated record whose recorded CRC-32 is wrong;
 *  9. a local header whose size disagrees with the central directory;
 * 10. a valid non-contiguous tensor in a stored record at an unaligned offset, read from a file;
 * 11. a bare pickle and a legacy (non-zip) checkpoint: refused with advice that does not
 *     suggest loading an untrusted file without weights_only=True;
 * 12. the two bombs (8 stride-0 views of 256 MiB; one deflated 256 MiB storage viewed
 *     whole by 6 tensors) through fromTorchvision with its default budget (child process).
 *
 * The reader creates no tf.Tensors, so there is nothing to leak on that side. Set HOSTILE_RSS=1
 * to print the children's peak RSS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { once } from 'events';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  DEFAULT_MAX_TOTAL_BYTES,
  readTorchStateDict,
  readTorchStateDictSync,
} from '../../src/io/torch_checkpoint';
import { ZipArchive } from '../../src/io/zip_archive';
import { type Deflated, writeZip } from '../io/support/zip_writer';
import { runInChild } from '../support/child_process';

const MiB = 2 ** 20;
const enc = new TextEncoder();

/** Pickle protocol 2 bytes, built opcode by opcode. */
class Pickle {
  readonly bytes: number[] = [0x80, 2];
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  str(s: string): this {
    const u = enc.encode(s);
    return this.op(0x58, ...u32(u.length), ...u);
  }
  int(n: number): this {
    if (n < 2 ** 31) return this.op(0x4a, ...u32(n));
    const b: number[] = [];
    let v = BigInt(n);
    for (let i = 0; i < 8; i++, v >>= 8n) b.push(Number(v & 0xffn));
    return this.op(0x8a, 8, ...b); // LONG1
  }
  ints(v: readonly number[]): this {
    this.op(0x28);
    for (const x of v) this.int(x);
    return this.op(0x74);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...enc.encode(`${module}\n${name}\n`));
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

interface TensorSpec {
  readonly key: string;
  readonly numel: number;
  readonly offset?: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** data.pkl of a state dict of float32 tensors, as torch.save writes it. */
function dataPkl(tensors: Record<string, TensorSpec>): Uint8Array {
  const p = new Pickle().op(0x7d, 0x28); // EMPTY_DICT MARK
  for (const [name, t] of Object.entries(tensors)) {
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', 'FloatStorage').str(t.key).str('cpu').int(t.numel);
    p.op(0x74, 0x51); // TUPLE BINPERSID
    p.int(t.offset ?? 0).ints(t.shape).ints(t.stride).op(0x89); // requires_grad False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
    p.op(0x74, 0x52); // TUPLE REDUCE
  }
  return Uint8Array.from(p.op(0x75, 0x2e).bytes); // SETITEMS STOP
}

/** A torch.save-like archive: data.pkl, the storage records, version. */
function checkpoint(
  tensors: Record<string, TensorSpec>,
  records: ReadonlyArray<[string, Uint8Array | Deflated]>,
  options: { align?: number; before?: Array<[string, Uint8Array]> } = {},
): Uint8Array {
  return writeZip(
    [
      ...(options.before ?? []),
      ['archive/data.pkl', dataPkl(tensors)],
      ...records.map(([k, d]): [string, Uint8Array | Deflated] => [`archive/data/${k}`, d]),
      ['archive/version', enc.encode('3\n')],
    ],
    { align: options.align ?? 64 },
  );
}

function floats(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function deflated(data: Uint8Array): Deflated {
  return { deflated: zlib.deflateRawSync(data), size: data.length, crc: zlib.crc32(data) };
}

/** `n` zero bytes deflated, without holding them: fed to zlib 1 MiB at a time. */
async function deflatedZeros(n: number): Promise<Deflated> {
  const d = zlib.createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  d.on('data', (c: Buffer) => chunks.push(c));
  const zero = Buffer.alloc(MiB);
  let crc = 0;
  for (let i = 0; i < n / MiB; i++) {
    crc = zlib.crc32(zero, crc);
    if (!d.write(zero)) await once(d, 'drain');
  }
  d.end();
  await once(d, 'end');
  return { deflated: Buffer.concat(chunks), size: n, crc };
}

/** Reads `file` in a fresh process; what it printed (`OK <keys>` or `ERROR <message>`), peak RSS. */
async function readInChild(file: string, options: object = {}): Promise<{ out: string; rss: number }> {
  const r = await runInChild(`
    const { readTorchStateDictSync } = require(root + '/src/io/torch_checkpoint');
    try {
      const sd = readTorchStateDictSync(${JSON.stringify(file)}, ${JSON.stringify(options)});
      console.log('OK ' + [...sd.keys()].join(','));
    } catch (e) {
      console.log('ERROR ' + e.message);
    }
  `);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  if (process.env.HOSTILE_RSS) process.stderr.write(`RSS ${file} ${r.maxRssMiB.toFixed(0)} MiB\n`);
  return { out: r.stdout.trim(), rss: r.maxRssMiB };
}

function budgetError(
  file: string,
  tensor: string,
  doing: string,
  needs: number,
  total: number,
  budget: number,
): string {
  return (
    `${file}: tensor '${tensor}': ${doing} needs ${needs} bytes, which would bring what reading ` +
    `this checkpoint allocates to ${total} bytes, over the budget maxTotalBytes = ${budget} ` +
    `(default ${DEFAULT_MAX_TOTAL_BYTES}, 1 GiB); if the file is trusted, pass a larger ` +
    'maxTotalBytes in the read options'
  );
}

let dir: string;
const tmp = (name: string): string => path.join(dir, name);
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hostile-pth-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('torch checkpoint memory bombs', () => {
  it('stops an expanded-view bomb (8 stride-0 views of 256 MiB over 1 element) at the budget', async () => {
    const n = 64 * MiB; // float32 elements: 256 MiB per tensor
    const tensors: Record<string, TensorSpec> = {};
    for (let i = 0; i < 8; i++) tensors[`w${i}`] = { key: '0', numel: 1, shape: [n], stride: [0] };
    const bytes = checkpoint(tensors, [['0', floats([1])]], { align: 1 });
    expect(bytes.length).toBeLessThan(2000);
    const file = tmp('expanded.pth');
    writeFileSync(file, bytes);
    const budget = 300 * MiB;
    const { out, rss } = await readInChild(file, { maxTotalBytes: budget });
    const doing = `materialising shape [${n}] float32 from record 'archive/data/0'`;
    expect(out).toBe(`ERROR ${budgetError(file, 'w1', doing, 4 * n, 8 * n, budget)}`);
    expect(rss).toBeLessThan(500);
  });

  it('refuses a 1.25 GiB stride-0 view before allocating it, under the default budget', async () => {
    const n = 320 * MiB; // 1.25 GiB of float32, under the 2 GiB maxTensorBytes
    const file = tmp('expanded_default.pth');
    writeFileSync(file, checkpoint({ w: { key: '0', numel: 1, shape: [n], stride: [0] } }, [['0', floats([1])]]));
    const { out, rss } = await readInChild(file);
    const doing = `materialising shape [${n}] float32 from record 'archive/data/0'`;
    expect(out).toBe(`ERROR ${budgetError(file, 'w', doing, 4 * n, 4 * n, DEFAULT_MAX_TOTAL_BYTES)}`);
    expect(rss).toBeLessThan(500);
  });

  it('inflates a deflated 256 MiB storage viewed by 6 tensors once, and stops at the budget', async () => {
    const size = 256 * MiB;
    const view = 16 * MiB; // float32 elements: 64 MiB per tensor
    const tensors: Record<string, TensorSpec> = {};
    for (let i = 0; i < 6; i++) {
      tensors[`w${i}`] = { key: '0', numel: size / 4, offset: (i * view) / 2, shape: [view], stride: [1] };
    }
    const bytes = checkpoint(tensors, [['0', await deflatedZeros(size)]]);
    expect(bytes.length).toBeLessThan(400 * 1024);
    const file = tmp('deflated_shared.pth');
    writeFileSync(file, bytes);
    const budget = 350 * MiB;
    const { out, rss } = await readInChild(file, { maxTotalBytes: budget });
    // w0 costs the inflation (256 MiB) and its 64 MiB; w1 another 64 MiB, over 350 MiB.
    const doing = `materialising shape [${view}] float32 from record 'archive/data/0'`;
    expect(out).toBe(`ERROR ${budgetError(file, 'w1', doing, 64 * MiB, 384 * MiB, budget)}`);
    expect(rss).toBeLessThan(500);
  });

  it("the issue's two bombs through fromTorchvision with its defaults: refused, peak under 500 MB", async () => {
    const n = 64 * MiB; // float32 elements: 256 MiB
    const expanded: Record<string, TensorSpec> = {};
    for (let i = 0; i < 8; i++) expanded[`w${i}`] = { key: '0', numel: 1, shape: [n], stride: [0] };
    const shared: Record<string, TensorSpec> = {};
    for (let i = 0; i < 6; i++) shared[`w${i}`] = { key: '0', numel: n, shape: [n], stride: [1] };
    const files = {
      expanded: tmp('tv_expanded.pth'),
      shared: tmp('tv_shared.pth'),
    };
    writeFileSync(files.expanded, checkpoint(expanded, [['0', floats([1])]], { align: 1 }));
    writeFileSync(files.shared, checkpoint(shared, [['0', await deflatedZeros(4 * n)]]));
    for (const file of Object.values(files)) {
      const r = await runInChild(`
        const { fromTorchvision } = require(root + '/src/api/model');
        try { await fromTorchvision(${JSON.stringify(file)}, { backend: 'cpu' }); console.log('LOADED'); }
        catch (e) { console.log('ERROR ' + e.message); }
      `);
      if (process.env.HOSTILE_RSS) process.stderr.write(`RSS fromTorchvision ${file} ${r.maxRssMiB.toFixed(0)} MiB\n`);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`ERROR ${file}: tensor 'w[01]': materialising shape \\[${n}\\] float32`));
      expect(r.stdout).toMatch(/over the budget maxTotalBytes = 400568697/);
      expect(r.maxRssMiB).toBeLessThan(500);
    }
  });

  it('inflates a storage shared by 6 small views once, and gives each its values', () => {
    const ramp = floats(Array.from({ length: 64 * 1024 }, (_, i) => i)); // 256 KiB
    const tensors: Record<string, TensorSpec> = {};
    for (let i = 0; i < 6; i++) {
      tensors[`w${i}`] = { key: '0', numel: 64 * 1024, offset: i * 1000, shape: [2], stride: [1] };
    }
    const bytes = checkpoint(tensors, [['0', deflated(ramp)]]);
    const read = jest.spyOn(ZipArchive.prototype, 'read');
    try {
      // Exactly the storage once plus 6 tensors of 8 bytes: a second inflation would not fit.
      const sd = readTorchStateDictSync(bytes, { name: 'shared.pth', maxTotalBytes: ramp.length + 48 });
      for (let i = 0; i < 6; i++) {
        expect(Array.from(sd.get(`w${i}`)!.data as Float32Array)).toEqual([i * 1000, i * 1000 + 1]);
      }
      expect(read.mock.calls.filter(([name]) => name === 'archive/data/0')).toHaveLength(1);
    } finally {
      read.mockRestore();
    }
  });

  it('refuses a deflated record whose declared size is over the budget, before inflating it', () => {
    const data = new Uint8Array(MiB);
    const bytes = checkpoint({ w: { key: '0', numel: MiB / 4, shape: [2], stride: [1] } }, [['0', deflated(data)]]);
    const budget = MiB / 2;
    const inflate = jest.spyOn(ZipArchive.prototype, 'read');
    try {
      expect(() => readTorchStateDictSync(bytes, { name: 'big.pth', maxTotalBytes: budget })).toThrow(
        budgetError(
          'big.pth',
          'w',
          "materialising shape [2] float32 from record 'archive/data/0' (inflating it: 1048576 " +
            'bytes, then 8 for the tensor)',
          MiB + 8,
          MiB + 8,
          budget,
        ),
      );
      expect(inflate.mock.calls.filter(([name]) => name === 'archive/data/0')).toHaveLength(0);
    } finally {
      inflate.mockRestore();
    }
  });

  it('stops a deflate stream that produces more than its declared size', () => {
    const real = floats(Array.from({ length: 2048 }, (_, i) => i)); // 8 KiB
    const forged: Deflated = { ...deflated(real), size: 4096, crc: zlib.crc32(real.subarray(0, 4096)) };
    const bytes = checkpoint({ w: { key: '0', numel: 1024, shape: [1024], stride: [1] } }, [['0', forged]]);
    expect(() => readTorchStateDictSync(bytes, { name: 'long.pth' })).toThrow(
      "long.pth: tensor 'w': deflated entry 'archive/data/0' inflates to more than its declared " +
        '4096 bytes; inflating stopped there',
    );
  });
});

describe('torch checkpoint corruption', () => {
  const values = Array.from({ length: 1024 }, (_, i) => i / 7);

  it('refuses 64 flipped bytes in a stored storage record (CRC-32)', () => {
    const good = checkpoint({ w: { key: '0', numel: 1024, shape: [1024], stride: [1] } }, [['0', floats(values)]]);
    expect(Array.from(readTorchStateDictSync(good).get('w')!.data as Float32Array)).toEqual(Array.from(Float32Array.from(values)));
    const at = ZipArchive.fromBytes(good, 'x').entry('archive/data/0')!.dataOffset + 1000;
    const bad = good.slice();
    for (let i = at; i < at + 64; i++) bad[i] ^= 0x5a;
    const file = tmp('flipped.pth');
    writeFileSync(file, bad);
    const want = zlib.crc32(floats(values));
    expect(() => readTorchStateDictSync(file)).toThrow(
      new RegExp(
        `^${file.replace(/[.]/g, '\\.')}: tensor 'w': entry 'archive/data/0' is corrupt: its data ` +
          `has CRC-32 0x[0-9a-f]{8}, but the archive records 0x${want.toString(16).padStart(8, '0')}$`,
      ),
    );
  });

  it('refuses a flipped byte in data.pkl (CRC-32)', () => {
    const good = checkpoint({ w: { key: '0', numel: 4, shape: [4], stride: [1] } }, [['0', floats([1, 2, 3, 4])]]);
    const bad = good.slice();
    bad[ZipArchive.fromBytes(good, 'x').entry('archive/data.pkl')!.dataOffset + 40] ^= 1;
    expect(() => readTorchStateDictSync(bad, { name: 'pkl.pth' })).toThrow(
      "pkl.pth: entry 'archive/data.pkl' is corrupt: its data has CRC-32",
    );
  });

  it('refuses a deflated record whose recorded CRC-32 is wrong', () => {
    const d = deflated(floats(values));
    const bytes = checkpoint({ w: { key: '0', numel: 1024, shape: [1024], stride: [1] } }, [
      ['0', { ...d, crc: (d.crc ^ 1) >>> 0 }],
    ]);
    expect(() => readTorchStateDictSync(bytes, { name: 'dcrc.pth' })).toThrow(
      `dcrc.pth: tensor 'w': entry 'archive/data/0' is corrupt: its data has CRC-32 ` +
        `0x${d.crc.toString(16).padStart(8, '0')}, but the archive records ` +
        `0x${((d.crc ^ 1) >>> 0).toString(16).padStart(8, '0')}`,
    );
  });

  it('refuses a local header whose size disagrees with the central directory', () => {
    const bytes = checkpoint({ w: { key: '0', numel: 4, shape: [4], stride: [1] } }, [['0', floats([1, 2, 3, 4])]]);
    const header = ZipArchive.fromBytes(bytes, 'x').entry('archive/data/0')!.localHeaderOffset;
    new DataView(bytes.buffer).setUint32(header + 22, 999, true);
    expect(() => readTorchStateDictSync(bytes, { name: 'sizes.pth' })).toThrow(
      "sizes.pth: entry 'archive/data/0' has size 999 in its local header but 16 in the central directory",
    );
  });
});

describe('torch checkpoint layouts and formats', () => {
  it('reads a non-contiguous tensor from a stored record at an unaligned offset, from a file', async () => {
    const tensors = { t: { key: '0', numel: 6, shape: [3, 2], stride: [1, 3] } };
    // A padding entry whose name length puts the storage record off a 4-byte boundary.
    let bytes: Uint8Array = new Uint8Array(0);
    for (let pad = 1; pad <= 4; pad++) {
      bytes = checkpoint(tensors, [['0', floats([0, 1, 2, 3, 4, 5])]], {
        align: 1,
        before: [[`archive/${'p'.repeat(pad)}`, new Uint8Array(1)]],
      });
      if (ZipArchive.fromBytes(bytes, 'x').entry('archive/data/0')!.dataOffset % 4 !== 0) break;
    }
    expect(ZipArchive.fromBytes(bytes, 'x').entry('archive/data/0')!.dataOffset % 4).not.toBe(0);
    const file = tmp('unaligned.pth');
    writeFileSync(file, bytes);
    for (const sd of [readTorchStateDictSync(file), await readTorchStateDict(file)]) {
      const t = sd.get('t')!;
      expect(t.shape).toEqual([3, 2]);
      expect(Array.from(t.data as Float32Array)).toEqual([0, 3, 1, 4, 2, 5]);
    }
    // The aligned copy (24 bytes) counts against the budget with the tensor (24 bytes).
    expect(readTorchStateDictSync(file, { maxTotalBytes: 48 }).get('t')!.shape).toEqual([3, 2]);
    expect(() => readTorchStateDictSync(file, { maxTotalBytes: 47 })).toThrow(
      `${file}: tensor 't': materialising shape [3,2] float32 from record 'archive/data/0' (with an ` +
        'aligned copy of the misaligned record: 24 bytes) needs 48 bytes',
    );
  });

  const advice =
    're-save the weights in a trusted environment with torch.save(model.state_dict(), path) ' +
    '(the zip format, the default since torch 1.6); do not open an untrusted file with ' +
    'torch.load unless weights_only=True';

  function errorOf(file: string): string {
    try {
      readTorchStateDictSync(file);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`${file} was read`);
  }

  it('refuses a bare pickle without advising to load it unsafely', () => {
    const file = tmp('bare.pkl');
    writeFileSync(file, Uint8Array.from([0x80, 0x02, 0x7d, 0x2e])); // {}
    const message = errorOf(file);
    expect(message).toBe(
      `${file} is a bare pickle, not a torch.save zip checkpoint: it is not read, since ` +
        `unpickling it could run code; ${advice}`,
    );
    expect(message).not.toMatch(/torch\.load(?! unless weights_only=True)/);
  });

  it('refuses a legacy (non-zip) checkpoint without advising to load it unsafely', () => {
    const file = tmp('legacy.pth');
    const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    writeFileSync(file, Uint8Array.from([...magic, 0x2e]));
    const message = errorOf(file);
    expect(message).toBe(`${file} is a legacy (torch < 1.6, non-zip) checkpoint, which is not supported; ${advice}`);
    expect(message).not.toMatch(/torch\.load(?! unless weights_only=True)/);
  });
});
