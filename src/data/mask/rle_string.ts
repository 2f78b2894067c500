/**
 * pycocotools' compressed RLE string codec (maskApi.c rleToString / rleFrString).
 *
 * Like LEB128 but with 5 data bits per character offset into ASCII 48..111; from the fourth run
 * on, each run is stored as the difference to the run two before (same colour), which is small.
 * Arithmetic is done with floor division instead of JS's 32-bit shifts, because the differences
 * of two uint32 runs need 33 bits.
 */
import { checkRle, checkSize, CompressedRleJson, Rle } from './rle';

/**
 * Compressed string of an RLE, byte-identical to pycocotools' `rleToString`.
 *
 * @example
 * ```ts
 * rleToString({ h: 2, w: 2, counts: [3, 1] }); // '31'
 * ```
 */
export function rleToString(rle: Rle): string {
  checkRle(rle, 'rleToString');
  const cnts = rle.counts;
  const codes: number[] = [];
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i];
    if (i > 2) x -= cnts[i - 2];
    let more = true;
    while (more) {
      const q = Math.floor(x / 32); // arithmetic x >> 5
      let c = x - q * 32; // x & 0x1f in two's complement
      x = q;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      codes.push(c + 48);
    }
  }
  let s = '';
  const CHUNK = 8192;
  for (let i = 0; i < codes.length; i += CHUNK) s += String.fromCharCode(...codes.slice(i, i + CHUNK));
  return s;
}

/**
 * Parses a pycocotools compressed RLE string of an `h x w` mask (`rleFrString`).
 * Throws on characters outside the codec, a truncated string, or runs that do not sum to h*w.
 *
 * @example
 * ```ts
 * rleFromString('31', 2, 2).counts; // Uint32Array [3, 1]
 * ```
 */
export function rleFromString(s: string, h: number, w: number): Rle {
  if (typeof s !== 'string') throw new Error(`Error in rleFromString: counts must be a string, got ${typeof s}`);
  checkSize(h, w, 'rleFromString');
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) {
        throw new Error(`Error in rleFromString: string ends inside a run (run ${cnts.length}, length ${s.length})`);
      }
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) {
        throw new Error(
          `Error in rleFromString: character ${JSON.stringify(s[p])} at position ${p} is outside the RLE alphabet (ASCII 48..111)`,
        );
      }
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign extension: x |= -1 << 5k
    }
    const m = cnts.length;
    if (m > 2) x += cnts[m - 2];
    if (x < 0 || x > 0xffffffff) {
      throw new Error(`Error in rleFromString: run ${m} decodes to ${x}, not a 32-bit run length`);
    }
    cnts.push(x);
  }
  const rle: Rle = { h, w, counts: Uint32Array.from(cnts) };
  checkRle(rle, 'rleFromString');
  return rle;
}

/**
 * COCO json form of an RLE: `{ size: [h, w], counts: <compressed string> }`.
 *
 * @example
 * ```ts
 * toCompressedJson({ h: 2, w: 2, counts: [3, 1] }); // { size: [2, 2], counts: '31' }
 * ```
 */
export function toCompressedJson(rle: Rle): CompressedRleJson {
  return { size: [rle.h, rle.w], counts: rleToString(rle) };
}
