/**
 * Writes state dicts as `torch.save(state_dict, path)` does (torch 1.13, zip format), so that
 * `torch.load` reads them with nothing of ours installed, byte for byte the file torch would
 * write for the same OrderedDict of contiguous tensors:
 * ```
 * <archive>/data.pkl      protocol-2 pickle of an OrderedDict; each tensor is
 *                         torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
 *                         with storage the persistent id ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
 * <archive>/data/<key>    each storage's elements, little-endian, records in sorted key order
 * <archive>/version       "3\n"
 * ```
 * in the zip layout of {@link torchZipChunks}. `<archive>` is the file's name without its
 * extension, as torch 1.13 names it (`archive` when that is empty). torch >= 2.1 also writes a
 * `byteorder` record; without one every torch version reads little-endian, which is what we write.
 *
 * The pickle is produced by a writer for exactly this object graph, not a general pickler: it
 * numbers the memo as CPython's pickler does (globals, the constant strings `'storage'` and
 * `'cpu'` shared; every key, tuple and tensor memoized once), so the bytes equal torch.save's.
 * The tensors are not nn.Parameters and carry no `_metadata` (module versions) attribute, as a
 * state dict copied into a plain OrderedDict; torch's load_state_dict then treats every module
 * as of the current version.
 */
import * as path from 'path';
import {
  type TorchDType,
  type TorchTensorArray,
  STORAGE_TYPES,
  ITEM_SIZE,
  allocate,
  hostIsLittleEndian,
  swapBytes,
} from './torch_checkpoint';
import { type ZipRecord, torchZipChunks } from './zip_writer';
import { writeFileAtomic } from './atomic_file';

/**
 * One tensor to write: its dtype, shape and contiguous row-major elements in the array type
 * {@link TorchTensorArray} gives for the dtype (a {@link TorchTensorData} read from a checkpoint
 * is one).
 *
 * @example
 * ```ts
 * const t: TorchTensorInput = { dtype: 'float32', shape: [2, 3], data: new Float32Array(6) };
 * ```
 */
export interface TorchTensorInput {
  readonly dtype: TorchDType;
  /** Sizes, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly data: TorchTensorArray;
  /** Saved as the tensor's requires_grad; default false (as `state_dict()` gives). */
  readonly requiresGrad?: boolean;
}

/**
 * Options of {@link encodeTorchStateDict} and {@link writeTorchStateDict}.
 *
 * @example
 * ```ts
 * encodeTorchStateDict(sd, { archiveName: 'archive' }); // as torch.save into a BytesIO
 * ```
 */
export interface TorchWriteOptions {
  /**
   * The archive's top folder. Default: for a file, its name without the extension, as torch
   * 1.13 does (`model` for `out/model.pth`); for bytes, `archive`.
   */
  readonly archiveName?: string;
}

/**
 * What {@link writeTorchStateDict} wrote.
 *
 * @example
 * ```ts
 * const { path, bytes, tensors } = await writeTorchStateDict('model.pth', sd);
 * ```
 */
export interface TorchWriteResult {
  /** The absolute path of the file. */
  readonly path: string;
  readonly bytes: number;
  readonly tensors: number;
}

/** The version record torch 1.13 writes (its kProducedFileFormatVersion). */
const FILE_FORMAT_VERSION = '3\n';

const STORAGE_OF = new Map<TorchDType, string>([...STORAGE_TYPES].map(([name, info]) => [info.dtype, name]));

// Pickle opcodes (Python's Lib/pickle.py names).
const PROTO = 0x80;
const STOP = 0x2e;
const MARK = 0x28;
const GLOBAL = 0x63;
const BINPUT = 0x71;
const LONG_BINPUT = 0x72;
const BINGET = 0x68;
const LONG_BINGET = 0x6a;
const BINUNICODE = 0x58;
const BININT = 0x4a;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const LONG1 = 0x8a;
const EMPTY_TUPLE = 0x29;
const TUPLE = 0x74;
const TUPLE_N = [EMPTY_TUPLE, 0x85, 0x86, 0x87];
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const REDUCE = 0x52;
const BINPERSID = 0x51;
const SETITEM = 0x73;
const SETITEMS = 0x75;
/** CPython's pickler writes dict items in batches of this many (Pickler._BATCHSIZE). */
const BATCH = 1000;

/**
 * A protocol-2 pickle writer for the objects torch.save makes of a state dict, with CPython's
 * memo: each object gets the next memo slot when first written; objects that CPython shares by
 * identity (globals, string constants) are fetched from the memo when written again.
 */
