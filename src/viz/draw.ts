/**
 * Drawing primitives on an RGBA buffer: filled and stroked rectangles, straight lines, a binary
 * mask blended in a colour, the outline of a mask, and bitmap text with or without a tag behind it.
 *
 * Coordinates are integer pixels (x to the right, y down, (0, 0) the top-left pixel); anything
 * outside the image is clipped. Solid drawing (rectangles, outlines, text) writes the colour with
 * alpha 255; {@link blendMask} composites its colour over what is there.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { FONT_METRICS, glyphRows } from './bitmap_font';
import { contrastTextColor, RgbColor } from './palette';

/**
 * An 8-bit RGBA picture, row-major, 4 bytes per pixel: the layout of a browser `ImageData`.
 *
 * @example
 * ```ts
 * const img: RgbaImage = { data: new Uint8ClampedArray(4 * 20 * 16), width: 20, height: 16 };
 * ctx.putImageData(new ImageData(img.data, img.width, img.height), 0, 0); // in a browser
 * ```
 */
export interface RgbaImage {
  /** `height * width * 4` bytes: R, G, B, A of each pixel, rows top to bottom. */
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/**
 * A binary mask over a window of an image: pixel (x + c, y + r) of the image is inside the
 * object where `data[r * width + c]` is non-zero. A {@link CroppedMask} is one; a full-image mask
 * is the window `{ x: 0, y: 0, width, height }`.
 *
 * @example
 * ```ts
 * const square: MaskWindow = { x: 4, y: 3, width: 2, height: 2, data: Uint8Array.of(1, 1, 1, 1) };
 * ```
 */
export interface MaskWindow {
  /** Left column of the window in image pixels. */
  readonly x: number;
  /** Top row of the window in image pixels. */
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** `height * width` bytes, row-major, non-zero inside the object. */
  readonly data: Uint8Array;
}

function putOpaque(d: Uint8ClampedArray, i: number, color: RgbColor): void {
  d[i] = color[0];
  d[i + 1] = color[1];
  d[i + 2] = color[2];
  d[i + 3] = 255;
}

/**
 * Fills the rectangle of `width x height` pixels whose top-left pixel is (x, y), opaque.
 *
 * @example
 * ```ts
 * fillRect(img, 0, 0, img.width, 1, [255, 0, 0]); // a red top row
 * ```
 */
export function fillRect(image: RgbaImage, x: number, y: number, width: number, height: number, color: RgbColor): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(image.width, Math.round(x + width));
  const y1 = Math.min(image.height, Math.round(y + height));
  for (let py = y0; py < y1; py++) {
    for (let px = x0; px < x1; px++) putOpaque(image.data, 4 * (py * image.width + px), color);
  }
}

/**
 * Draws the border of the rectangle whose corner pixels are (left, top) and (right, bottom),
 * both inclusive, `lineWidth` pixels thick on the inside (a rectangle narrower than two lines is
 * filled).
 *
 * @example
 * ```ts
 * strokeRect(img, 2, 3, 9, 7, [0, 130, 200], 2); // columns 2-3 and 8-9, rows 3-4 and 6-7
 * ```
 */
export function strokeRect(image: RgbaImage, left: number, top: number, right: number, bottom: number, color: RgbColor, lineWidth: number): void {
  const [l, t, r, b] = [left, top, right, bottom].map(Math.round);
  const w = r - l + 1;
  const h = b - t + 1;
  if (w <= 0 || h <= 0 || lineWidth <= 0) return;
  const lw = Math.round(lineWidth);
  fillRect(image, l, t, w, Math.min(lw, h), color);
  fillRect(image, l, b - lw + 1, w, Math.min(lw, h), color);
  fillRect(image, l, t, Math.min(lw, w), h, color);
  fillRect(image, r - lw + 1, t, Math.min(lw, w), h, color);
}

