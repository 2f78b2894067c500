/**
 * A minimal, bounds-checked reader for the zip archives written by `torch.save` (torch >= 1.6).
 *
 * torch's `PyTorchStreamWriter` stores every record uncompressed (method 0), pads local headers
 * with an `FB` extra field so data starts on a 64-byte boundary, sets the data-descriptor flag
 * (so local headers carry zero sizes: only the central directory is authoritative) and switches
 * to ZIP64 records for archives or entries past 4 GiB. This reader trusts nothing: every offset
 * and size it reads is checked against the archive before use, so a truncated or forged file
 * gives an Error naming the archive and the entry instead of a silent short read.
 *
 * Stored entries are returned as views into the archive bytes (no copy); deflated entries (never
 * written by torch, but produced when someone re-zips a checkpoint) are inflated with `fflate`
 * into a buffer of the declared size, which is reserved first (see {@link ZipReadOptions}), and
 * refused if the stream produces more. The CRC-32 of every entry read is checked against the
 * central directory (and the local header or data descriptor where they repeat it), so flipped
 * bytes give an Error naming the archive and the entry instead of silently wrong weights.
 */
import { inflateSync } from 'fflate';

/** One file record of the central directory. */
export interface ZipEntry {
  /** Full name inside the archive, e.g. `model/data/0`. */
  readonly name: string;
  /** 0 = stored, 8 = deflate; anything else is rejected when read. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the local file header in the archive. */
  readonly localHeaderOffset: number;
  /** Offset of the entry's data (after the local header), checked to lie inside the archive. */
  readonly dataOffset: number;
  /** CRC-32 of the uncompressed data, as the central directory records it. */
  readonly crc32: number;
}

/**
 * Options of {@link ZipArchive.read}.
 *
 * @example
 * ```ts
 * let used = 0;
 * const bytes = zip.read('model/data/0', {
 *   reserve: (n) => { if ((used += n) > 2 ** 30) throw new Error('over budget'); },
 * });
 * ```
 */
export interface ZipReadOptions {
  /**
   * Called with the number of bytes about to be allocated (the declared uncompressed size of a
   * deflated entry) before allocating them; throw to refuse. Not called for stored entries,
   * which are views into the archive.
   */
  readonly reserve?: (bytes: number) => void;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** deflate cannot expand more than ~1032:1; a larger declared ratio is a forged size. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Entries of a zip archive held in memory.
 *
 * @example
 * ```ts
 * const zip = ZipArchive.fromBytes(fs.readFileSync('model.pth'), 'model.pth');
 * const pkl = zip.read('model/data.pkl'); // Uint8Array view, no copy
 * ```
 */
export class ZipArchive {
  private readonly byName: ReadonlyMap<string, ZipEntry>;
  /** Stored entries whose CRC-32 has been checked (their bytes cannot change). */
  private readonly verified = new Set<string>();

  private constructor(
    /** Name used in error messages (a file path, or `<buffer>`). */
    readonly fileName: string,
    private readonly bytes: Uint8Array,
    /** Entries in central-directory order. */
    readonly entries: readonly ZipEntry[],
  ) {
    const byName = new Map<string, ZipEntry>();
    for (const e of entries) {
      if (byName.has(e.name)) {
        // Python's zipfile would take the last one and torch the first: refuse the ambiguity.
        throw new Error(`${fileName}: zip archive has two entries named '${e.name}'`);
      }
      byName.set(e.name, e);
    }
    this.byName = byName;
  }

  /**
   * Parses the central directory of `bytes`. Throws if it is not a zip archive, is truncated, or
   * has any record pointing outside the file.
   *
   * @example
   * ```ts
   * const zip = ZipArchive.fromBytes(bytes, 'resnet.pth');
   * console.log(zip.entries.map((e) => e.name));
   * ```
   */
  static fromBytes(bytes: Uint8Array, fileName: string): ZipArchive {
    return new ZipArchive(fileName, bytes, readCentralDirectory(bytes, fileName));
  }

  /** True if an entry of that exact name exists. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The entry named `name`, or undefined. */
  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * Contents of entry `name`, after checking its CRC-32. Stored entries are views into the
   * archive bytes (do not mutate); deflated ones are freshly inflated, after `options.reserve`
   * has accepted their declared size.
   *
   * @example
   * ```ts
   * const version = new TextDecoder().decode(zip.read('model/version'));
   * ```
   */
  read(name: string, options: ZipReadOptions = {}): Uint8Array {
    const e = this.byName.get(name);
    if (e === undefined) throw new Error(`${this.fileName}: zip archive has no entry '${name}'`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) {
      if (e.compressedSize !== e.uncompressedSize) {
        throw new Error(
          `${this.fileName}: stored entry '${name}' declares ${e.uncompressedSize} bytes but ` +
            `holds ${e.compressedSize}`,
        );
      }
      if (this.verified.has(name)) return raw;
      data = raw;
    } else if (e.method === 8) {
      data = this.inflate(e, raw, options);
    } else {
      throw new Error(
        `${this.fileName}: entry '${name}' uses zip compression method ${e.method}; ` +
          'only stored (0) and deflate (8) are supported',
      );
    }
    const crc = crc32(data);
    if (crc !== e.crc32) {
      throw new Error(
        `${this.fileName}: entry '${name}' is corrupt: its data has CRC-32 ${hex32(crc)}, but the ` +
          `archive records ${hex32(e.crc32)}`,
      );
    }
    if (e.method === 0) this.verified.add(name);
    return data;
  }

