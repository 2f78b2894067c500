/**
 * Helpers of the notebooks, only what is notebook-specific: pictures shown inline (image/png
 * display data), text tables, checks that stop the notebook with a message saying what was
 * expected, and ground truth drawn through the library's overlay. Every stage picture itself is
 * the library's own (src/viz: drawProposals, featureHeatmaps, maskGrid, imageGrid, ...). Runs on Deno's Jupyter
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
import { type Detection, drawDetections, overlayToPng, type Prediction, type RgbaImage, resizeNearest } from 'maskrcnn-tfjs';

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
 * factor with the library's nearest-neighbour `resizeNearest`, so that small images stay readable.
 *
 * @example
 * ```ts
 * await showRgba(drawDetections(pixels, prediction), 2);
 * ```
 */
export async function showRgba(image: RgbaImage, scale = 1): Promise<void> {
  check(Number.isInteger(scale) && scale >= 1, `showRgba scale is a positive integer, got ${scale}`);
  await showPng(await overlayToPng(scale === 1 ? image : resizeNearest(image, image.width * scale, image.height * scale)));
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
 * const picture = drawGroundTruth(toRgbaImage(s.image, s.width, s.height), s.gtBoxes, s.gtLabels, s.gtMasks, names);
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
