/**
 * Reads PyTorch checkpoints written by `torch.save` (zip format, torch >= 1.6) without executing
 * anything: the archive is parsed by {@link ZipArchive}, `data.pkl` by the data-only
 * {@link unpickle} with an allow-list of exactly the globals `torch.save` uses for tensors and
 * state dicts, and each tensor is copied out of its storage record as contiguous row-major data.
 *
 * Archive layout (torch 1.13; newer versions add `byteorder` and `.data/serialization_id`):
 * ```
 * <archive_name>/data.pkl      the pickled object; tensors refer to storages by persistent id
 * <archive_name>/data/<key>    raw little-endian storage bytes, one record per storage
 * <archive_name>/version
 * ```
 * A tensor is pickled as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, backward_hooks)` where `storage` is the persistent id
 * `('storage', torch.FloatStorage, '<key>', 'cpu', numel)`; parameters wrap that in
 * `torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)`.
 */
import { readFile } from 'fs/promises';
import { readFileSync } from 'fs';
import { ZipArchive } from './zip_archive';
import {
  type AllowedGlobal,
  type PickleExtension,
  type PickleGlobal,
  type PickleValue,
  isTuple,
  pickleTypeName,
  unpickle,
} from './unpickler';

/** Element types a checkpoint tensor can have. */
export type TorchDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/**
 * Storage of a tensor's elements, by dtype: float32 Float32Array, float64 Float64Array,
 * float16 and bfloat16 Uint16Array (raw bits; see {@link toFloat32}), int64 BigInt64Array,
 * int32 Int32Array, int16 Int16Array, int8 Int8Array, uint8 and bool Uint8Array (bool as 0/1).
 */
export type TorchTensorArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * One tensor read from a checkpoint, materialised as contiguous row-major data in host order.
 *
 * @example
 * ```ts
 * const w = sd.get('backbone.body.conv1.weight')!; // dtype 'float32', shape [64, 3, 7, 7]
 * const values = toFloat32(w);                     // Float32Array of 9408 values
 * ```
 */
export interface TorchTensorData {
  readonly dtype: TorchDType;
  /** Sizes, outermost first; `[]` for a scalar (one element). */
  readonly shape: number[];
  /** Row-major strides of `data` in elements (always contiguous: the view has been applied). */
  readonly strides: number[];
  /** `shape.reduce(*)` elements, see {@link TorchTensorArray} for the array per dtype. */
  readonly data: TorchTensorArray;
  readonly requiresGrad: boolean;
  /** True when saved as an `nn.Parameter`, false for buffers and plain tensors. */
  readonly isParameter: boolean;
  /** Where the elements came from, as saved: the storage record and the view on it. */
  readonly source: {
    readonly storageKey: string;
    readonly storageOffset: number;
    readonly strides: number[];
  };
}

/** A state dict: parameter and buffer names to tensors, in the checkpoint's order. */
export type StateDict = Map<string, TorchTensorData>;

/** Options of {@link readTorchStateDict} and {@link openTorchCheckpoint}. */
export interface ReadTorchOptions {
  /**
   * Top-level key of the dict holding the state dict (`'model'`, `'state_dict'`, `'ema'`...).
   * Without it the top level itself is used when it is a state dict, else the first of
   * {@link STATE_DICT_KEYS} holding one.
   */
  readonly key?: string;
  /** Names the checkpoint in errors when `source` is bytes; default `<buffer>`. */
  readonly name?: string;
  /** Largest tensor that is materialised, in bytes; default 2 GiB. */
  readonly maxTensorBytes?: number;
  /**
   * Budget of all the bytes reading the checkpoint allocates, default
   * {@link DEFAULT_MAX_TOTAL_BYTES} (1 GiB): every tensor materialised (numel x itemsize, the
   * full size even for stride-0 or overlapping views of a small storage), every deflated record
   * inflated (its declared size, once per record: tensors viewing one storage share it) and
   * aligned copies of misaligned storages. The file itself (read whole) is not counted. Each
   * amount is checked before it is allocated; over budget, an Error names the file, the entry
   * and the budget. Raise it for a trusted checkpoint larger than 1 GiB.
   */
  readonly maxTotalBytes?: number;
}

