/**
 * Binary mask <-> RLE, as pycocotools' rleEncode / rleDecode (maskApi.c).
 *
 * Masks are `h x w`, column-major (`x * h + y`) unless the name says row-major.
 */
import { checkRle, checkSize, Rle } from './rle';

function checkMask(mask: Uint8Array, h: number, w: number, where: string): void {
  checkSize(h, w, where);
  if (!(mask instanceof Uint8Array)) throw new Error(`Error in ${where}: mask must be a Uint8Array`);
  if (mask.length !== h * w) {
    throw new Error(`Error in ${where}: mask has ${mask.length} values, expected h*w = ${h}*${w} = ${h * w}`);
  }
}

/**
 * Run-length encodes a column-major mask (any non-zero value is foreground).
 *
 * @example
 * ```ts
 * encode(Uint8Array.of(0, 0, 0, 1), 2, 2).counts; // Uint32Array [3, 1]
 * ```
 */
export function encode(mask: Uint8Array, h: number, w: number): Rle {
  checkMask(mask, h, w, 'encode');
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  for (let j = 0; j < mask.length; j++) {
    const v = mask[j] !== 0 ? 1 : 0;
    if (v !== prev) {
      runs.push(run);
      run = 0;
      prev = v;
    }
    run++;
  }
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}

/**
 * Encodes an `h x w` row-major mask (index `y * w + x`, the layout of images and tensors).
 *
 * @example
 * ```ts
 * // row-major [[0, 0], [0, 1]] is the same mask as column-major 0,0,0,1
 * fromMaskRowMajor(Uint8Array.of(0, 0, 0, 1), 2, 2).counts; // Uint32Array [3, 1]
 * ```
 */
export function fromMaskRowMajor(mask: Uint8Array, h: number, w: number): Rle {
  checkMask(mask, h, w, 'fromMaskRowMajor');
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  // Walk in COCO's column-major order without materialising a transposed copy.
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] !== 0 ? 1 : 0;
      if (v !== prev) {
        runs.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}

/**
 * Decodes an RLE to a column-major 0/1 mask of `h * w` bytes.
 *
 * @example
 * ```ts
 * decode({ h: 2, w: 2, counts: [3, 1] }); // Uint8Array [0, 0, 0, 1]
 * ```
 */
export function decode(rle: Rle): Uint8Array {
  checkRle(rle, 'decode');
  const out = new Uint8Array(rle.h * rle.w);
  let p = 0;
  let v = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    const c = rle.counts[j];
    if (v === 1) out.fill(1, p, p + c);
    p += c;
    v ^= 1;
  }
  return out;
}

/**
 * Decodes RLE masks (column-major, COCO) into one `[n, h, w]` row-major 0/1 array.
 *
 * @example
 * ```ts
 * const masks = decodeMasksRowMajor(target.gtMasks, target.height, target.width);
 * masks[(i * h + y) * w + x]; // instance i at pixel (x, y)
 * ```
 */
export function decodeMasksRowMajor(rles: readonly Rle[], h: number, w: number): Uint8Array {
  const out = new Uint8Array(rles.length * h * w);
  rles.forEach((rle, i) => {
    if (rle.h !== h || rle.w !== w) throw new Error(`decodeMasksRowMajor: mask ${i} is ${rle.h}x${rle.w}, expected ${h}x${w}`);
    const col = decode(rle); // [w, h] column-major
    const base = i * h * w;
    for (let x = 0; x < w; x++) {
      const c = x * h;
      for (let y = 0; y < h; y++) out[base + y * w + x] = col[c + y];
    }
  });
  return out;
}