  private inflate(e: ZipEntry, raw: Uint8Array, options: ZipReadOptions): Uint8Array {
    const { name } = e;
    if (e.uncompressedSize > Math.max(1024, e.compressedSize * MAX_DEFLATE_RATIO)) {
      throw new Error(
        `${this.fileName}: deflated entry '${name}' declares ${e.uncompressedSize} bytes from ` +
          `${e.compressedSize}, more than deflate can produce`,
      );
    }
    options.reserve?.(e.uncompressedSize);
    // One spare byte: a stream that fills it produces more than declared. fflate writes into the
    // given buffer only (never grows it), so a forged stream cannot allocate past this.
    const out = new Uint8Array(e.uncompressedSize + 1);
    const tooLong = `${this.fileName}: deflated entry '${name}' inflates to more than its declared ` +
      `${e.uncompressedSize} bytes; inflating stopped there`;
    let inflated: Uint8Array;
    try {
      inflated = inflateSync(raw, { out });
    } catch (err) {
      // A stored block past the end of `out` surfaces as a RangeError from the copy.
      if (err instanceof RangeError) throw new Error(tooLong);
      throw new Error(`${this.fileName}: entry '${name}' is corrupt: ${String(err)}`);
    }
    if (inflated.length > e.uncompressedSize) throw new Error(tooLong);
    if (inflated.length !== e.uncompressedSize) {
      throw new Error(
        `${this.fileName}: entry '${name}' inflates to ${inflated.length} bytes, ` +
          `${e.uncompressedSize} declared`,
      );
    }
    return inflated;
  }
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

let crcTables: Uint32Array[] | undefined;

/** Slicing-by-8 tables of the zip (IEEE 802.3, reflected 0xEDB88320) CRC-32. */
function crcTablesOf(): Uint32Array[] {
  if (crcTables !== undefined) return crcTables;
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1];
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(t);
  }
  crcTables = tables;
  return tables;
}

/**
 * The CRC-32 zip records for `data` (as `zlib.crc32`), computed in plain TypeScript so that the
 * reader runs in browsers too.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 * ```
 */
export function crc32(data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = crcTablesOf();
  let c = 0xffffffff;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^
      t3[data[i + 4]] ^ t2[data[i + 5]] ^ t1[data[i + 6]] ^ t0[data[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Little-endian reads that throw instead of running past the end. */
class Reader {
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileName: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw new Error(
        `${this.fileName}: truncated zip archive: ${what} at byte ${offset} (+${length}) lies ` +
          `past the end of the ${this.bytes.length}-byte file`,
      );
    }
  }
  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  u64(offset: number, what: string): number {
    const v = this.view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`${this.fileName}: ${what} ${v} is too large for this reader`);
    }
    return Number(v);
  }
}