/**
 * Draws the straight line from pixel (x0, y0) to pixel (x1, y1), both included, opaque:
 * Bresenham's line, each of its pixels painted as a `lineWidth x lineWidth` square whose top-left
 * is `floor((lineWidth - 1) / 2)` up and left of it. Endpoints are rounded to whole pixels; pixels
 * outside the image are clipped, but the cost is the whole line's length, so clip long lines first.
 *
 * @example
 * ```ts
 * drawLine(img, 0, 9, 19, 0, [0, 130, 200]);    // a 1-pixel diagonal
 * drawLine(img, 2, 5, 17, 5, [230, 25, 75], 2); // rows 5 and 6, columns 2-17
 * ```
 */
export function drawLine(image: RgbaImage, x0: number, y0: number, x1: number, y1: number, color: RgbColor, lineWidth = 1): void {
  const w = Math.round(lineWidth);
  if (w <= 0) return;
  const back = Math.floor((w - 1) / 2);
  let [x, y] = [Math.round(x0), Math.round(y0)];
  const [xe, ye] = [Math.round(x1), Math.round(y1)];
  const dx = Math.abs(xe - x);
  const dy = -Math.abs(ye - y);
  const sx = x < xe ? 1 : -1;
  const sy = y < ye ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    fillRect(image, x - back, y - back, w, w, color);
    if (x === xe && y === ye) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/**
 * Blends `color` into the pixels of a mask with opacity `alpha`: each colour channel becomes
 * `round(alpha * color + (1 - alpha) * old)` and alpha becomes `round(255 * alpha + (1 - alpha) * old)`
 * (the colour laid over the picture, so an opaque pixel stays opaque).
 *
 * @example
 * ```ts
 * blendMask(img, detection.mask, [230, 25, 75], 0.5); // a cropped mask is a MaskWindow
 * ```
 */
export function blendMask(image: RgbaImage, mask: MaskWindow, color: RgbColor, alpha: number): void {
  const d = image.data;
  const keep = 1 - alpha;
  const [c0, c1, c2] = [alpha * color[0], alpha * color[1], alpha * color[2]];
  const a = 255 * alpha;
  const { x, y, width: mw, data: m } = mask;
  const { r0, r1, col0, col1 } = visibleWindow(image, mask);
  for (let r = r0; r < r1; r++) {
    for (let c = col0, q = r * mw + c, i = 4 * ((y + r) * image.width + x + c); c < col1; c++, q++, i += 4) {
      if (m[q] === 0) continue;
      d[i] = Math.round(c0 + keep * d[i]);
      d[i + 1] = Math.round(c1 + keep * d[i + 1]);
      d[i + 2] = Math.round(c2 + keep * d[i + 2]);
      d[i + 3] = Math.round(a + keep * d[i + 3]);
    }
  }
}

/**
 * Paints the boundary of a mask in `color`, opaque: the pixels inside the object that have a
 * pixel outside it (or outside the window) within `width` pixels in x and y, i.e. an inner
 * outline `width` pixels thick.
 *
 * @example
 * ```ts
 * outlineMask(img, detection.mask, [230, 25, 75], 2);
 * ```
 */
export function outlineMask(image: RgbaImage, mask: MaskWindow, color: RgbColor, width: number): void {
  const w = Math.round(width);
  if (w <= 0) return;
  const { x, y, width: mw, height: mh, data: m } = mask;
  // The interior is the mask eroded by a (2w+1)-pixel square, which separates into a row pass
  // and a column pass over run lengths: O(window) whatever w, where testing every neighbour
  // made a 2-pixel outline cost 25 reads per mask pixel (twice the time of the fill).
  const span = 2 * w + 1;
  const run = new Int32Array(mw * mh);
  const rowsOk = new Uint8Array(mw * mh); // the whole row segment [c - w, c + w] is set
  for (let r = 0; r < mh; r++) {
    let n = 0;
    for (let c = 0; c < mw; c++) run[r * mw + c] = n = m[r * mw + c] !== 0 ? n + 1 : 0;
    for (let c = 0; c + w < mw; c++) rowsOk[r * mw + c] = run[r * mw + c + w] >= span ? 1 : 0;
  }
  for (let c = 0; c < mw; c++) {
    let n = 0;
    for (let r = 0; r < mh; r++) run[r * mw + c] = n = rowsOk[r * mw + c] !== 0 ? n + 1 : 0;
  }
  const { r0, r1, col0, col1 } = visibleWindow(image, mask);
  for (let r = r0; r < r1; r++) {
    for (let c = col0, q = r * mw + c; c < col1; c++, q++) {
      const interior = r + w < mh && run[q + w * mw] >= span;
      if (m[q] !== 0 && !interior) putOpaque(image.data, 4 * ((y + r) * image.width + x + c), color);
    }
  }
}

/** The rows [r0, r1) and columns [col0, col1) of a mask's window that lie in the image. */
function visibleWindow(image: RgbaImage, mask: MaskWindow): { r0: number; r1: number; col0: number; col1: number } {
  return {
    r0: Math.max(0, -mask.y),
    r1: Math.min(mask.height, image.height - mask.y),
    col0: Math.max(0, -mask.x),
    col1: Math.min(mask.width, image.width - mask.x),
  };
}

/**
 * The size in pixels that {@link drawText} covers: `6 * scale` per character less the blank
 * column after the last one, and `9 * scale` rows (capitals and digits use the top 7, descenders
 * the last 2).
 *
 * @example
 * ```ts
 * measureText('cat 0.9'); // { width: 41, height: 9 }
 * measureText('cat', 2);  // { width: 34, height: 18 }
 * ```
 */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const n = [...text].length;
  return { width: n === 0 ? 0 : (n * FONT_METRICS.advance - 1) * scale, height: FONT_METRICS.glyphHeight * scale };
}

