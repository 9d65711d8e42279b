/**
 * Dense float64 linear algebra for tests: explicit matrices built with loops, and small direct solvers
 * (Gaussian elimination with partial pivoting), written independently of the code under test.
 * @module
 */

/** A dense row-major matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** A zero matrix. */
export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** Matrix product. */
export function matmul(a: Mat, b: Mat): Mat {
  const out = zeros(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k];
      if (v === 0) continue;
      for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j] += v * b.data[k * b.cols + j];
    }
  }
  return out;
}

/** Transpose. */
export function transpose(a: Mat): Mat {
  const out = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  }
  return out;
}

/** Matrix-vector product. */
export function matvec(a: Mat, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += a.data[i * a.cols + j] * x[j];
    out[i] = s;
  }
  return out;
}

/** Solve the square system `a x = b` by Gaussian elimination with partial pivoting. */
export function solve(a: Mat, b: ArrayLike<number>): Float64Array {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError("solve() needs a square matrix");
  const m = Float64Array.from(a.data);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (m[p * n + c] === 0) throw new RangeError("singular matrix");
    if (p !== c) {
      for (let j = 0; j < n; j++) [m[c * n + j], m[p * n + j]] = [m[p * n + j], m[c * n + j]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) m[r * n + j] -= f * m[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let j = r + 1; j < n; j++) s -= m[r * n + j] * x[j];
    x[r] = s / m[r * n + r];
  }
  return x;
}

/**
 * The (damped) least-squares / minimum-norm solution of `a x = b` by the normal equations:
 * tall or square (`rows ≥ cols`): `(aᵀa + λ²I) x = aᵀb`; wide: `x = aᵀ (a aᵀ + λ²I)⁻¹ b`.
 */
export function lstsq(a: Mat, b: ArrayLike<number>, damp = 0): Float64Array {
  const at = transpose(a);
  if (a.rows >= a.cols) {
    const n = matmul(at, a);
    for (let i = 0; i < n.rows; i++) n.data[i * n.cols + i] += damp * damp;
    return solve(n, matvec(at, b));
  }
  const n = matmul(a, at);
  for (let i = 0; i < n.rows; i++) n.data[i * n.cols + i] += damp * damp;
  return matvec(at, solve(n, b));
}

/**
 * The explicit Jacobian (NAFlow Eq. 5, `w_ij = ∂y_i/∂x_j`) of a convolution, CHW-flattened on both sides,
 * built with loops from a backend-layout kernel [kh, kw, cin, cout] (dense, group 1).
 */
export function convMatrix(
  weight: ArrayLike<number>,
  [kh, kw, cin, cout]: number[],
  [h, w]: [number, number],
  stride: number,
  pad: number,
): { mat: Mat; out: [number, number, number] } {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const mat = zeros(cout * oh * ow, cin * h * w);
  for (let co = 0; co < cout; co++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const row = (co * oh + oy) * ow + ox;
        for (let ci = 0; ci < cin; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * stride - pad + ky;
              const ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              mat.data[row * mat.cols + (ci * h + iy) * w + ix] +=
                weight[((ky * kw + kx) * cin + ci) * cout + co];
            }
          }
        }
      }
    }
  }
  return { mat, out: [cout, oh, ow] };
}

/** Pearson correlation. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let s = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) {
    s += (a[i] - ma) * (b[i] - mb);
    sa += (a[i] - ma) ** 2;
    sb += (b[i] - mb) ** 2;
  }
  return s / Math.sqrt(sa * sb);
}

/** Backend-layout [1, H, W, C] values to CHW order. */
export function hwcToChw(v: ArrayLike<number>, [c, h, w]: number[]): Float64Array {
  const out = new Float64Array(c * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = v[(y * w + x) * c + k];
    }
  }
  return out;
}
