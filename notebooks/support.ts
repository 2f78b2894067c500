/**
 * Helpers of the notebooks: pictures shown inline (image/png display data), text tables, and
 * checks that stop the notebook with a message saying what was expected. Runs on Deno's Jupyter
 * kernel (it uses `Deno.jupyter`), so the Node typecheck leaves this folder out; `deno check
 * support.ts` typechecks it (tools/notebooks/run_notebooks.ts does, before running the notebooks).
 *
 * @example
 * ```ts
 * import { check, showRgba, table } from './support.ts';
 * await showRgba(drawDetections(pixels, prediction));
 * table([{ kind: 'circle', count: 3 }]);
 * check(prediction.detections.length > 0, 'the model finds something');
 * ```
 */
// @ts-types="../dist/index.d.ts"
import { type Detection, drawDetections, fillRect, overlayToPng, type Prediction, type RgbaImage, type RgbColor, strokeRect } from 'maskrcnn-tfjs';

/**
 * Throws `check failed: <what>` unless `ok`; a notebook's assertions, so that a cell whose picture
 * or numbers are wrong fails the run instead of only looking wrong.
 *
 * @example
 * ```ts
 * check(sample.height === 144, `sample height is 144, got ${sample.height}`);
 * ```
 */
export function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/**
 * Checks that every value lies in `[lo, hi]` and is finite; names the first one that does not.
 *
 * @example
 * ```ts
 * checkRange(sample.image, 0, 1, 'pixel values');
 * ```
 */
export function checkRange(values: ArrayLike<number>, lo: number, hi: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) throw new Error(`check failed: ${what} lie in [${lo}, ${hi}], but value ${i} is ${v}`);
  }
}

/**
 * Checks `actual` equals `expected` (compared as JSON), naming both otherwise.
 *
 * @example
 * ```ts
 * checkEqual([batch.height, batch.width], [160, 192], 'padded batch size');
 * ```
 */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`check failed: ${what} should be ${e}, got ${a}`);
}

/**
 * Shows PNG bytes as the cell's image output (a `display_data` with `image/png`).
 *
 * @example
 * ```ts
 * await showPng(await Deno.readFile('picture.png'));
 * ```
 */
export async function showPng(png: Uint8Array): Promise<void> {
  check(png.length > 8 && png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47, 'showPng is given PNG bytes');
  let binary = '';
  for (let i = 0; i < png.length; i += 0x8000) binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  await Deno.jupyter.display({ 'image/png': btoa(binary) }, { raw: true });
}

/**
 * Shows an RGBA picture (what the library's viz functions draw) inline, scaled up by an integer
 * factor with nearest-neighbour pixels so that small images stay readable.
 *
 * @example
 * ```ts
 * await showRgba(drawDetections(pixels, prediction), 2);
 * ```
 */
export async function showRgba(image: RgbaImage, scale = 1): Promise<void> {
  await showPng(await overlayToPng(scale === 1 ? image : upscale(image, scale)));
}

/**
 * `[H, W, 3]` RGB bytes as an opaque RGBA picture.
 *
 * @example
 * ```ts
 * const picture = rgbToRgba(rendered.image, rendered.width, rendered.height);
 * ```
 */
export function rgbToRgba(rgb: ArrayLike<number>, width: number, height: number): RgbaImage {
  check(rgb.length === width * height * 3, `rgbToRgba: ${rgb.length} values hold ${width}x${height} RGB pixels`);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    data[4 * p] = rgb[3 * p];
    data[4 * p + 1] = rgb[3 * p + 1];
    data[4 * p + 2] = rgb[3 * p + 2];
    data[4 * p + 3] = 255;
  }
  return { data, width, height };
}

/**
 * A float `[H, W, 3]` image (the training transforms' output) as RGBA: `x * 255` for images in
 * [0, 1], or undoing a normalisation first when `mean` and `std` are given.
 *
 * @example
 * ```ts
 * const picture = floatToRgba(sample.image, sample.width, sample.height);
 * ```
 */