/**
 * Default of {@link ReadTorchOptions.maxTotalBytes}: 1 GiB, about 6 times a ResNet-50 Mask R-CNN
 * (178 MB of float32 weights).
 *
 * @example
 * ```ts
 * const sd = readTorchStateDictSync('big.pth', { maxTotalBytes: 4 * DEFAULT_MAX_TOTAL_BYTES });
 * ```
 */
export const DEFAULT_MAX_TOTAL_BYTES = 2 ** 30;

/** Keys of training checkpoints searched for a state dict, in order. */
export const STATE_DICT_KEYS: readonly string[] = ['model', 'state_dict', 'model_state_dict'];

/** A storage referenced by a persistent id: which record holds it and how it is typed. */
export interface TorchStorageRef extends PickleExtension {
  readonly pickleKind: 'torch_storage';
  readonly dtype: TorchDType;
  /** Record name under `<archive>/data/`. */
  readonly key: string;
  /** Device it was saved from (`cpu`, `cuda:0`); the bytes are read the same way. */
  readonly location: string;
  readonly numel: number;
}

/** A tensor as described in data.pkl, before its elements are read. */
export interface TorchTensorRef extends PickleExtension {
  readonly pickleKind: 'torch_tensor';
  readonly storage: TorchStorageRef;
  readonly storageOffset: number;
  readonly shape: number[];
  readonly strides: number[];
  readonly requiresGrad: boolean;
  readonly isParameter: boolean;
}

/**
 * A checkpoint whose data.pkl has been read: the object tree with tensors as
 * {@link TorchTensorRef}, and a way to read their elements.
 */
export interface TorchCheckpoint {
  /** The file path, or `options.name` for bytes. */
  readonly fileName: string;
  /** The unpickled object (usually a Map). */
  readonly root: PickleValue;
  /** Reads one tensor's elements (copied out of the archive). `what` names it in errors. */
  materialize(ref: TorchTensorRef, what?: string): TorchTensorData;
}

/** A storage class's dtype and element size. */
export interface DTypeInfo {
  readonly dtype: TorchDType;
  readonly itemSize: number;
}

/** Pickled storage classes and the dtype each holds (the writer uses the same table). */
export const STORAGE_TYPES: ReadonlyMap<string, DTypeInfo> = new Map([
  ['torch.FloatStorage', { dtype: 'float32', itemSize: 4 }],
  ['torch.DoubleStorage', { dtype: 'float64', itemSize: 8 }],
  ['torch.HalfStorage', { dtype: 'float16', itemSize: 2 }],
  ['torch.BFloat16Storage', { dtype: 'bfloat16', itemSize: 2 }],
  ['torch.LongStorage', { dtype: 'int64', itemSize: 8 }],
  ['torch.IntStorage', { dtype: 'int32', itemSize: 4 }],
  ['torch.ShortStorage', { dtype: 'int16', itemSize: 2 }],
  ['torch.CharStorage', { dtype: 'int8', itemSize: 1 }],
  ['torch.ByteStorage', { dtype: 'uint8', itemSize: 1 }],
  ['torch.BoolStorage', { dtype: 'bool', itemSize: 1 }],
]);

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Readonly<Record<TorchDType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1,
  uint8: 1, bool: 1,
};

const FORBIDDEN_HINT = 'only tensors and state dicts can be loaded';
const DEFAULT_MAX_TENSOR_BYTES = 2 ** 31;

// The legacy (torch < 1.6) format opens with a pickled magic number:
// PROTO 2, LONG1 10 bytes 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
  0x50, 0x19];

function int(v: PickleValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`${what} must be a non-negative int, got ${pickleTypeName(v)} ${String(v)}`);
  }
  return v;
}

