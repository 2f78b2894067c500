import { readFileSync } from 'fs';
import * as path from 'path';
import { zipSync } from 'fflate';
import * as zlib from 'zlib';
import { ZipArchive, crc32 } from '../../src/io/zip_archive';
import { writeZip } from './support/zip_writer';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');
const enc = new TextEncoder();

const sample: Array<[string, Uint8Array]> = [
  ['arch/data.pkl', enc.encode('pickle bytes')],
  ['arch/data/0', Uint8Array.from({ length: 100 }, (_, i) => i)],
  ['arch/empty', new Uint8Array(0)],
];

/** Offset of the first central-directory record of a non-ZIP64 archive. */
function centralOffset(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 22 + 16, true);
}

function patched(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, true);
  return out;
}

describe('ZipArchive', () => {
  it('reads back stored entries, aligned as torch aligns them', () => {
    const zip = ZipArchive.fromBytes(writeZip(sample, { align: 64 }), 'a.zip');
    expect(zip.entries.map((e) => e.name)).toEqual(sample.map(([n]) => n));
    for (const [name, data] of sample) {
      expect(zip.read(name)).toEqual(data);
      expect(zip.entry(name)!.dataOffset % 64).toBe(0);
    }
    expect(zip.has('arch/data/1')).toBe(false);
  });

  it('reads ZIP64 extra fields and end records', () => {
    const zip = ZipArchive.fromBytes(writeZip(sample, { zip64: true }), 'a64.zip');
    expect(zip.entries.map((e) => [e.name, e.uncompressedSize])).toEqual(
      sample.map(([n, d]) => [n, d.length]),
    );
    for (const [name, data] of sample) expect(zip.read(name)).toEqual(data);
  });

  it('reads a real torch.save archive without copying stored entries', () => {
    const bytes = readFileSync(path.join(FIXTURES, 'state_dict.pth'));
    const zip = ZipArchive.fromBytes(bytes, 'state_dict.pth');
    expect(zip.entries[0].name).toBe('state_dict/data.pkl');
    expect(zip.has('state_dict/version')).toBe(true);
    const pkl = zip.read('state_dict/data.pkl');
    expect([pkl[0], pkl[1]]).toEqual([0x80, 0x02]); // PROTO 2
    expect(pkl.buffer).toBe(bytes.buffer);
    expect(pkl[pkl.length - 1]).toBe(0x2e); // STOP
  });

  it('reads archives from another writer, stored and deflated', () => {
    const files = { 'x/a.txt': enc.encode('hello '.repeat(200)), 'x/b': new Uint8Array([1, 2, 3]) };
    for (const level of [0, 6] as const) {
      const zip = ZipArchive.fromBytes(zipSync(files, { level }), `fflate-${level}.zip`);
      expect(zip.entry('x/a.txt')!.method).toBe(level === 0 ? 0 : 8);
      expect(zip.read('x/a.txt')).toEqual(files['x/a.txt']);
      expect(zip.read('x/b')).toEqual(files['x/b']);
    }
  });

  it('rejects a file that is not a zip archive', () => {
    expect(() => ZipArchive.fromBytes(enc.encode('just some text, long enough'), 'notes.txt')).toThrow(
      'notes.txt: not a zip archive (no end-of-central-directory record)',
    );
    expect(() => ZipArchive.fromBytes(new Uint8Array(0), 'empty.pth')).toThrow(
      'empty.pth: not a zip archive',
    );
  });

  it('rejects a truncated archive', () => {
    const bytes = writeZip(sample);
    expect(() => ZipArchive.fromBytes(bytes.subarray(0, bytes.length - 30), 'cut.pth')).toThrow(
      'cut.pth: truncated zip archive: it starts like a zip file but has no end-of-central-directory record',
    );
  });

  it('rejects an entry whose declared size runs past the end of the file', () => {
    const bytes = writeZip(sample);
    const cd = centralOffset(bytes);
    const forged = patched(bytes, cd + 20, 0x7fffffff); // compressed size of arch/data.pkl
    expect(() => ZipArchive.fromBytes(forged, 'big.pth')).toThrow(
      /big\.pth: truncated zip archive: entry 'arch\/data\.pkl' declares 2147483647 bytes at byte \d+, past the end/,
    );
  });

  it('rejects an entry whose header offset lies beyond the end', () => {
    const bytes = writeZip(sample);
    const forged = patched(bytes, centralOffset(bytes) + 42, bytes.length + 1000);
    expect(() => ZipArchive.fromBytes(forged, 'off.pth')).toThrow(
      `off.pth: truncated zip archive: entry 'arch/data.pkl' has its header at byte ${bytes.length + 1000}`,
    );
  });

  it('rejects an entry offset that does not point at a local header', () => {
    const bytes = writeZip(sample);
    const forged = patched(bytes, centralOffset(bytes) + 42, 5);
    expect(() => ZipArchive.fromBytes(forged, 'mis.pth')).toThrow(
      "mis.pth: entry 'arch/data.pkl' points at byte 5, not a local file header",
    );
  });

  it('rejects a central directory beyond the end, and forged entry counts', () => {
    const bytes = writeZip(sample);
    const eocd = bytes.length - 22;
    expect(() => ZipArchive.fromBytes(patched(bytes, eocd + 16, bytes.length), 'cd.pth')).toThrow(
      /cd\.pth: truncated zip archive: central directory at byte \d+ \(\+\d+\) lies past the end/,
    );
    const counted = bytes.slice();
    new DataView(counted.buffer).setUint16(eocd + 10, 60000, true);
    expect(() => ZipArchive.fromBytes(counted, 'count.pth')).toThrow(
      /count\.pth: zip archive declares 60000 entries in a \d+-byte central directory/,
    );
  });

  it('rejects duplicate names and reports missing entries by name', () => {
    const dup = writeZip([sample[0], sample[0]]);
    expect(() => ZipArchive.fromBytes(dup, 'dup.pth')).toThrow(
      "dup.pth: zip archive has two entries named 'arch/data.pkl'",
    );
    const zip = ZipArchive.fromBytes(writeZip(sample), 'a.pth');
    expect(() => zip.read('arch/data/9')).toThrow("a.pth: zip archive has no entry 'arch/data/9'");
  });

  it('rejects a deflated entry that declares more than deflate can produce', () => {
    const bytes = zipSync({ 'x/a': enc.encode('a'.repeat(5000)) }, { level: 6 });
    const cd = centralOffset(bytes);
    // Both the central directory and the local header (at 0) declare the forged size.
    const zip = ZipArchive.fromBytes(patched(patched(bytes, cd + 24, 0x7ffffff0), 22, 0x7ffffff0), 'bomb.zip');
    expect(() => zip.read('x/a')).toThrow(
      "bomb.zip: deflated entry 'x/a' declares 2147483632 bytes from",
    );
  });

  it('computes the zip CRC-32 as zlib does', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const data = Uint8Array.from({ length: 1037 }, (_, i) => (i * 7919) & 0xff);
    for (const n of [1, 7, 8, 9, 64, 1037]) {
      expect(crc32(data.subarray(3, 3 + n))).toBe(zlib.crc32(data.subarray(3, 3 + n)));
    }
  });
});
