/**
 * A small sparse linear solver: compressed sparse row matrices and the preconditioned conjugate
 * gradient method (Jacobi or modified incomplete LU preconditioner), for the symmetric positive definite
 * systems of ROAD's linear imputation.
 * @module
 */

/** A square sparse matrix in compressed sparse row form. */
export interface CsrMatrix {
  /** Rows (= columns). */
  n: number;
  /** `rowPtr[i] .. rowPtr[i + 1]` index the entries of row `i`; length `n + 1`. */
  rowPtr: Int32Array;
  /** Column of each entry. */
  colIdx: Int32Array;
  /** Value of each entry. */
  values: Float64Array;
}

/**
 * Builds a CSR matrix from (row, column, value) triplets; duplicates are summed.
 *
 * @param n Size.
 * @param rows Row of each triplet.
 * @param cols Column of each triplet.
 * @param vals Value of each triplet.
 * @returns The matrix, columns sorted within each row.
 * @throws {RangeError} If an index is out of range or the arrays differ in length.
 * @example
 * ```ts
 * import { csrFromTriplets, csrMultiply } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const a = csrFromTriplets(2, [0, 0, 1, 0], [0, 1, 1, 0], [1, 2, 3, 1]); // [[2, 2], [0, 3]]
 * assert.deepEqual(Array.from(csrMultiply(a, new Float64Array([1, 1]))), [4, 3]);
 * ```
 */
export function csrFromTriplets(
  n: number,
  rows: ArrayLike<number>,
  cols: ArrayLike<number>,
  vals: ArrayLike<number>,
): CsrMatrix {
  if (rows.length !== cols.length || rows.length !== vals.length) {
    throw new RangeError(`Cannot build CSR: ${rows.length} rows, ${cols.length} cols, ${vals.length} values`);
  }
  const count = new Int32Array(n + 1);
  for (let k = 0; k < rows.length; k++) {
    if (!(rows[k] >= 0 && rows[k] < n && cols[k] >= 0 && cols[k] < n)) {
      throw new RangeError(`Cannot build CSR: entry (${rows[k]}, ${cols[k]}) outside ${n}×${n}`);
    }
    count[rows[k] + 1]++;
  }
  for (let i = 0; i < n; i++) count[i + 1] += count[i];
  const order = new Int32Array(rows.length);
  const fill = count.slice(0, n);
  for (let k = 0; k < rows.length; k++) order[fill[rows[k]]++] = k;
  const rowPtr = new Int32Array(n + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const entries = Array.from(order.subarray(count[i], count[i + 1])).sort((a, b) => cols[a] - cols[b]);
    for (const k of entries) {
      if (colIdx.length > rowPtr[i] && colIdx[colIdx.length - 1] === cols[k]) {
        values[values.length - 1] += vals[k];
      } else {
        colIdx.push(cols[k]);
        values.push(vals[k]);
      }
    }
    rowPtr[i + 1] = colIdx.length;
  }
  return { n, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
}

/**
 * `y = A x`.
 *
 * @param a The matrix.
 * @param x A vector of length `n`.
 * @param out Where to write (allocated if omitted).
 * @returns `A x`.
 * @example
 * ```ts
 * import { csrFromTriplets, csrMultiply } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const eye = csrFromTriplets(2, [0, 1], [0, 1], [1, 1]);
 * assert.deepEqual(Array.from(csrMultiply(eye, new Float64Array([5, 6]))), [5, 6]);
 * ```
 */
export function csrMultiply(
  a: CsrMatrix,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(a.n),
): Float64Array {
  const { n, rowPtr, colIdx, values } = a;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) s += values[k] * x[colIdx[k]];
    out[i] = s;
  }
  return out;
}

/**
 * A preconditioner: writes `z = M⁻¹ r` for a symmetric positive definite `M ≈ A`.
 */
export type Preconditioner = (r: Float64Array, z: Float64Array) => void;

/**
 * The Jacobi (diagonal) preconditioner `M = diag(A)`; rows with a non-positive diagonal are left
 * unscaled.
 *
 * @param a The matrix.
 * @returns The preconditioner.
 * @example
 * ```ts
 * import { csrFromTriplets, jacobiPreconditioner } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const z = new Float64Array(2);
 * jacobiPreconditioner(csrFromTriplets(2, [0, 1], [0, 1], [2, 4]))(new Float64Array([1, 1]), z);
 * assert.deepEqual(Array.from(z), [0.5, 0.25]);
 * ```
 */
