import assert from "node:assert/strict";
import { pearson } from "./pearson.ts";

Deno.test("pearson() matches hand-computed correlations (Eq. 12)", () => {
  // a = [1, 2, 3, 4], b = [1, 3, 2, 4]: deviations (−1.5, −0.5, 0.5, 1.5) and (−1.5, 0.5, −0.5, 1.5),
  // covariance sum 2.25 − 0.25 − 0.25 + 2.25 = 4, variance sums 5 and 5 → ρ = 0.8.
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
  // Invariant to affine maps with positive scale, sign-flipped by negative scale.
  const a = [0.3, -1.2, 2.5, 0.7, 0.1];
  const b = [1.1, 0.4, -0.3, 2.2, 0.9];
  const r = pearson(a, b);
  assert.ok(Math.abs(pearson(a.map((v) => 3 * v - 7), b) - r) < 1e-12);
  assert.ok(Math.abs(pearson(a.map((v) => -2 * v), b) + r) < 1e-12);
  assert.ok(Math.abs(pearson(Float32Array.from(a), b) - r) < 1e-6);
  // Orthogonal deviations: 0.
  assert.ok(Math.abs(pearson([1, -1, 1, -1], [1, 1, -1, -1])) < 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  assert.ok(Number.isNaN(pearson([1], [2])));
  assert.throws(() => pearson([1, 2], [1]), RangeError);
});