export function floatToRgba(
  image: Float32Array,
  width: number,
  height: number,
  norm?: { readonly mean: readonly number[]; readonly std: readonly number[] },
): RgbaImage {
  check(image.length === width * height * 3, `floatToRgba: ${image.length} values hold ${width}x${height} RGB pixels`);
  const bytes = new Uint8ClampedArray(width * height * 3);
  for (let i = 0; i < bytes.length; i++) {
    const c = i % 3;
    const v = norm ? image[i] * norm.std[c] + norm.mean[c] : image[i];
    bytes[i] = Math.round(v * 255);
  }
  return rgbToRgba(bytes, width, height);
}

/**
 * Ground truth as a {@link Prediction} (score 1, full-image masks), so that the library's own
 * overlay ({@link drawDetections}) draws it exactly as it draws model output.
 *
 * @example
 * ```ts
 * const gt = groundTruthPrediction(s.gtBoxes, s.gtLabels, s.gtMasks, s.width, s.height, ['bg', 'circle']);
 * ```
 */
export function groundTruthPrediction(
  boxes: Float32Array,
  labels: Int32Array,
  masks: Uint8Array,
  width: number,
  height: number,
  labelNames: readonly string[],
): Prediction {
  const n = labels.length;
  check(boxes.length === 4 * n, `groundTruthPrediction: ${boxes.length} box values for ${n} labels`);
  check(masks.length === n * width * height, `groundTruthPrediction: ${masks.length} mask bytes for ${n} masks of ${width}x${height}`);
  const detections: Detection[] = [];
  for (let i = 0; i < n; i++) {
    detections.push({
      box: [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]],
      score: 1,
      label: labels[i],
      labelName: labelNames[labels[i]] ?? String(labels[i]),
      // [n, H, W] -> the i-th [H, W]
      mask: { format: 'full', width, height, data: masks.subarray(i * width * height, (i + 1) * width * height) },
    });
  }
  return { width, height, detections };
}

/**
 * Draws ground truth onto an RGB image with the library's overlay.
 *
 * @example
 * ```ts
 * const picture = drawGroundTruth(rgbToRgba(sample.image, w, h), s.gtBoxes, s.gtLabels, s.gtMasks, names);
 * ```
 */
export function drawGroundTruth(
  image: RgbaImage,
  boxes: Float32Array,
  labels: Int32Array,
  masks: Uint8Array,
  labelNames: readonly string[],
): RgbaImage {
  const gt = groundTruthPrediction(boxes, labels, masks, image.width, image.height, labelNames);
  return drawDetections(image, gt, { colorBy: 'label', showLabels: true });
}

/**
 * Pictures side by side, tops aligned, on a white background with `gap` pixels between them.
 *
 * @example
 * ```ts
 * await showRgba(sideBySide([before, after]));
 * ```
 */
export function sideBySide(images: readonly RgbaImage[], gap = 4): RgbaImage {
  check(images.length > 0, 'sideBySide is given at least one picture');
  const width = images.reduce((a, im) => a + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) {
      // row y of the picture -> row y of the strip at column x0
      data.set(im.data.subarray(y * im.width * 4, (y + 1) * im.width * 4), (y * width + x0) * 4);
    }
    x0 += im.width + gap;
  }
  return { data, width, height };
}

/**
 * Nearest-neighbour enlargement by an integer factor.
 *
 * @example
 * ```ts
 * const big = upscale(mask28, 4); // 112 x 112
 * ```
 */