function ints(v: PickleValue, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${what} must be a tuple, got ${pickleTypeName(v)}`);
  return (v as readonly PickleValue[]).map((x, i) => int(x, `${what}[${i}]`));
}

function isKind<K extends string>(v: PickleValue, kind: K): v is PickleExtension & { pickleKind: K } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) &&
    !(v instanceof Uint8Array) && (v as PickleExtension).pickleKind === kind;
}

/**
 * True if `v` is a tensor description from data.pkl.
 *
 * @example
 * ```ts
 * const ckpt = openTorchCheckpoint('last.pth');
 * const v = (ckpt.root as Map<PickleValue, PickleValue>).get('w')!;
 * if (isTorchTensorRef(v)) console.log(ckpt.materialize(v, 'w').shape);
 * ```
 */
export function isTorchTensorRef(v: PickleValue): v is TorchTensorRef {
  return isKind(v, 'torch_tensor');
}

function checkHooks(v: PickleValue): void {
  // Non-empty hooks would be pickled functions, already refused as globals; anything else is odd.
  if (!(v instanceof Map) && v !== null) {
    throw new Error(`backward_hooks must be an OrderedDict, got ${pickleTypeName(v)}`);
  }
}

function rebuildTensorV2(args: readonly PickleValue[]): TorchTensorRef {
  if (args.length !== 6 && args.length !== 7) {
    throw new Error(`expects 6 or 7 arguments, got ${args.length}`);
  }
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (!isKind(storage, 'torch_storage')) {
    throw new Error(`first argument must be a storage, got ${pickleTypeName(storage)}`);
  }
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (strides.length !== shape.length) {
    throw new Error(`size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in rank`);
  }
  if (typeof requiresGrad !== 'boolean') throw new Error('requires_grad must be a bool');
  checkHooks(hooks);
  return {
    pickleKind: 'torch_tensor',
    storage: storage as TorchStorageRef,
    storageOffset: int(offset, 'storage_offset'),
    shape,
    strides,
    requiresGrad,
    isParameter: false,
  };
}

function rebuildParameter(args: readonly PickleValue[]): TorchTensorRef {
  if (args.length !== 3 && args.length !== 4) {
    throw new Error(`expects 3 or 4 arguments, got ${args.length}`);
  }
  const [data, requiresGrad, hooks] = args;
  if (!isTorchTensorRef(data)) throw new Error(`data must be a tensor, got ${pickleTypeName(data)}`);
  if (typeof requiresGrad !== 'boolean') throw new Error('requires_grad must be a bool');
  checkHooks(hooks);
  // _rebuild_parameter_with_state's 4th argument is the Parameter's python attributes: dropped.
  return { ...data, requiresGrad, isParameter: true };
}

function codecsEncode(args: readonly PickleValue[]): Uint8Array {
  // Python 3 bytes pickled at protocol 2 become _codecs.encode(text, 'latin1').
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw new Error('only _codecs.encode(str, "latin1") is supported');
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new Error('latin1 text has a character above U+00FF');
    out[i] = c;
  }
  return out;
}

const TORCH_GLOBALS: ReadonlyMap<string, AllowedGlobal> = new Map<string, AllowedGlobal>([
  ['collections.OrderedDict', { reduce: () => new Map<PickleValue, PickleValue>() }],
  ['torch._utils._rebuild_tensor_v2', { reduce: rebuildTensorV2 }],
  ['torch._utils._rebuild_parameter', { reduce: rebuildParameter }],
  ['torch._utils._rebuild_parameter_with_state', { reduce: rebuildParameter }],
  ['_codecs.encode', { reduce: codecsEncode }],
  ...[...STORAGE_TYPES.keys()].map((k): [string, AllowedGlobal] => [k, {}]),
]);

function persistentLoad(pid: PickleValue): TorchStorageRef {
  if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
    throw new Error("persistent id is not a ('storage', type, key, location, numel) tuple");
  }
  const [, type, key, location, numel] = pid;
  const info = isKind(type, 'global') ? STORAGE_TYPES.get((type as PickleGlobal).qualifiedName) : undefined;
  if (info === undefined) throw new Error(`persistent id names no storage type (${pickleTypeName(type)})`);
  if (typeof key !== 'string' || typeof location !== 'string') {
    throw new Error('persistent id key and location must be strings');
  }
  return {
    pickleKind: 'torch_storage',
    dtype: info.dtype,
    key,
    location,
    numel: int(numel, 'storage numel'),
  };
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

function rejectLegacy(bytes: Uint8Array, fileName: string): void {
  // Never suggest torch.load without weights_only=True: on an untrusted file it runs its code.
  const resave =
    're-save the weights in a trusted environment with torch.save(model.state_dict(), path) ' +
    '(the zip format, the default since torch 1.6); do not open an untrusted file with ' +
    'torch.load unless weights_only=True';
  if (startsWith(bytes, LEGACY_MAGIC)) {
    throw new Error(
      `${fileName} is a legacy (torch < 1.6, non-zip) checkpoint, which is not supported; ${resave}`,
    );
  }
  const ustar = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar" at 257: the tar format of torch < 0.4
  if (bytes.length > 262 && ustar.every((b, i) => bytes[257 + i] === b)) {
    throw new Error(`${fileName} is a tar-format checkpoint (torch < 0.4), which is not supported; ${resave}`);
  }
  if (bytes.length > 0 && bytes[0] === 0x80) {
    throw new Error(
      `${fileName} is a bare pickle, not a torch.save zip checkpoint: it is not read, since ` +
        `unpickling it could run code; ${resave}`,
    );
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** A zeroed array of `n` elements of the type that holds `dtype` (see {@link TorchTensorArray}). */
export function allocate(dtype: TorchDType, n: number): TorchTensorArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16':
    case 'bfloat16': return new Uint16Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int16': return new Int16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8':
    case 'bool': return new Uint8Array(n);
  }
}

/** A typed view of `bytes`, whose byteOffset must be a multiple of the item size. */
function typedView(dtype: TorchDType, aligned: Uint8Array): TorchTensorArray {
  const size = ITEM_SIZE[dtype];
  const n = Math.floor(aligned.length / size);
  switch (dtype) {
    case 'float32': return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'float64': return new Float64Array(aligned.buffer, aligned.byteOffset, n);
    case 'float16':
    case 'bfloat16': return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    case 'int64': return new BigInt64Array(aligned.buffer, aligned.byteOffset, n);
    case 'int32': return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'int16': return new Int16Array(aligned.buffer, aligned.byteOffset, n);
    case 'int8': return new Int8Array(aligned.buffer, aligned.byteOffset, n);
    case 'uint8':
    case 'bool': return new Uint8Array(aligned.buffer, aligned.byteOffset, n);
  }
}

/** True on little-endian hosts (all that Node and browsers run on in practice). */
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `size`-byte element of `a`, in place. */
export function swapBytes(a: TorchTensorArray, size: number): void {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}

class Checkpoint implements TorchCheckpoint {
  readonly root: PickleValue;
  private readonly prefix: string;
  private readonly fileIsLittleEndian: boolean;
  private readonly maxTensorBytes: number;
  private readonly maxTotalBytes: number;
  /** Bytes allocated so far, counted against maxTotalBytes. */
  private usedBytes = 0;
  /** Storage records read (and CRC-checked), by record name: inflated at most once. */
  private readonly records = new Map<string, Uint8Array>();
  /** Typed views of storages on aligned bytes, for strided gathers, by record name. */
  private readonly typed = new Map<string, TorchTensorArray>();

  constructor(
    readonly fileName: string,
    private readonly zip: ZipArchive,
    options: ReadTorchOptions,
  ) {
    this.maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
    this.maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    const first = zip.entries[0];
    if (first === undefined) throw new Error(`${fileName}: zip archive is empty, not a torch checkpoint`);
    const slash = first.name.indexOf('/');
    if (slash <= 0) {
      throw new Error(
        `${fileName}: not a torch checkpoint: entry '${first.name}' is not under a top-level folder`,
      );
    }
    // torch's PyTorchStreamReader takes the archive name from the first record, as here.
    this.prefix = first.name.slice(0, slash);
    const pklName = `${this.prefix}/data.pkl`;
    if (!zip.has(pklName)) {
      const isScript = zip.has(`${this.prefix}/constants.pkl`) ||
        zip.entries.some((e) => e.name.startsWith(`${this.prefix}/code/`));
      throw new Error(
        isScript
          ? `${fileName} is a TorchScript archive (torch.jit.save), not supported; save the ` +
              'model.state_dict() with torch.save instead'
          : `${fileName}: missing data.pkl: no entry '${pklName}' in the archive`,
      );
    }
    this.fileIsLittleEndian = this.readByteOrder();
    this.root = unpickle(this.readRecord(pklName, fileName), {
      name: `data.pkl of ${fileName}`,
      globals: TORCH_GLOBALS,
      forbiddenHint: FORBIDDEN_HINT,
      persistentLoad,
    });
  }

  private readByteOrder(): boolean {
    const name = `${this.prefix}/byteorder`;
    // torch < 2.1 writes no record and always wrote little-endian hosts' bytes.
    if (!this.zip.has(name)) return true;
    const text = new TextDecoder().decode(this.readRecord(name, this.fileName)).trim();
    if (text !== 'little' && text !== 'big') {
      throw new Error(`${this.fileName}: record '${name}' says '${text}', not 'little' or 'big'`);
    }
    return text === 'little';
  }

  /** Counts `bytes` against maxTotalBytes before they are allocated; throws if over. */
  private reserve(bytes: number, where: string, doing: string): void {
    this.checkFits(bytes, where, doing);
    this.usedBytes += bytes;
  }

  /** Throws when `bytes` more would go over maxTotalBytes (counts nothing). */
  private checkFits(bytes: number, where: string, doing: string): void {
    if (this.usedBytes + bytes > this.maxTotalBytes) {
      throw new Error(
        `${where}: ${doing} needs ${bytes} bytes, which would bring what reading this checkpoint ` +
          `allocates to ${this.usedBytes + bytes} bytes, over the budget maxTotalBytes = ` +
          `${this.maxTotalBytes} (default ${DEFAULT_MAX_TOTAL_BYTES}, 1 GiB); if the file is ` +
          'trusted, pass a larger maxTotalBytes in the read options',
      );
    }
  }

  /** A record's bytes, read and CRC-checked once (deflated records inflate once, budgeted). */
  private readRecord(record: string, where: string): Uint8Array {
    const cached = this.records.get(record);
    if (cached !== undefined) return cached;
    let bytes: Uint8Array;
    try {
      bytes = this.zip.read(record, {
        reserve: (n) => this.reserve(n, where, `inflating record '${record}'`),
      });
    } catch (e) {
      // The archive's errors name the file and the record; add which tensor needed it.
      const own = `${this.fileName}: `;
      if (where !== this.fileName && e instanceof Error && e.message.startsWith(own) &&
        !e.message.startsWith(`${where}:`)) {
        throw new Error(`${where}: ${e.message.slice(own.length)}`);
      }
      throw e;
    }
    this.records.set(record, bytes);
    return bytes;
  }

  /**
   * The storage as a typed array, on an aligned copy when the record is misaligned (its bytes
   * reserved by the caller). A Node Buffer's slice() is a view, so the copy is explicit.
   */
  private typedStorage(record: string, dtype: TorchDType, bytes: Uint8Array): TorchTensorArray {
    const cached = this.typed.get(record);
    if (cached !== undefined) return cached;
    let aligned = bytes;
    if (bytes.byteOffset % ITEM_SIZE[dtype] !== 0) {
      aligned = new Uint8Array(bytes.length);
      aligned.set(bytes);
    }
    const view = typedView(dtype, aligned);
    this.typed.set(record, view);
    return view;
  }

  materialize(ref: TorchTensorRef, what = 'tensor'): TorchTensorData {
    const { storage, shape, storageOffset } = ref;
    const itemSize = ITEM_SIZE[storage.dtype];
    const record = `${this.prefix}/data/${storage.key}`;
    const where = `${this.fileName}: ${what}`;
    const entry = this.zip.entry(record);
    if (entry === undefined) throw new Error(`${where}: missing storage record '${record}'`);
    // Sizes are checked from the declarations, before anything is inflated or allocated.
    if (entry.uncompressedSize < storage.numel * itemSize) {
      throw new Error(
        `${where}: storage record '${record}' holds ${entry.uncompressedSize} bytes, but its ` +
          `${storage.dtype} storage declares ${storage.numel} elements (${storage.numel * itemSize} bytes)`,
      );
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 0) {
      let last = storageOffset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * ref.strides[i];
      if (last >= storage.numel) {
        throw new Error(
          `${where}: storage '${record}' is shorter than the tensor needs: shape ` +
            `${JSON.stringify(shape)} with stride ${JSON.stringify(ref.strides)} at offset ` +
            `${storageOffset} reads element ${last}, but the storage has ${storage.numel}`,
        );
      }
    }
    if (n * itemSize > this.maxTensorBytes) {
      throw new Error(
        `${where}: shape ${JSON.stringify(shape)} needs ${n * itemSize} bytes, more than ` +
          `maxTensorBytes (${this.maxTensorBytes})`,
      );
    }
    const strides = contiguousStrides(shape);
    const contiguous = shape.every((s, i) => s <= 1 || ref.strides[i] === strides[i]);
    // The record (inflated once) and the tensor are checked together against the budget before
    // either is allocated; a misaligned stored record also needs an aligned copy to gather from.
    const inflate = this.records.has(record) || entry.method === 0 ? 0 : entry.uncompressedSize;
    const tensorBytes = n * itemSize;
    const doing = `materialising shape ${JSON.stringify(shape)} ${storage.dtype} from record ` +
      `'${record}'`;
    this.checkFits(
      inflate + tensorBytes,
      where,
      inflate > 0 ? `${doing} (inflating it: ${inflate} bytes, then ${tensorBytes} for the tensor)` : doing,
    );
    const bytes = this.readRecord(record, where);
    const copy = n > 0 && !contiguous && !this.typed.has(record) && bytes.byteOffset % itemSize !== 0
      ? bytes.length
      : 0;
    this.reserve(
      tensorBytes + copy,
      where,
      copy > 0 ? `${doing} (with an aligned copy of the misaligned record: ${copy} bytes)` : doing,
    );

    const out = allocate(storage.dtype, n);
    if (n === 0) {
      // nothing to copy
    } else if (contiguous) {
      const start = storageOffset * itemSize;
      new Uint8Array(out.buffer).set(bytes.subarray(start, start + n * itemSize));
    } else {
      gather(this.typedStorage(record, storage.dtype, bytes), out, shape, ref.strides, storageOffset);
    }
    if (itemSize > 1 && this.fileIsLittleEndian !== hostIsLittleEndian) swapBytes(out, itemSize);
    return {
      dtype: storage.dtype,
      shape: [...shape],
      strides,
      data: out,
      requiresGrad: ref.requiresGrad,
      isParameter: ref.isParameter,
      source: { storageKey: storage.key, storageOffset, strides: [...ref.strides] },
    };
  }
}

/** Copies a strided view of `src` into contiguous `out` (same element type). */
function gather(
  src: TorchTensorArray,
  out: TorchTensorArray,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): void {
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const s = src as unknown as ArrayLike<number | bigint>;
  const o = out as unknown as { [i: number]: number | bigint };
  // Innermost dimension as a tight loop; outer ones as an odometer.
  const innerSize = shape[rank - 1];
  const innerStride = strides[rank - 1];
  let base = offset;
  for (let k = 0; k < out.length; k += innerSize) {
    for (let j = 0, p = base; j < innerSize; j++, p += innerStride) o[k + j] = s[p];
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      base += strides[d];
      if (index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

function readSource(source: string | Uint8Array, options: ReadTorchOptions, fn: string): [Uint8Array, string] {
  if (typeof source !== 'string') return [source, options.name ?? '<buffer>'];
  try {
    return [readFileSync(source), source];
  } catch (e) {
    throw unreadable(fn, source, e as NodeJS.ErrnoException);
  }
}

/** A file error that says which file and what it should have been, not a bare ENOENT. */
function unreadable(fn: string, file: string, e: NodeJS.ErrnoException): Error {
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
  return new Error(`Error in ${fn}: cannot read ${file}: ${why} (expected a torchvision checkpoint written by torch.save)`);
}

function open(bytes: Uint8Array, fileName: string, options: ReadTorchOptions): Checkpoint {
  rejectLegacy(bytes, fileName);
  return new Checkpoint(fileName, ZipArchive.fromBytes(bytes, fileName), options);
}

/**
 * Reads a checkpoint's data.pkl (without reading tensor elements) to inspect what it holds:
 * epochs, optimizer settings, several state dicts.
 *
 * @example
 * ```ts
 * const ckpt = openTorchCheckpoint('last.pth');
 * const root = ckpt.root as Map<PickleValue, PickleValue>;
 * console.log(root.get('epoch')); // 3
 * ```
 */
export function openTorchCheckpoint(
  source: string | Uint8Array,
  options: ReadTorchOptions = {},
): TorchCheckpoint {
  const [bytes, fileName] = readSource(source, options, 'openTorchCheckpoint');
  return open(bytes, fileName, options);
}

function describeKeys(root: Map<PickleValue, PickleValue>): string {
  const parts = [...root.entries()].slice(0, 20).map(([k, v]) => {
    const kind = v instanceof Map && [...v.values()].some(isTorchTensorRef)
      ? 'dict with tensors'
      : isTorchTensorRef(v) ? 'tensor' : pickleTypeName(v);
    return `${typeof k === 'string' ? `'${k}'` : String(k)} (${kind})`;
  });
  return parts.join(', ') + (root.size > 20 ? `, ... (${root.size} keys)` : '');
}

/** Why `v` is not a state dict, or undefined if it is one. */
function notStateDict(v: PickleValue): string | undefined {
  if (!(v instanceof Map)) return `it has type ${pickleTypeName(v)}, not dict`;
  for (const [k, x] of v) {
    if (typeof k !== 'string') return `key ${String(k)} has type ${pickleTypeName(k)}, not str`;
    if (!isTorchTensorRef(x)) return `'${k}' holds a value of type ${pickleTypeName(x)}, not a tensor`;
  }
  return undefined;
}

function selectStateDict(ckpt: Checkpoint, options: ReadTorchOptions): Map<PickleValue, PickleValue> {
  const { root, fileName } = ckpt;
  if (options.key !== undefined) {
    if (!(root instanceof Map)) {
      throw new Error(
        `${fileName}: cannot pick key '${options.key}': the checkpoint holds a value of type ` +
          `${pickleTypeName(root)}, not a dict`,
      );
    }
    if (!root.has(options.key)) {
      throw new Error(
        `${fileName}: no top-level key '${options.key}'; top-level keys are ${describeKeys(root)}`,
      );
    }
    const v = root.get(options.key)!;
    const why = notStateDict(v);
    if (why !== undefined) throw new Error(`${fileName}: '${options.key}' is not a state dict: ${why}`);
    return v as Map<PickleValue, PickleValue>;
  }
  if (!(root instanceof Map)) {
    throw new Error(
      `${fileName} holds a value of type ${pickleTypeName(root)}, not a state dict or a dict holding one`,
    );
  }
  if (notStateDict(root) === undefined) return root;
  for (const key of STATE_DICT_KEYS) {
    const v = root.get(key);
    if (v !== undefined && notStateDict(v) === undefined) return v as Map<PickleValue, PickleValue>;
  }
  throw new Error(
    `${fileName} holds no state dict at the top level or under ` +
      `${STATE_DICT_KEYS.map((k) => `'${k}'`).join(' / ')}; top-level keys are ` +
      `${describeKeys(root)}; pass options.key to pick one`,
  );
}

function stateDictOf(ckpt: Checkpoint, options: ReadTorchOptions): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of selectStateDict(ckpt, options)) {
    out.set(k as string, ckpt.materialize(v as TorchTensorRef, `tensor '${k as string}'`));
  }
  return out;
}

/**
 * The names and shapes of a checkpoint's state dict, read from data.pkl alone (no tensor is
 * materialised): what architecture a file holds, cheaply. The state dict is picked as
 * {@link readTorchStateDictSync} picks it.
 *
 * @example
 * ```ts
 * const shapes = readTorchShapes('maskrcnn_resnet50_fpn.pth');
 * shapes.get('roi_heads.box_predictor.cls_score.weight'); // [91, 1024]
 * ```
 */
export function readTorchShapes(source: string | Uint8Array, options: ReadTorchOptions = {}): Map<string, number[]> {
  const [bytes, fileName] = readSource(source, options, 'readTorchShapes');
  const sd = selectStateDict(open(bytes, fileName, options), options);
  return new Map([...sd].map(([k, v]) => [k as string, [...(v as TorchTensorRef).shape]]));
}

/**
 * Reads the state dict of a `torch.save` checkpoint, synchronously. The top level may be the
 * state dict itself or a training checkpoint holding it under `options.key` or one of
 * {@link STATE_DICT_KEYS}. Nothing in the file is executed: any global other than tensors,
 * storages and OrderedDict is refused.
 *
 * @example
 * ```ts
 * const sd = readTorchStateDictSync('maskrcnn_resnet50_fpn.pth');
 * const t = sd.get('rpn.head.conv.0.0.weight')!; // { dtype: 'float32', shape: [256, 256, 3, 3], ... }
 * ```
 */
export function readTorchStateDictSync(
  source: string | Uint8Array,
  options: ReadTorchOptions = {},
): StateDict {
  const [bytes, fileName] = readSource(source, options, 'readTorchStateDictSync');
  return stateDictOf(open(bytes, fileName, options), options);
}

/**
 * Reads the state dict of a `torch.save` checkpoint; the file is read asynchronously, the rest
 * as {@link readTorchStateDictSync}.
 *
 * @example
 * ```ts
 * const sd = await readTorchStateDict('last.pth', { key: 'model' });
 * for (const [name, t] of sd) console.log(name, t.dtype, t.shape);
 * ```
 */
export async function readTorchStateDict(
  source: string | Uint8Array,
  options: ReadTorchOptions = {},
): Promise<StateDict> {
  const bytes =
    typeof source === 'string'
      ? await readFile(source).catch((e: NodeJS.ErrnoException) => {
          throw unreadable('readTorchStateDict', source, e);
        })
      : source;
  const fileName = typeof source === 'string' ? source : options.name ?? '<buffer>';
  return stateDictOf(open(bytes, fileName, options), options);
}

let halfTable: Float32Array | undefined;

/** float16 bits -> float32 value for all 65536 patterns (exact: every half is a float). */
function halfToFloatTable(): Float32Array {
  if (halfTable !== undefined) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

/**
 * The tensor's values as float32: the same array for float32 (no copy), exact for float16 and
 * bfloat16, rounded to nearest for float64 and large integers, 0/1 for bool.
 *
 * @example
 * ```ts
 * const w = toFloat32(sd.get('roi_heads.box_predictor.cls_score.weight')!);
 * tf.tensor(w, [91, 1024]);
 * ```
 */
export function toFloat32(t: TorchTensorData): Float32Array {
  const { data } = t;
  if (t.dtype === 'float32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (t.dtype === 'float16') {
    const table = halfToFloatTable();
    const bits = data as Uint16Array;
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  } else if (t.dtype === 'bfloat16') {
    // bfloat16 is the top half of a float32.
    const bits = data as Uint16Array;
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  } else if (t.dtype === 'int64') {
    const big = data as BigInt64Array;
    for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
  } else {
    out.set(data as Exclude<TorchTensorArray, BigInt64Array | Uint16Array>);
  }
  return out;
}

/**
 * The values of an integer or bool tensor as int32 (`num_batches_tracked` is an int64 scalar);
 * throws if a value does not fit, or for floating dtypes.
 *
 * @example
 * ```ts
 * toInt32(sd.get('backbone.body.bn1.num_batches_tracked')!); // Int32Array [0]
 * ```
 */
export function toInt32(t: TorchTensorData): Int32Array {
  const { data, dtype } = t;
  if (dtype === 'int32') return data as Int32Array;
  if (dtype === 'int64') {
    const big = data as BigInt64Array;
    const out = new Int32Array(big.length);
    for (let i = 0; i < big.length; i++) {
      const v = big[i];
      if (v < -2147483648n || v > 2147483647n) {
        throw new Error(`toInt32: element ${i} of an int64 tensor is ${v}, outside the int32 range`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  if (dtype === 'int16' || dtype === 'int8' || dtype === 'uint8' || dtype === 'bool') {
    return Int32Array.from(data as Int16Array | Int8Array | Uint8Array);
  }
  throw new Error(`toInt32: tensor has dtype ${dtype}; only integer and bool tensors convert`);
}
