/**
 * Polygon and box rasterisation, bit-identical to pycocotools' rleFrPoly / rleFrBbox.
 *
 * pycocotools upsamples the polygon by 5, walks every edge with a DDA in integer coordinates,
 * keeps only the points where the upsampled x crosses a pixel-centre column, and turns those
 * y-boundaries into runs. Every rounding below copies maskApi.c: `(int)(v + .5)` truncates
 * toward zero (not floor), and `(int)` of NaN or an out-of-range double is INT_MIN on x86.
 */
import { BoxXywh, checkSize, Rle } from './rle';

const SCALE = 5;
const INT_MIN = -2147483648;

/** C's `(int)` conversion of a double as x86 compilers emit it (cvttsd2si). */
function cInt(v: number): number {
  if (!(v > -2147483649 && v < 2147483648)) return INT_MIN; // NaN and out of range
  return Math.trunc(v);
}

/**
 * Rasterises `k = xy.length / 2` points without checking them (pycocotools accepts any k >= 1).
 * Callers validate; {@link annToRle} relies on the lenient form for degenerate COCO polygons.
 */
export function rasterPolygon(xy: ArrayLike<number>, h: number, w: number): Rle {
  const k = xy.length >> 1;
  // Upsampled integer vertices, closed: x[k] = x[0].
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = cInt(SCALE * xy[j * 2] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = cInt(SCALE * xy[j * 2 + 1] + 0.5);
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    // 0/0 = NaN for a zero-length edge, exactly as in C; its single point never reaches the
    // boundary list because its neighbours share its x.
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = cInt(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = cInt(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Points on pixel-centre columns, downsampled: each gives the first covered row of a column.
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < m; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  // Boundary positions in column-major order, plus the end of the mask; runs are their gaps.
  const n = bx.length;
  const a = new Uint32Array(n + 1);
  for (let j = 0; j < n; j++) a[j] = bx[j] * h + by[j];
  a[n] = h * w;
  a.sort();
  let prev = 0;
  for (let j = 0; j <= n; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  // Zero-length runs cancel: merge the run after each zero into the run before it.
  const b: number[] = [a[0]];
  let j = 1;
  while (j <= n) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j <= n) b[b.length - 1] += a[j++];
    }
  }
  return { h, w, counts: Uint32Array.from(b) };
}

/**
 * RLE of one polygon `[x0, y0, x1, y1, ...]` (pixel coordinates, at least 3 points) on an
 * `h x w` canvas, bit-identical to pycocotools' `frPyObjects([xy], h, w)`.
 *
 * @example
 * ```ts
 * area(frPoly([0, 0, 0, 4, 4, 4, 4, 0], 10, 10)); // 16
 * ```
 */
export function frPoly(xy: number[], h: number, w: number): Rle {
  checkSize(h, w, 'frPoly');
  checkPolygon(xy, 'frPoly');
  return rasterPolygon(xy, h, w);
}

/** Throws unless `xy` is an even-length list of at least 3 finite points. */
export function checkPolygon(xy: number[], where: string): void {
  if (!Array.isArray(xy)) throw new Error(`Error in ${where}: polygon must be an array of numbers`);
  if (xy.length % 2 !== 0) throw new Error(`Error in ${where}: polygon has odd length ${xy.length} (needs x,y pairs)`);
  if (xy.length < 6) throw new Error(`Error in ${where}: polygon has ${xy.length / 2} points, needs at least 3`);
  checkFinite(xy, where, 'polygon');
}

function checkFinite(values: ArrayLike<number>, where: string, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const c = values[i];
    if (typeof c !== 'number' || !Number.isFinite(c)) {
      throw new Error(`Error in ${where}: ${what}[${i}] = ${c} is not a finite number`);
    }
  }
}

/**
 * RLE of a box `[x, y, w, h]` on an `h x w` canvas (pycocotools' `frBbox`: the box is
 * rasterised as the polygon of its four corners).
 *
 * @example
 * ```ts
 * toBbox(frBbox([1, 1, 2, 3], 8, 8)); // [1, 1, 2, 3]
 * ```
 */
export function frBbox(box: BoxXywh, h: number, w: number): Rle {
  checkSize(h, w, 'frBbox');
  if (!Array.isArray(box) || box.length !== 4) throw new Error('Error in frBbox: box must be [x, y, w, h]');
  checkFinite(box, 'frBbox', 'box');
  return rasterBox(box, h, w);
}

/** {@link frBbox} without checks. */
export function rasterBox(box: ArrayLike<number>, h: number, w: number): Rle {
  const xs = box[0];
  const xe = xs + box[2];
  const ys = box[1];
  const ye = ys + box[3];
  return rasterPolygon([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}