/**
 * Draws `text` in the built-in bitmap font (see {@link FONT_CHARACTERS}), its top-left at (x, y),
 * each font pixel a `scale x scale` square; only the glyphs' own pixels are painted.
 *
 * @example
 * ```ts
 * drawText(img, 'person 0.98', 10, 5, [255, 255, 255], 2);
 * ```
 */
export function drawText(image: RgbaImage, text: string, x: number, y: number, color: RgbColor, scale = 1): void {
  const s = Math.max(1, Math.round(scale));
  const { glyphWidth, advance } = FONT_METRICS;
  [...text].forEach((ch, k) => {
    const gx = Math.round(x) + k * advance * s;
    glyphRows(ch).forEach((bits, row) => {
      for (let col = 0; col < glyphWidth; col++) {
        if ((bits >> (glyphWidth - 1 - col)) & 1) fillRect(image, gx + col * s, Math.round(y) + row * s, s, s, color);
      }
    });
  });
}

/**
 * The size of the tag {@link drawTextTag} draws: the text and `scale` pixels of padding on every
 * side.
 *
 * @example
 * ```ts
 * measureTextTag('cat 0.9'); // { width: 43, height: 11 }
 * ```
 */
export function measureTextTag(text: string, scale = 1): { width: number; height: number } {
  const { width, height } = measureText(text, scale);
  return { width: width + 2 * scale, height: height + 2 * scale };
}

/**
 * Draws a label tag with its top-left at (x, y): a rectangle filled with `background` and the
 * text on it in black or white, whichever contrasts more ({@link contrastTextColor}), `scale`
 * pixels in from the tag's edges.
 *
 * @example
 * ```ts
 * drawTextTag(img, 'dog 0.91', 12, 0, [60, 180, 75]); // black text on green
 * ```
 */
export function drawTextTag(image: RgbaImage, text: string, x: number, y: number, background: RgbColor, scale = 1): void {
  const { width, height } = measureTextTag(text, scale);
  fillRect(image, x, y, width, height, background);
  drawText(image, text, x + scale, y + scale, contrastTextColor(background), scale);
}