class StateDictPickler {
  private bytes: number[] = [];
  private memoSize = 0;
  private readonly shared = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  result(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  op(...codes: number[]): void {
    for (const c of codes) this.bytes.push(c);
  }

  private u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** Gives the object just written the next memo slot. */
  memoize(): number {
    const i = this.memoSize++;
    if (i < 256) this.op(BINPUT, i);
    else {
      this.op(LONG_BINPUT);
      this.u32(i);
    }
    return i;
  }

  private get(i: number): void {
    if (i < 256) this.op(BINGET, i);
    else {
      this.op(LONG_BINGET);
      this.u32(i);
    }
  }

  /** An object CPython shares by identity: written and memoized once, then fetched. */
  private once(id: string, write: () => void): void {
    const slot = this.shared.get(id);
    if (slot !== undefined) return this.get(slot);
    write();
    this.shared.set(id, this.memoize());
  }

  global(module: string, name: string): void {
    this.once(`global ${module} ${name}`, () => this.op(GLOBAL, ...this.encoder.encode(`${module}\n${name}\n`)));
  }

  /** A str object of its own (a key, a storage key): memoized, never shared. */
  str(s: string): void {
    const utf8 = this.encoder.encode(s);
    this.op(BINUNICODE);
    this.u32(utf8.length);
    for (const b of utf8) this.bytes.push(b);
    this.memoize();
  }

  /** A str constant of torch's source (`'storage'`, `'cpu'`): one object, shared. */
  constStr(s: string): void {
    const slot = this.shared.get(`str ${s}`);
    if (slot !== undefined) return this.get(slot);
    this.str(s);
    this.shared.set(`str ${s}`, this.memoSize - 1);
  }

  /** Python's save_long for protocol 2. */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new Error(`pickling ${v}: not a safe integer`);
    if (v >= 0 && v <= 0xff) return this.op(BININT1, v);
    if (v >= 0 && v <= 0xffff) return this.op(BININT2, v & 0xff, v >> 8);
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(BININT);
      return this.u32(v >>> 0);
    }
    // LONG1: little-endian two's complement in the fewest bytes that keep the sign.
    const out: number[] = [];
    let b = BigInt(v);
    for (;;) {
      const byte = Number(b & 0xffn);
      out.push(byte);
      b >>= 8n;
      if ((b === 0n && (byte & 0x80) === 0) || (b === -1n && (byte & 0x80) !== 0)) break;
    }
    this.op(LONG1, out.length, ...out);
  }

  bool(v: boolean): void {
    this.op(v ? NEWTRUE : NEWFALSE);
  }

  /** Python's save_tuple for protocol 2: up to 3 items without a MARK; the empty tuple unmemoized. */
  tuple(items: readonly (() => void)[]): void {
    if (items.length === 0) return this.op(EMPTY_TUPLE);
    if (items.length <= 3) {
      for (const write of items) write();
      this.op(TUPLE_N[items.length]);
    } else {
      this.op(MARK);
      for (const write of items) write();
      this.op(TUPLE);
    }
    this.memoize();
  }
}

/**
 * The strides torch gives a contiguous tensor of `shape` (c10's empty_tensor_restride): like
 * row-major strides, but a size-0 dimension counts as 1, so `[3, 0]` has strides `[1, 1]`.
 */
function torchStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return strides;
}