export function upscale(image: RgbaImage, factor: number): RgbaImage {
  check(Number.isInteger(factor) && factor >= 1, `upscale factor is a positive integer, got ${factor}`);
  const width = image.width * factor;
  const height = image.height * factor;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / factor) * image.width + Math.floor(x / factor)) * 4;
      data.set(image.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

/**
 * Prints rows as an aligned text table (columns from the first row's keys; numbers right-aligned,
 * non-integers with `digits` decimals).
 *
 * @example
 * ```ts
 * table([{ kind: 'circle', count: 12 }, { kind: 'star', count: 9 }]);
 * ```
 */
export function table(rows: readonly Record<string, unknown>[], digits = 3): void {
  if (rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  const keys = Object.keys(rows[0]);
  const cell = (v: unknown): string => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(digits) : String(v));
  const cells = rows.map((r) => keys.map((k) => cell(r[k])));
  const widths = keys.map((k, c) => Math.max(k.length, ...cells.map((r) => r[c].length)));
  const numeric = keys.map((k) => rows.every((r) => typeof r[k] === 'number'));
  const line = (values: string[]): string =>
    values.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd();
  console.log([line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n'));
}

/**
 * A colour ramp from dark blue (0) through green to yellow (1), for heat maps and scores.
 *
 * @example
 * ```ts
 * rampColor(0.9); // yellowish
 * ```
 */
export function rampColor(t: number): RgbColor {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  // A coarse viridis: a few anchors, linear between them.
  const stops: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = u * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = (k: number): number => Math.round(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
  return [c(0), c(1), c(2)];
}

/**
 * `[H, W]` values as a heat map, scaled from their minimum (dark) to their maximum (bright).
 *
 * @example
 * ```ts
 * const picture = heatmap(energy, 48, 40);
 * ```
 */
export function heatmap(values: ArrayLike<number>, width: number, height: number): RgbaImage {
  check(values.length === width * height, `heatmap: ${values.length} values for ${width}x${height}`);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < values.length; i++) {
    const [r, g, b] = rampColor(hi > lo ? (values[i] - lo) / (hi - lo) : 0);
    data.set([r, g, b, 255], 4 * i);
  }
  return { data, width, height };
}

/**
 * A copy of `image` with xyxy boxes outlined, each in its own colour; boxes drawn in the order
 * given, so pass the most important last.
 *
 * @example
 * ```ts
 * const picture = drawBoxes(image, proposals, proposals.map((_, i) => rampColor(scores[i])));
 * ```
 */
export function drawBoxes(image: RgbaImage, boxes: ArrayLike<number>, colors: readonly RgbColor[], lineWidth = 1): RgbaImage {
  check(boxes.length === 4 * colors.length, `drawBoxes: ${boxes.length / 4} boxes and ${colors.length} colours`);
  const out = { data: new Uint8ClampedArray(image.data), width: image.width, height: image.height };
  for (let i = 0; i < colors.length; i++) {
    strokeRect(out, boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], colors[i], lineWidth);
  }
  return out;
}

/**
 * A bar chart of `values` counted into `bins` equal bins over `[lo, hi]`; returns the picture and
 * the counts (values outside the range are not counted).
 *
 * @example
 * ```ts
 * const { picture, counts } = histogram(scores, 20, 0, 1);
 * ```
 */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number, width = 320, height = 120): { picture: RgbaImage; counts: number[] } {
  check(Number.isInteger(bins) && bins > 0 && hi > lo, `histogram: bins ${bins} over [${lo}, ${hi}]`);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v >= lo && v <= hi) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]++;
  }
  const picture = { data: new Uint8ClampedArray(width * height * 4).fill(255), width, height };
  const top = Math.max(1, ...counts);
  const barWidth = Math.floor(width / bins);
  counts.forEach((c, b) => {
    // Log scale: the few high scores stay visible next to the many low ones.
    const h = c === 0 ? 0 : Math.max(1, Math.round(((height - 2) * Math.log1p(c)) / Math.log1p(top)));
    fillRect(picture, b * barWidth, height - h, Math.max(1, barWidth - 1), h, rampColor((b + 0.5) / bins));
  });
  return { picture, counts };
}

/**
 * An RGBA picture of `[H, W]` values in [0, 1] as grey levels (0 black, 1 white).
 *
 * @example
 * ```ts
 * const tile = grayscale(probs.subarray(0, 28 * 28), 28, 28);
 * ```
 */
export function grayscale(values: ArrayLike<number>, width: number, height: number): RgbaImage {
  check(values.length === width * height, `grayscale: ${values.length} values for ${width}x${height}`);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i] * 255);
    data.set([v, v, v, 255], 4 * i);
  }
  return { data, width, height };
}
