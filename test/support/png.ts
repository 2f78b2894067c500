/**
 * PNG files written byte by byte, for images sharp will not make (16-bit samples) or that lie
 * (a header declaring a size the data does not hold).
 */
import * as zlib from 'zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A PNG of `width x height` declared in its IHDR, with `bitDepth` and `colorType` (0 grey,
 * 2 RGB), whose IDAT holds `raw` (filtered scanlines) deflated.
 *
 * @example
 * ```ts
 * const liar = handWrittenPng(100000, 100000, 8, 2, Buffer.alloc(10)); // 10 GP declared, no pixels
 * ```
 */
export function handWrittenPng(width: number, height: number, bitDepth: 8 | 16, colorType: 0 | 2, raw: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
