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
 * into a buffer of exactly the declared size.
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
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
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
   * Contents of entry `name`. Stored entries are views into the archive bytes (do not mutate);
   * deflated ones are freshly inflated.
   *
   * @example
   * ```ts
   * const version = new TextDecoder().decode(zip.read('model/version'));
   * ```
   */
  read(name: string): Uint8Array {
    const e = this.byName.get(name);
    if (e === undefined) throw new Error(`${this.fileName}: zip archive has no entry '${name}'`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    if (e.method === 0) {
      if (e.compressedSize !== e.uncompressedSize) {
        throw new Error(
          `${this.fileName}: stored entry '${name}' declares ${e.uncompressedSize} bytes but ` +
            `holds ${e.compressedSize}`,
        );
      }
      return raw;
    }
    if (e.method === 8) {
      if (e.uncompressedSize > Math.max(1024, e.compressedSize * MAX_DEFLATE_RATIO)) {
        throw new Error(
          `${this.fileName}: deflated entry '${name}' declares ${e.uncompressedSize} bytes from ` +
            `${e.compressedSize}, more than deflate can produce`,
        );
      }
      const out = new Uint8Array(e.uncompressedSize);
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(raw, { out });
      } catch (err) {
        throw new Error(`${this.fileName}: entry '${name}' is corrupt: ${String(err)}`);
      }
      if (inflated.length !== e.uncompressedSize) {
        throw new Error(
          `${this.fileName}: entry '${name}' inflates to ${inflated.length} bytes, ` +
            `${e.uncompressedSize} declared`,
        );
      }
      return inflated;
    }
    throw new Error(
      `${this.fileName}: entry '${name}' uses zip compression method ${e.method}; ` +
        'only stored (0) and deflate (8) are supported',
    );
  }
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

    // The local header repeats the name and has its own (alignment) extra field; its sizes may
    // be zero (data-descriptor flag), so only its lengths are used.
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
    const dataOffset = localHeaderOffset + 30 + r.u16(localHeaderOffset + 26) +
      r.u16(localHeaderOffset + 28);
    if (dataOffset + compressedSize > bytes.length) {
      throw new Error(
        `${fileName}: truncated zip archive: entry '${name}' declares ${compressedSize} bytes at ` +
          `byte ${dataOffset}, past the end of the ${bytes.length}-byte file`,
      );
    }
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset, dataOffset });
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
