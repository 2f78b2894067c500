/**
 * Dropping degenerate boxes, as torchvision's `remove_small_boxes`.
 *
 * Shapes: N boxes, `[N*4]` xyxy in absolute pixels, flattened row-major.
 */

/**
 * Indices of the boxes whose width and height are both at least `minSize`.
 *
 * Widths are float32 differences and the comparison is done in float32 (torch casts the Python
 * threshold to the tensor's dtype), so `minSize` is rounded to float32 first.
 *
 * @param boxes `[N*4]` xyxy boxes.
 * @param minSize Smallest side kept (the RPN uses 1e-3; the RoI heads 1e-2).
 * @returns `[K]` indices in increasing order.
 *
 * @example
 * ```ts
 * removeSmallBoxes(Float32Array.of(0, 0, 5, 5, 1, 1, 1, 4), 1e-3); // Int32Array [0]
 * ```
 */
export function removeSmallBoxes(boxes: Float32Array, minSize: number): Int32Array {
  if (boxes.length % 4 !== 0) {
    throw new Error(`Error in removeSmallBoxes: boxes must hold 4 values per box, got ${boxes.length} values`);
  }
  if (!Number.isFinite(minSize)) {
    throw new Error(`Error in removeSmallBoxes: minSize must be a finite number, got ${minSize}`);
  }
  const f32 = Math.fround;
  const threshold = f32(minSize);
  const keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    const w = f32(boxes[4 * i + 2] - boxes[4 * i]);
    const h = f32(boxes[4 * i + 3] - boxes[4 * i + 1]);
    if (w >= threshold && h >= threshold) keep.push(i);
  }
  return Int32Array.from(keep);
}
