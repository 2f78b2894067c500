import * as tf from '@tensorflow/tfjs';
import { csrMatMul } from '../../src/roi/csr_matmul';
import { CsrMatrix, rowSelectionMatrix } from '../../src/roi/csr_matrix';
import { describeEachBackend } from '../support/backends';
import { maxRelError, seededValues } from './support/naive_roi_align';

/** A random 7 x 11 sparse matrix with an empty row, a duplicated column and rows of 1..6 entries. */
function randomMatrix(): CsrMatrix {
  const u = seededValues(200, 5);
  const rowPtr = [0];
  const colIdx: number[] = [];
  const values: number[] = [];
  const lengths = [3, 0, 6, 1, 5, 2, 4];
  let t = 0;
  for (const n of lengths) {
    for (let k = 0; k < n; k++) {
      colIdx.push(Math.floor(Math.abs(u[t++]) * 11));
      values.push(u[t++]);
    }
    rowPtr.push(colIdx.length);
  }
  colIdx[1] = colIdx[0]; // a repeated column within a row must add up
  return {
    numRows: 7,
    numCols: 11,
    rowPtr: Int32Array.from(rowPtr),
    colIdx: Int32Array.from(colIdx),
    values: Float32Array.from(values),
  };
}

function dense(a: CsrMatrix): number[][] {
  const d = Array.from({ length: a.numRows }, () => new Array<number>(a.numCols).fill(0));
  for (let r = 0; r < a.numRows; r++) {
    for (let k = a.rowPtr[r]; k < a.rowPtr[r + 1]; k++) d[r][a.colIdx[k]] += a.values[k];
  }
  return d;
}

describeEachBackend('csrMatMul', () => {
  const a = randomMatrix();
  for (const implementation of ['kernel', 'composed'] as const) {
    it(`${implementation}: A @ X and A^T @ Y equal the dense products, gradients included`, () => {
      const x = tf.tensor2d(seededValues(11 * 5, 1), [11, 5]);
      const y = tf.tensor2d(seededValues(7 * 5, 2), [7, 5]);
      const ad = tf.tensor2d(dense(a));
      const got = csrMatMul(a, x, { implementation });
      expect(maxRelError(got.dataSync(), tf.matMul(ad, x).dataSync())).toBeLessThan(1e-6);
      const gotT = csrMatMul(a, y, { transpose: true, implementation });
      expect(maxRelError(gotT.dataSync(), tf.matMul(ad, y, true).dataSync())).toBeLessThan(1e-6);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(csrMatMul(a, t as tf.Tensor2D, { implementation }), y)))(x);
      expect(maxRelError(g.dataSync(), tf.matMul(ad, y, true).dataSync())).toBeLessThan(1e-6);
      tf.dispose([x, y, ad, got, gotT, g]);
    });
  }

  it('rowSelectionMatrix picks rows, and its gradient puts them back', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const p = rowSelectionMatrix([2, 0, 1, 2], 3);
    expect(csrMatMul(p, x).arraySync()).toEqual([[5, 6], [1, 2], [3, 4], [5, 6]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(csrMatMul(p, t as tf.Tensor2D)))(x);
    expect(g.arraySync()).toEqual([[1, 1], [1, 1], [2, 2]]);
    tf.dispose([x, g]);
  });

  it('rejects malformed matrices and mismatched operands', () => {
    const x = tf.zeros([11, 2]) as tf.Tensor2D;
    expect(() => csrMatMul({ ...a, colIdx: a.colIdx.map((c, i) => (i === 2 ? 11 : c)) }, x)).toThrow(
      /Error in csrMatMul: colIdx\[2\] = 11 is outside \[0, 11\)/,
    );
    expect(() => csrMatMul(a, tf.zeros([7, 2]) as tf.Tensor2D)).toThrow(
      'Error in csrMatMul: dense must have 11 rows for a 7 x 11 matrix, got shape [7,2]',
    );
    expect(() => rowSelectionMatrix([0, 3], 3)).toThrow('Error in rowSelectionMatrix: order[1] = 3 is outside [0, 3)');
    x.dispose();
  });
});