export function jacobiPreconditioner(a: CsrMatrix): Preconditioner {
  const inv = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    let d = 0;
    for (let k = a.rowPtr[i]; k < a.rowPtr[i + 1]; k++) if (a.colIdx[k] === i) d += a.values[k];
    inv[i] = d > 0 ? 1 / d : 1;
  }
  const apply: Preconditioner = (r, z) => {
    for (let i = 0; i < r.length; i++) z[i] = inv[i] * r[i];
  };
  return apply;
}

/** Options of {@linkcode incompleteLU}. */
export interface IluOptions {
  /**
   * Modification factor ω: the fill-in dropped from a row is subtracted, times ω, from that row's
   * diagonal (ω = 0: plain ILU(0) / IC(0); ω = 1: MILU(0), which keeps `M`'s row sums equal to `A`'s and
   * brings the iterations on grid Laplacians from O(h⁻¹) to O(h^-½)). @default 0.95
   */
  omega?: number;
}

/**
 * Incomplete LU factorisation with zero fill, ILU(0) (for a symmetric matrix the same preconditioner as
 * incomplete Cholesky IC(0)), optionally modified (MILU). `M = L U` with `L` unit lower and `U` upper
 * triangular on the sparsity pattern of `A`; `M` is symmetric when `A` is. Columns within a row must be
 * sorted (as {@linkcode csrFromTriplets} makes them) and every row needs its diagonal entry.
 *
 * @param a The matrix (an M-matrix, e.g. a graph Laplacian with boundary terms, always factorises).
 * @param options The modification factor.
 * @returns The preconditioner `z = U⁻¹ L⁻¹ r`.
 * @throws {RangeError} If a row has no diagonal or a pivot is not positive.
 * @example
 * ```ts
 * import { csrFromTriplets, incompleteLU } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * // A tridiagonal matrix has no fill-in: ILU(0) is its exact LU, so M⁻¹ A x = x.
 * const a = csrFromTriplets(3, [0, 0, 1, 1, 1, 2, 2], [0, 1, 0, 1, 2, 1, 2], [2, -1, -1, 2, -1, -1, 2]);
 * const z = new Float64Array(3);
 * incompleteLU(a, { omega: 0 })(new Float64Array([1, 0, 1]), z); // A [1, 1, 1] = [1, 0, 1]
 * assert.deepEqual(Array.from(z).map((v) => Math.round(v * 1e12) / 1e12), [1, 1, 1]);
 * ```
 */
export function incompleteLU(a: CsrMatrix, options: IluOptions = {}): Preconditioner {
  const omega = options.omega ?? 0.95;
  const { n, rowPtr, colIdx } = a;
  const lu = Float64Array.from(a.values);
  const diag = new Int32Array(n);
  const where = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    diag[i] = -1;
    for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
      if (colIdx[k] === i) diag[i] = k;
      where[colIdx[k]] = k;
    }
    if (diag[i] < 0) throw new RangeError(`Cannot factorise: row ${i} has no diagonal entry`);
    // IKJ elimination of row i against the already factorised rows k < i.
    for (let kk = rowPtr[i]; kk < rowPtr[i + 1] && colIdx[kk] < i; kk++) {
      const k = colIdx[kk];
      const lik = lu[kk] / lu[diag[k]];
      lu[kk] = lik;
      for (let jj = diag[k] + 1; jj < rowPtr[k + 1]; jj++) {
        const j = colIdx[jj], w = where[j];
        if (w >= 0) lu[w] -= lik * lu[jj];
        else lu[diag[i]] -= omega * lik * lu[jj]; // dropped fill-in, moved to the diagonal (MILU)
      }
    }
    for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) where[colIdx[k]] = -1;
    if (!(lu[diag[i]] > 0)) throw new RangeError(`Cannot factorise: pivot ${i} is ${lu[diag[i]]}`);
  }
  const apply: Preconditioner = (r, z) => {
    for (let i = 0; i < n; i++) {
      let s = r[i];
      for (let k = rowPtr[i]; k < diag[i]; k++) s -= lu[k] * z[colIdx[k]];
      z[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = diag[i] + 1; k < rowPtr[i + 1]; k++) s -= lu[k] * z[colIdx[k]];
      z[i] = s / lu[diag[i]];
    }
  };
  return apply;
}

