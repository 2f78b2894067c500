/**
 * Writes zip archives the way torch.save lays them out, for forging test inputs: stored entries
 * (or raw deflate streams given per entry), CRC-32 in the central directory, optional ZIP64
 * records for every entry, and 64-byte data alignment via an extra field.
 */
import { crc32 } from 'zlib';
import { ZipArchive } from '../../../src/io/zip_archive';

/**
 * An entry's data already deflated (raw deflate stream), with what the archive should declare
 * about it: its uncompressed size and CRC-32 (both default to the truth when `plain` is given).
 */
export interface Deflated {
  readonly deflated: Uint8Array;
  readonly size: number;
  readonly crc: number;
}

export interface ZipWriteOptions {
  /** Write ZIP64 extra fields (all sizes/offsets saturated) and the ZIP64 end records. */
  zip64?: boolean;
  /** Align entry data to this many bytes with an `FB` extra field, as torch does. */
  align?: number;
}

const enc = new TextEncoder();

export function writeZip(
  entries: ReadonlyArray<[string, Uint8Array | Deflated]>,
  options: ZipWriteOptions = {},
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const central: Uint8Array[] = [];
  const emit = (b: Uint8Array): void => {
    chunks.push(b);
    offset += b.length;
  };
  for (const [name, content] of entries) {
    const isDeflated = !(content instanceof Uint8Array);
    const data = content instanceof Uint8Array ? content : content.deflated;
    const size = content instanceof Uint8Array ? content.length : content.size;
    const crc = content instanceof Uint8Array ? crc32(content) : content.crc;
    const nameBytes = enc.encode(name);
    const headerOffset = offset;
    let pad = 0;
    if (options.align !== undefined) {
      const base = offset + 30 + nameBytes.length + 4;
      pad = (options.align - (base % options.align)) % options.align;
    }
    const local = new Uint8Array(30 + nameBytes.length + (options.align !== undefined ? 4 + pad : 0));
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x0808, true); // data descriptor + utf-8, sizes left 0 as torch does
    lv.setUint16(8, isDeflated ? 8 : 0, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, local.length - 30 - nameBytes.length, true);
    local.set(nameBytes, 30);
    if (options.align !== undefined) {
      lv.setUint16(30 + nameBytes.length, 0x4246, true); // 'FB'
      lv.setUint16(32 + nameBytes.length, pad, true);
      local.fill(0x5a, 34 + nameBytes.length);
    }
    emit(local);
    emit(data);
    const extra = options.zip64 ? 4 + 24 : 0;
    const c = new Uint8Array(46 + nameBytes.length + extra);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(8, 0x0808, true);
    cv.setUint16(10, isDeflated ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, options.zip64 ? 0xffffffff : data.length, true);
    cv.setUint32(24, options.zip64 ? 0xffffffff : size, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, extra, true);
    cv.setUint32(42, options.zip64 ? 0xffffffff : headerOffset, true);
    c.set(nameBytes, 46);
    if (options.zip64) {
      const x = 46 + nameBytes.length;
      cv.setUint16(x, 1, true);
      cv.setUint16(x + 2, 24, true);
      cv.setBigUint64(x + 4, BigInt(size), true);
      cv.setBigUint64(x + 12, BigInt(data.length), true);
      cv.setBigUint64(x + 20, BigInt(headerOffset), true);
    }
    central.push(c);
  }
  const cdOffset = offset;
  for (const c of central) emit(c);
  const cdSize = offset - cdOffset;
  if (options.zip64) {
    const z = new Uint8Array(56);
    const zv = new DataView(z.buffer);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setBigUint64(24, BigInt(entries.length), true);
    zv.setBigUint64(32, BigInt(entries.length), true);
    zv.setBigUint64(40, BigInt(cdSize), true);
    zv.setBigUint64(48, BigInt(cdOffset), true);
    const zOffset = offset;
    emit(z);
    const loc = new Uint8Array(20);
    const locv = new DataView(loc.buffer);
    locv.setUint32(0, 0x07064b50, true);
    locv.setBigUint64(8, BigInt(zOffset), true);
    locv.setUint32(16, 1, true);
    emit(loc);
  }
  const e = new Uint8Array(22);
  const ev = new DataView(e.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, options.zip64 ? 0xffff : entries.length, true);
  ev.setUint16(10, options.zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, options.zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, options.zip64 ? 0xffffffff : cdOffset, true);
  emit(e);
  const out = new Uint8Array(offset);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** The entries of an archive as [name, bytes] pairs (copies), for editing and rewriting. */
export function zipEntries(bytes: Uint8Array, name = 'input'): Array<[string, Uint8Array]> {
  const zip = ZipArchive.fromBytes(bytes, name);
  return zip.entries.map((e) => [e.name, zip.read(e.name).slice()]);
}
