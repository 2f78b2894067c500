/**
 * A sparse matrix in compressed-sparse-row form, held in plain typed arrays (not tensors).
 *
 * RoIAlign is linear in the features: every output bin is a fixed weighted sum of feature rows
 * (pixels), the weights depending only on the boxes. We build that matrix once from box data,
 * outside the gradient tape, and apply it (forward) or its transpose (backward) with
 * {@link csrMatMul}. Keeping it as JS data means nothing has to be kept alive on the tape.
 */

/** `numRows x numCols` sparse matrix; the entries of row `r` are `rowPtr[r] .. rowPtr[r+1]-1`. */
export interface CsrMatrix {
  readonly numRows: number;
  readonly numCols: number;
  /** [numRows + 1] offsets into `colIdx` / `values`, non-decreasing, `rowPtr[0] = 0`. */
  readonly rowPtr: Int32Array;
  /** [nnz] column of each entry, in `[0, numCols)`. */
  readonly colIdx: Int32Array;
  /** [nnz] value of each entry. */
  readonly values: Float32Array;
}

/**
 * The matrix that picks rows `order[i]` of its operand: `P @ x = x[order]`.
 *
 * @example
 * ```ts
 * const p = rowSelectionMatrix([2, 0, 1], 3); // csrMatMul(p, x) = x rows 2, 0, 1
 * ```
 */
export function rowSelectionMatrix(order: ArrayLike<number>, numCols: number): CsrMatrix {
  const n = order.length;
  const rowPtr = new Int32Array(n + 1);
  const colIdx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = order[i];
    if (!Number.isInteger(c) || c < 0 || c >= numCols) {
      throw new Error(`Error in rowSelectionMatrix: order[${i}] = ${c} is outside [0, ${numCols})`);
    }
    rowPtr[i + 1] = i + 1;
    colIdx[i] = c;
  }
  return { numRows: n, numCols, rowPtr, colIdx, values: new Float32Array(n).fill(1) };
}

/** Throws when `m` is not a well-formed CSR matrix (used on entry of {@link csrMatMul}). */
export function checkCsrMatrix(m: CsrMatrix, where: string): void {
  const { numRows, numCols, rowPtr, colIdx, values } = m;
  if (!Number.isInteger(numRows) || numRows < 0 || !Number.isInteger(numCols) || numCols < 0) {
    throw new Error(`Error in ${where}: matrix size must be non-negative integers, got ${numRows} x ${numCols}`);
  }
  if (rowPtr.length !== numRows + 1 || rowPtr[0] !== 0) {
    throw new Error(`Error in ${where}: rowPtr must have numRows + 1 = ${numRows + 1} entries starting at 0`);
  }
  const nnz = rowPtr[numRows];
  if (colIdx.length !== nnz || values.length !== nnz) {
    throw new Error(
      `Error in ${where}: rowPtr ends at ${nnz} but colIdx has ${colIdx.length} and values ${values.length} entries`,
    );
  }
  for (let r = 0; r < numRows; r++) {
    if (rowPtr[r + 1] < rowPtr[r]) throw new Error(`Error in ${where}: rowPtr decreases at row ${r}`);
  }
  for (let k = 0; k < nnz; k++) {
    if (colIdx[k] < 0 || colIdx[k] >= numCols) {
      throw new Error(`Error in ${where}: colIdx[${k}] = ${colIdx[k]} is outside [0, ${numCols})`);
    }
  }
}
