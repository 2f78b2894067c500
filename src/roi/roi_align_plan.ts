/**
 * The sparse matrix of torchvision 0.14's RoIAlign (csrc/ops/cpu/roi_align_kernel.cpp), built
 * from box data in one JS pass.
 *
 * Shapes: R RoIs, N images, H x W feature size, oh x ow output bins, gh x gw samples per bin.
 * Row `(r * oh + ph) * ow + pw` of the matrix is output bin (ph, pw) of RoI r; column
 * `(n * H + y) * W + x` is feature pixel (y, x) of image n. The value is the bin's average
 * bilinear weight of that pixel.
 *
 * Bilinear sampling is separable: a sample's four corner weights are `{hy, ly} x {hx, lx}`, and
 * a sample counts as zero when either coordinate is out of range. So we sum the y weights of a
 * bin's `gh` samples per row and the x weights of its `gw` samples per column, and emit the
 * outer product divided by `gh * gw`. That merges samples sharing a pixel (a 7-pixel RoI at 7x7
 * bins touches 9 pixels per bin instead of 16 sample corners) and changes only the float
 * summation order, not the value, relative to torchvision.
 *
 * All coordinate arithmetic is done in float32 (Math.fround at each step, in torchvision's
 * evaluation order), so the sample positions and corner choices are bit-identical to the C++
 * kernel, including the discontinuities at -1 and H.
 */
import { CsrMatrix } from './csr_matrix';

const f32 = Math.fround;

/** Geometry of the feature map and the pooling; see {@link buildRoiAlignPlan}. */
export interface RoiAlignGeometry {
  /** Images in the batch (N). */
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly spatialScale: number;
  /** Samples per bin along each axis; `<= 0` means adaptive: `ceil(roi_size / out_size)`. */
  readonly samplingRatio: number;
  /** Shift boxes by -0.5 pixel (Detectron2's ROIAlignV2); when false RoIs are at least 1x1. */
  readonly aligned: boolean;
}

/** Per-axis weights of one bin: `idx[k]` (row or column) has weight `w[k]` (sum over samples). */
interface AxisWeights {
  idx: number[];
  w: number[];
}

/**
 * Summed interpolation weights along one axis for each of `bins` bins.
 *
 * `start`, `bin` are float32 values (roi start and bin size in feature pixels); `size` is the
 * axis length. Mirrors torchvision's pre_calc_for_bilinear_interpolate, one axis at a time.
 */
function axisWeights(start: number, bin: number, grid: number, bins: number, size: number): AxisWeights[] {
  const out: AxisWeights[] = [];
  const acc = new Map<number, number>();
  for (let p = 0; p < bins; p++) {
    acc.clear();
    const binStart = f32(start + f32(p * bin));
    for (let i = 0; i < grid; i++) {
      // torchvision: roi_start + p * bin_size + (i + .5f) * bin_size / grid, in float32.
      let v = f32(binStart + f32(f32(f32(i + 0.5) * bin) / grid));
      // Written as !(in range) so NaN samples are empty, as in torchvision's current kernel.
      if (!(v >= -1 && v <= size)) continue;
      if (v <= 0) v = 0;
      let low = Math.trunc(v);
      let high: number;
      if (low >= size - 1) {
        high = low = size - 1;
        v = low;
      } else {
        high = low + 1;
      }
      const l = f32(v - low);
      const h = f32(1 - l);
      acc.set(low, (acc.get(low) ?? 0) + h);
      acc.set(high, (acc.get(high) ?? 0) + l);
    }
    const idx: number[] = [];
    const w: number[] = [];
    for (const [k, weight] of [...acc.entries()].sort((x, y) => x[0] - y[0])) {
      if (weight !== 0) {
        idx.push(k);
        w.push(weight);
      }
    }
    out.push({ idx, w });
  }
  return out;
}

/**
 * Builds the RoIAlign matrix for `boxes` ([R*4] xyxy in image coordinates, float32 values)
 * and `boxIndices` ([R] image of each box).
 *
 * @returns a `(R*oh*ow) x (N*H*W)` {@link CsrMatrix}.
 *
 * @example
 * ```ts
 * const plan = buildRoiAlignPlan(Float32Array.of(0, 0, 4, 4), Int32Array.of(0), {
 *   batch: 1, height: 5, width: 5, outHeight: 2, outWidth: 2,
 *   spatialScale: 1, samplingRatio: 2, aligned: false });
 * plan.numRows; // 4
 * ```
 */
export function buildRoiAlignPlan(
  boxes: ArrayLike<number>,
  boxIndices: ArrayLike<number>,
  g: RoiAlignGeometry,
): CsrMatrix {
  const R = boxIndices.length;
  const { height: H, width: W, outHeight: oh, outWidth: ow } = g;
  const scale = f32(g.spatialScale);
  const offset = g.aligned ? 0.5 : 0;
  const perRoi: Array<{ ys: AxisWeights[]; xs: AxisWeights[]; base: number; norm: number }> = [];
  let nnz = 0;
  for (let r = 0; r < R; r++) {
    const startW = f32(f32(f32(boxes[4 * r]) * scale) - offset);
    const startH = f32(f32(f32(boxes[4 * r + 1]) * scale) - offset);
    const endW = f32(f32(f32(boxes[4 * r + 2]) * scale) - offset);
    const endH = f32(f32(f32(boxes[4 * r + 3]) * scale) - offset);
    let roiW = f32(endW - startW);
    let roiH = f32(endH - startH);
    if (!g.aligned) {
      // torchvision: "Force malformed ROIs to be 1x1".
      roiW = Math.max(roiW, 1);
      roiH = Math.max(roiH, 1);
    }
    const binH = f32(roiH / oh);
    const binW = f32(roiW / ow);
    const gridH = gridSize(g.samplingRatio, binH);
    const gridW = gridSize(g.samplingRatio, binW);
    const ys = axisWeights(startH, binH, gridH, oh, H);
    const xs = axisWeights(startW, binW, gridW, ow, W);
    let rowsY = 0;
    let colsX = 0;
    for (const y of ys) rowsY += y.idx.length;
    for (const x of xs) colsX += x.idx.length;
    nnz += rowsY * colsX;
    // torchvision divides by max(gh * gw, 1); an empty grid has no samples, so any norm works.
    perRoi.push({ ys, xs, base: boxIndices[r] * H * W, norm: Math.max(gridH * gridW, 1) });
  }

  const rowPtr = new Int32Array(R * oh * ow + 1);
  const colIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  let row = 0;
  for (const { ys, xs, base, norm } of perRoi) {
    for (let ph = 0; ph < oh; ph++) {
      const y = ys[ph];
      for (let pw = 0; pw < ow; pw++) {
        const x = xs[pw];
        for (let i = 0; i < y.idx.length; i++) {
          const rowBase = base + y.idx[i] * W;
          const wy = y.w[i] / norm;
          for (let j = 0; j < x.idx.length; j++) {
            colIdx[k] = rowBase + x.idx[j];
            values[k] = wy * x.w[j];
            k++;
          }
        }
        rowPtr[++row] = k;
      }
    }
  }
  return { numRows: R * oh * ow, numCols: g.batch * H * W, rowPtr, colIdx, values };
}

/** torchvision: `sampling_ratio > 0 ? sampling_ratio : ceil(roi_size / pooled_size)` (int). */
function gridSize(samplingRatio: number, binSize: number): number {
  if (samplingRatio > 0) return samplingRatio;
  const n = Math.ceil(binSize);
  // A NaN box gives a NaN grid in C++ (undefined int cast); we take it as empty.
  return Number.isFinite(n) && n > 0 ? n : 0;
}