/** A checked, contiguous little-endian view of a tensor's bytes. */
function storageBytes(key: string, t: TorchTensorInput): Uint8Array {
  const { dtype, shape, data } = t;
  if (!STORAGE_OF.has(dtype)) throw new Error(`Error in encodeTorchStateDict: '${key}' has dtype '${String(dtype)}'; valid dtypes are ${[...STORAGE_OF.keys()].join(', ')}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`Error in encodeTorchStateDict: '${key}' has shape ${JSON.stringify(shape)}; sizes must be non-negative integers`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  // By tag, not constructor: a Node Buffer is a Uint8Array, and arrays from another realm count.
  const tag = (a: unknown): string | undefined =>
    ArrayBuffer.isView(a) ? (a as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
  const expected = tag(allocate(dtype, 0))!;
  if (tag(data) !== expected || data.length !== numel) {
    const got = tag(data) ?? (data === null ? 'null' : typeof data);
    throw new Error(
      `Error in encodeTorchStateDict: '${key}' (${dtype}, shape [${shape.join(', ')}]) needs a ${expected} of ` +
        `${numel} elements, got ${got}${tag(data) !== undefined ? ` of ${data.length}` : ''}`,
    );
  }
  let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!hostIsLittleEndian && ITEM_SIZE[dtype] > 1) {
    const copy = allocate(dtype, numel);
    new Uint8Array(copy.buffer).set(bytes);
    swapBytes(copy, ITEM_SIZE[dtype]);
    bytes = new Uint8Array(copy.buffer);
  }
  return bytes;
}

/**
 * The pieces of the `.pth` file `torch.save` writes for `stateDict` (an OrderedDict of
 * contiguous tensors, in the map's order); see the module comment. The tensors' bytes are
 * passed through, not copied (on little-endian hosts). Write the pieces in order, or use
 * {@link writeTorchStateDict}.
 *
 * @throws Error naming the key of a tensor whose dtype, shape or data do not agree.
 * @example
 * ```ts
 * const sd = new Map([['w', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]);
 * const bytes = Buffer.concat(encodeTorchStateDict(sd)); // torch.load(io.BytesIO(bytes)) works
 * ```
 */
export function encodeTorchStateDict(stateDict: ReadonlyMap<string, TorchTensorInput>, options: TorchWriteOptions = {}): Uint8Array[] {
  const archive = options.archiveName ?? 'archive';
  if (archive === '' || /[/\\]/.test(archive)) {
    throw new Error(`Error in encodeTorchStateDict: archiveName must be a non-empty name without slashes, got '${archive}'`);
  }
  const p = new StateDictPickler();
  const storages: [string, Uint8Array][] = [];
  p.op(PROTO, 2);
  // OrderedDict.__reduce__: (OrderedDict, ()) then its items.
  p.global('collections', 'OrderedDict');
  p.op(EMPTY_TUPLE, REDUCE);
  p.memoize();
  const entries = [...stateDict];
  for (let start = 0; start < entries.length; start += BATCH) {
    const batch = entries.slice(start, start + BATCH);
    if (batch.length > 1) p.op(MARK);
    for (const [key, t] of batch) {
      if (typeof key !== 'string') throw new Error(`Error in encodeTorchStateDict: keys must be strings, got ${typeof key}`);
      const bytes = storageBytes(key, t);
      const storageKey = String(storages.length);
      storages.push([storageKey, bytes]);
      const numel = t.shape.reduce((a, b) => a * b, 1);
      const [storageModule, storageClass] = STORAGE_OF.get(t.dtype)!.split('.');
      p.str(key);
      // Tensor.__reduce_ex__: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks).
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.op(MARK);
      p.tuple([
        () => p.constStr('storage'),
        () => p.global(storageModule, storageClass),
        () => p.str(storageKey),
        () => p.constStr('cpu'),
        () => p.int(numel),
      ]);
      p.op(BINPERSID);
      p.int(0);
      p.tuple(t.shape.map((d) => () => p.int(d)));
      p.tuple(torchStrides(t.shape).map((s) => () => p.int(s)));
      p.bool(t.requiresGrad ?? false);
      p.global('collections', 'OrderedDict');
      p.op(EMPTY_TUPLE, REDUCE);
      p.memoize();
      p.op(TUPLE);
      p.memoize();
      p.op(REDUCE);
      p.memoize();
    }
    p.op(batch.length > 1 ? SETITEMS : SETITEM);
  }
  p.op(STOP);

  // torch writes storages in Python's sorted order of their keys ('0', '1', '10', '100', '11', ...).
  storages.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const records: ZipRecord[] = [
    { name: `${archive}/data.pkl`, data: p.result() },
    ...storages.map(([k, data]) => ({ name: `${archive}/data/${k}`, data })),
    { name: `${archive}/version`, data: new TextEncoder().encode(FILE_FORMAT_VERSION) },
  ];
  return torchZipChunks(records);
}

/** torch 1.13's archive name for a file: its base name without the last extension. */
function archiveNameOf(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  const name = dot >= 0 ? base.slice(0, dot) : base;
  return name === '' ? 'archive' : name;
}

/**
 * Writes `stateDict` as a `.pth` file that `torch.load` reads (see
 * {@link encodeTorchStateDict}), atomically: into a temporary file next to `file`, fsynced, then
 * renamed over `file`, so an interrupted write leaves no partial file. An existing `file` is
 * replaced, as torch.save does.
 *
 * @example
 * ```ts
 * const sd = await readTorchStateDict('in.pth');
 * await writeTorchStateDict('out.pth', sd); // the same tensors, bit for bit
 * ```
 */
export async function writeTorchStateDict(
  file: string,
  stateDict: ReadonlyMap<string, TorchTensorInput>,
  options: TorchWriteOptions = {},
): Promise<TorchWriteResult> {
  const chunks = encodeTorchStateDict(stateDict, { archiveName: options.archiveName ?? archiveNameOf(file) });
  const bytes = await writeFileAtomic(file, chunks);
  return { path: path.resolve(file), bytes, tensors: stateDict.size };
}