function readCentralDirectory(bytes: Uint8Array, fileName: string): ZipEntry[] {
  const r = new Reader(bytes, fileName);
  const eocd = findEocd(bytes, r);
  if (eocd < 0) {
    const looksZip = bytes.length >= 4 && r.u32(0) === SIG_LOCAL;
    throw new Error(
      looksZip
        ? `${fileName}: truncated zip archive: it starts like a zip file but has no ` +
            'end-of-central-directory record'
        : `${fileName}: not a zip archive (no end-of-central-directory record)`,
    );
  }
  let count = r.u16(eocd + 10);
  let cdSize = r.u32(eocd + 12);
  let cdOffset = r.u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: the locator sits right before the classic record and points at the ZIP64 record.
    const loc = eocd - 20;
    if (loc < 0 || r.u32(loc) !== SIG_ZIP64_LOCATOR) {
      throw new Error(`${fileName}: zip archive needs ZIP64 records but has no ZIP64 locator`);
    }
    const z64 = r.u64(loc + 8, 'ZIP64 end record offset');
    r.need(z64, 56, 'ZIP64 end-of-central-directory record');
    if (r.u32(z64) !== SIG_ZIP64_EOCD) {
      throw new Error(`${fileName}: ZIP64 locator points at byte ${z64}, not a ZIP64 end record`);
    }
    count = r.u64(z64 + 32, 'entry count');
    cdSize = r.u64(z64 + 40, 'central directory size');
    cdOffset = r.u64(z64 + 48, 'central directory offset');
  }
  r.need(cdOffset, cdSize, 'central directory');
  // Each central record is at least 46 bytes: a larger count is forged, not a reason to loop.
  if (count * 46 > cdSize) {
    throw new Error(
      `${fileName}: zip archive declares ${count} entries in a ${cdSize}-byte central directory`,
    );
  }

  const decoder = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || r.u32(p) !== SIG_CENTRAL) {
      throw new Error(`${fileName}: central directory record ${i} at byte ${p} is malformed`);
    }
    const flags = r.u16(p + 8);
    const method = r.u16(p + 10);
    const crc = r.u32(p + 16);
    let compressedSize = r.u32(p + 20);
    let uncompressedSize = r.u32(p + 24);
    const nameLen = r.u16(p + 28);
    const extraLen = r.u16(p + 30);
    const commentLen = r.u16(p + 32);
    let localHeaderOffset = r.u32(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cdEnd) {
      throw new Error(`${fileName}: central directory record ${i} runs past the directory`);
    }
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if ((flags & 1) !== 0) throw new Error(`${fileName}: entry '${name}' is encrypted`);

    // ZIP64 extra field (id 1): 8-byte values for exactly those fields saturated at 0xffffffff.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = r.u16(x);
      const size = r.u16(x + 2);
      if (x + 4 + size > xEnd) break;
      if (id === 1) {
        let q = x + 4;
        const take = (what: string): number => {
          if (q + 8 > x + 4 + size) {
            throw new Error(`${fileName}: entry '${name}' has a short ZIP64 extra field (${what})`);
          }
          const v = r.u64(q, `${what} of '${name}'`);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take('size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('offset');
      }
      x += 4 + size;
    }

    // The local header repeats the name and has its own (alignment) extra field. torch sets the
    // data-descriptor flag and leaves its CRC and sizes zero (they follow the data instead);
    // whatever it does record must agree with the central directory.
    if (localHeaderOffset + 30 > bytes.length) {
      throw new Error(
        `${fileName}: truncated zip archive: entry '${name}' has its header at byte ` +
          `${localHeaderOffset}, past the end of the ${bytes.length}-byte file`,
      );
    }
    if (r.u32(localHeaderOffset) !== SIG_LOCAL) {
      throw new Error(
        `${fileName}: entry '${name}' points at byte ${localHeaderOffset}, not a local file header`,
      );
    }
    const localMethod = r.u16(localHeaderOffset + 8);
    if (localMethod !== method) {
      throw new Error(
        `${fileName}: entry '${name}' has compression method ${localMethod} in its local header ` +
          `but ${method} in the central directory`,
      );
    }
    const deferred = (r.u16(localHeaderOffset + 6) & 8) !== 0;
    const local: Array<[string, number, number]> = [
      ['CRC-32', r.u32(localHeaderOffset + 14), crc],
      ['compressed size', r.u32(localHeaderOffset + 18), compressedSize],
      ['size', r.u32(localHeaderOffset + 22), uncompressedSize],
    ];
    for (const [what, got, want] of local) {
      const absent = (deferred && got === 0) || (what !== 'CRC-32' && got === 0xffffffff);
      if (!absent && got !== want) {
        throw new Error(
          `${fileName}: entry '${name}' has ${what} ${what === 'CRC-32' ? hex32(got) : got} in ` +
            `its local header but ${what === 'CRC-32' ? hex32(want) : want} in the central directory`,
        );
      }
    }
    const dataOffset = localHeaderOffset + 30 + r.u16(localHeaderOffset + 26) +
      r.u16(localHeaderOffset + 28);
    if (dataOffset + compressedSize > bytes.length) {
      throw new Error(
        `${fileName}: truncated zip archive: entry '${name}' declares ${compressedSize} bytes at ` +
          `byte ${dataOffset}, past the end of the ${bytes.length}-byte file`,
      );
    }
    // The data descriptor (signature optional) repeats the CRC-32 after the data.
    const dd = dataOffset + compressedSize;
    if (deferred && dd + 8 <= bytes.length && r.u32(dd) === SIG_DATA_DESCRIPTOR && r.u32(dd + 4) !== crc) {
      throw new Error(
        `${fileName}: entry '${name}' has CRC-32 ${hex32(r.u32(dd + 4))} in its data descriptor ` +
          `but ${hex32(crc)} in the central directory`,
      );
    }
    entries.push({
      name, method, compressedSize, uncompressedSize, localHeaderOffset, dataOffset, crc32: crc,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Offset of the end-of-central-directory record, scanning back over a possible comment. */
function findEocd(bytes: Uint8Array, r: Reader): number {
  const last = bytes.length - EOCD_SIZE;
  const first = Math.max(0, last - MAX_COMMENT);
  for (let p = last; p >= first; p--) {
    if (
      bytes[p] === 0x50 && bytes[p + 1] === 0x4b && bytes[p + 2] === 0x05 &&
      bytes[p + 3] === 0x06 && r.u32(p) === SIG_EOCD &&
      p + EOCD_SIZE + r.u16(p + 20) === bytes.length
    ) {
      return p;
    }
  }
  return -1;
}
