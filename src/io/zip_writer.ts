/**
 * Writes zip archives the way torch's `PyTorchStreamWriter` (caffe2/serialize/inline_container.cc,
 * over miniz) does, byte for byte as torch 1.13 writes them, so that what we write is what
 * `torch.load` has always read and {@link ZipArchive} reads back:
 *
 * - every record stored (method 0), local header with the data-descriptor and UTF-8 flags
 *   (0x0808), zero time, date, CRC and sizes (they follow the data, in a data descriptor;
 *   an empty record has neither the flag nor the descriptor);
 * - an `FB` extra field of `Z` bytes after each name, so that every record's data starts on a
 *   64-byte boundary (torch maps storages in place where it can, and aligned data lets it);
 * - a central directory without extra fields, then a ZIP64 end record and locator (miniz is
 *   opened with MZ_ZIP_FLAG_WRITE_ZIP64, so torch writes them even for small files), then the
 *   classic end record.
 *
 * Records and archives past 4 GiB need ZIP64 fields in every header; a Mask R-CNN is 170 MB, so
 * they are refused with an error instead of written untested.
 */
import { crc32 } from './zip_archive';

/**
 * One record of an archive: its full name inside the archive and its bytes.
 *
 * @example
 * ```ts
 * const record: ZipRecord = { name: 'archive/version', data: new TextEncoder().encode('3\n') };
 * ```
 */
export interface ZipRecord {
  readonly name: string;
  readonly data: Uint8Array;
}

/** torch's kFieldAlignment: record data starts on a multiple of 64 bytes. */
const ALIGNMENT = 64;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const DATA_DESCRIPTOR = 16;
const ZIP64_EOCD = 56;
const ZIP64_LOCATOR = 20;
const EOCD = 22;
const LIMIT = 0xffffffff;
/** General-purpose flags: bit 11 (UTF-8 names), and bit 3 (sizes in a data descriptor). */
const UTF8 = 0x0800;
const DESCRIBED = 0x0008;

/**
 * The bytes of a stored zip archive holding `records`, in pieces (each record's data is passed
 * through, not copied), as torch's PyTorchStreamWriter writes it; see the module comment. Write
 * the pieces one after another, or concatenate them.
 *
 * @throws Error when two records have the same name, or the archive would pass 4 GiB.
 * @example
 * ```ts
 * const pieces = torchZipChunks([{ name: 'archive/version', data: new TextEncoder().encode('3\n') }]);
 * fs.writeFileSync('a.zip', Buffer.concat(pieces));
 * ```
 */
export function torchZipChunks(records: readonly ZipRecord[]): Uint8Array[] {
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  const central: { name: Uint8Array; flags: number; crc: number; size: number; offset: number }[] = [];
  let cursor = 0;
  for (const { name, data } of records) {
    if (seen.has(name)) throw new Error(`Error in torchZipChunks: two records are named '${name}'`);
    seen.add(name);
    const nameBytes = encoder.encode(name);
    if (nameBytes.length > 0xffff) throw new Error(`Error in torchZipChunks: record name of ${nameBytes.length} bytes is too long`);
    // inline_container.cc getPadding: the FB field pads what follows the header, name and the
    // field's own 4 bytes up to the next multiple of 64 (adding 0 to 63 'Z' bytes).
    const start = cursor + LOCAL_HEADER + nameBytes.length + 4;
    const padding = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    // miniz writes no data descriptor for an empty record (its zero CRC and sizes are final).
    const described = data.byteLength > 0;
    const flags = described ? UTF8 | DESCRIBED : UTF8;
    const end = start + padding + data.byteLength + (described ? DATA_DESCRIPTOR : 0);
    if (data.byteLength >= LIMIT || end >= LIMIT) {
      throw new Error(
        `Error in torchZipChunks: record '${name}' (${data.byteLength} bytes) would end at byte ${end}: ` +
          'archives past 4 GiB need ZIP64 headers, which this writer does not write',
      );
    }
    const header = new Uint8Array(LOCAL_HEADER + nameBytes.length + 4 + padding);
    const h = new DataView(header.buffer);
    h.setUint32(0, 0x04034b50, true);
    h.setUint16(6, flags, true);
    h.setUint16(26, nameBytes.length, true);
    h.setUint16(28, 4 + padding, true);
    header.set(nameBytes, LOCAL_HEADER);
    const extra = LOCAL_HEADER + nameBytes.length;
    header.set([0x46, 0x42, padding & 0xff, padding >> 8], extra); // 'FB', size
    header.fill(0x5a, extra + 4); // 'Z'
    const crc = crc32(data);
    const descriptor = new Uint8Array(DATA_DESCRIPTOR);
    const d = new DataView(descriptor.buffer);
    d.setUint32(0, 0x08074b50, true);
    d.setUint32(4, crc, true);
    d.setUint32(8, data.byteLength, true);
    d.setUint32(12, data.byteLength, true);
    chunks.push(header, data);
    if (described) chunks.push(descriptor);
    central.push({ name: nameBytes, flags, crc, size: data.byteLength, offset: cursor });
    cursor = end;
  }

  const cdSize = central.reduce((n, e) => n + CENTRAL_HEADER + e.name.length, 0);
  if (cursor + cdSize + ZIP64_EOCD + ZIP64_LOCATOR + EOCD >= LIMIT) {
    throw new Error('Error in torchZipChunks: the archive would pass 4 GiB; archives that large need ZIP64 headers, which this writer does not write');
  }
  const tail = new Uint8Array(cdSize + ZIP64_EOCD + ZIP64_LOCATOR + EOCD);
  const t = new DataView(tail.buffer);
  let p = 0;
  for (const e of central) {
    t.setUint32(p, 0x02014b50, true);
    t.setUint16(p + 8, e.flags, true);
    t.setUint32(p + 16, e.crc, true);
    t.setUint32(p + 20, e.size, true);
    t.setUint32(p + 24, e.size, true);
    t.setUint16(p + 28, e.name.length, true);
    t.setUint32(p + 42, e.offset, true);
    tail.set(e.name, p + CENTRAL_HEADER);
    p += CENTRAL_HEADER + e.name.length;
  }
  const cdOffset = cursor;
  const zip64At = cdOffset + cdSize;
  // ZIP64 end record: its size after this field (44), made by 0x031e, needs 4.5 (0x2d).
  t.setUint32(p, 0x06064b50, true);
  t.setBigUint64(p + 4, 44n, true);
  t.setUint16(p + 12, 0x031e, true);
  t.setUint16(p + 14, 0x2d, true);
  t.setBigUint64(p + 24, BigInt(central.length), true);
  t.setBigUint64(p + 32, BigInt(central.length), true);
  t.setBigUint64(p + 40, BigInt(cdSize), true);
  t.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += ZIP64_EOCD;
  t.setUint32(p, 0x07064b50, true);
  t.setBigUint64(p + 8, BigInt(zip64At), true);
  t.setUint32(p + 16, 1, true);
  p += ZIP64_LOCATOR;
  t.setUint32(p, 0x06054b50, true);
  t.setUint16(p + 8, Math.min(central.length, 0xffff), true);
  t.setUint16(p + 10, Math.min(central.length, 0xffff), true);
  t.setUint32(p + 12, cdSize, true);
  t.setUint32(p + 16, cdOffset, true);
  chunks.push(tail);
  return chunks;
}