/** Options of {@linkcode conjugateGradient}. */
export interface CgOptions {
  /** Stop when `‖b − A x‖ ≤ tolerance · ‖b‖`. @default 1e-8 */
  tolerance?: number;
  /** Iteration cap. @default 10 · n + 100 */
  maxIterations?: number;
  /** Starting point. @default zeros */
  x0?: ArrayLike<number>;
  /** `M⁻¹`, symmetric positive definite. @default jacobiPreconditioner(a) */
  preconditioner?: Preconditioner;
}

/** What {@linkcode conjugateGradient} returns. */
export interface CgResult {
  /** The solution. */
  x: Float64Array;
  /** Iterations taken. */
  iterations: number;
  /** Final relative residual `‖b − A x‖ / ‖b‖` (the absolute residual when `b = 0`). */
  residual: number;
}

/**
 * Solves `A x = b` for a symmetric positive definite `A` by preconditioned conjugate gradients (Jacobi
 * by default; {@linkcode incompleteLU} for grid problems). The residual is recomputed from scratch at
 * the end, so `residual` is the true one.
 *
 * @param a The SPD matrix.
 * @param b The right-hand side.
 * @param options Tolerance, iteration cap, starting point, preconditioner.
 * @returns The solution, iteration count and relative residual.
 * @throws {RangeError} If `b` has the wrong length.
 * @example
 * ```ts
 * import { conjugateGradient, csrFromTriplets } from "@cnnlens/eval";
 * // [[4, 1], [1, 3]] x = [1, 2]  →  x = [1/11, 7/11]
 * const a = csrFromTriplets(2, [0, 0, 1, 1], [0, 1, 0, 1], [4, 1, 1, 3]);
 * const { x } = conjugateGradient(a, new Float64Array([1, 2]));
 * if (Math.abs(x[0] - 1 / 11) > 1e-12 || Math.abs(x[1] - 7 / 11) > 1e-12) throw new Error("wrong");
 * ```
 */
export function conjugateGradient(a: CsrMatrix, b: ArrayLike<number>, options: CgOptions = {}): CgResult {
  const n = a.n;
  if (b.length !== n) throw new RangeError(`Cannot solve: b has ${b.length} values, matrix is ${n}×${n}`);
  const tol = options.tolerance ?? 1e-8;
  const maxIt = options.maxIterations ?? 10 * n + 100;
  const precond = options.preconditioner ?? jacobiPreconditioner(a);
  const x = options.x0 ? Float64Array.from(options.x0) : new Float64Array(n);
  let bNorm = 0;
  for (let i = 0; i < n; i++) bNorm += b[i] * b[i];
  bNorm = Math.sqrt(bNorm);
  const r = new Float64Array(n), z = new Float64Array(n), p = new Float64Array(n), q = new Float64Array(n);
  csrMultiply(a, x, q);
  let rr = 0;
  for (let i = 0; i < n; i++) {
    r[i] = b[i] - q[i];
    rr += r[i] * r[i];
  }
  const stop = tol * (bNorm > 0 ? bNorm : 1);
  precond(r, z);
  let rz = 0;
  for (let i = 0; i < n; i++) {
    p[i] = z[i];
    rz += r[i] * z[i];
  }
  let it = 0;
  while (Math.sqrt(rr) > stop && it < maxIt) {
    csrMultiply(a, p, q);
    let pq = 0;
    for (let i = 0; i < n; i++) pq += p[i] * q[i];
    if (!(pq > 0)) break; // not positive definite along p (or p = 0): stop with what we have
    const alpha = rz / pq;
    rr = 0;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * q[i];
      rr += r[i] * r[i];
    }
    precond(r, z);
    let rzNew = 0;
    for (let i = 0; i < n; i++) rzNew += r[i] * z[i];
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
    it++;
  }
  csrMultiply(a, x, q);
  let res = 0;
  for (let i = 0; i < n; i++) res += (b[i] - q[i]) ** 2;
  res = Math.sqrt(res);
  return { x, iterations: it, residual: bNorm > 0 ? res / bNorm : res };
}
