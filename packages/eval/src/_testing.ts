/**
 * Test helpers of this package (private): closeness assertions without loading tfjs.
 * @module
 */
import assert from "node:assert/strict";

/**
 * Asserts `|a − e| ≤ atol + rtol·|e|` element-wise (NaN equals NaN).
 *
 * @param actual Values.
 * @param expected Reference.
 * @param atol Absolute tolerance.
 * @param rtol Relative tolerance.
 * @param label Message prefix.
 */
export function assertClose(
  actual: number | ArrayLike<number>,
  expected: number | ArrayLike<number>,
  atol = 1e-9,
  rtol = 0,
  label = "",
): void {
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${label} length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    const ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    assert.ok(ok, `${label}[${i}]: ${a[i]} vs expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

/**
 * A seeded uniform generator for tests (mulberry32).
 *
 * @param seed Seed.
 * @returns A function giving numbers in [0, 1).
 */
export function testRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Solves a dense system by Gaussian elimination with partial pivoting (a reference for the sparse solver).
 *
 * @param a Row-major `n × n` matrix (copied).
 * @param b Right-hand side (copied).
 * @returns `x` with `A x = b`.
 */
export function denseSolve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * A `[H, W]` or `[C, H, W]` map from nested rows.
 *
 * @param rows Rows of numbers (or planes of rows).
 * @returns The map.
 */
export function mapOf(rows: number[][] | number[][][]): { data: Float32Array; shape: number[] } {
  if (Array.isArray(rows[0][0])) {
    const planes = rows as number[][][];
    return {
      data: new Float32Array(planes.flat(2)),
      shape: [planes.length, planes[0].length, planes[0][0].length],
    };
  }
  const r = rows as number[][];
  return { data: new Float32Array(r.flat()), shape: [r.length, r[0].length] };
}
