import assert from "node:assert/strict";
import { averageRanks, pearson, spearman } from "./correlation.ts";
import { cascadingRandomization } from "./randomization.ts";
import { ssim } from "./ssim.ts";
import type { SaliencyMap } from "./types.ts";
import { assertClose, testRng } from "./_testing.ts";

Deno.test("pearson() on a hand-computed sample", () => {
  // a − ā = [−1, 0, 1], b − b̄ = [−2, 1, 1]: r = 3 / √(2 · 6).
  assertClose(pearson([1, 2, 3], [0, 3, 3]), 3 / Math.sqrt(12), 1e-15);
  assert.equal(pearson([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))); // constant side
  assert.ok(Number.isNaN(pearson([1], [1])));
  // Shifted/scaled data far from zero: computed around the means, no cancellation.
  assertClose(pearson([1e8 + 1, 1e8 + 2, 1e8 + 3], [5, 7, 9]), 1, 1e-12);
  assert.throws(() => pearson([1, 2], [1]), RangeError);
});

Deno.test("spearman() uses average ranks for ties", () => {
  assert.deepEqual(Array.from(averageRanks([3, 1, 3, 3, 2])), [4, 1, 4, 4, 2]);
  // a = [1, 2, 2, 3] → ranks [1, 2.5, 2.5, 4]; b = [1, 3, 2, 4] → [1, 3, 2, 4].
  // Deviations [−1.5, 0, 0, 1.5] and [−1.5, .5, −.5, 1.5]: r = 4.5 / √(4.5 · 5).
  assertClose(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / Math.sqrt(22.5), 1e-15);
  // Without ties it is 1 − 6 Σd² / (n(n² − 1)): d = [0, 1, −1, 0, 0] → 1 − 12/120.
  assertClose(spearman([10, 20, 30, 40, 50], [1, 3, 2, 4, 5]), 0.9, 1e-15);
  // Invariant under monotone maps of either side.
  const rand = testRng(4);
  const a = Array.from({ length: 50 }, rand), b = Array.from({ length: 50 }, rand);
  assertClose(spearman(a, b), spearman(a.map((v) => Math.exp(5 * v)), b.map((v) => v ** 3)), 1e-12);
  assert.ok(Number.isNaN(spearman([2, 2, 2], [1, 2, 3])));
  assert.throws(() => averageRanks([1, NaN]), RangeError);
});

Deno.test("ssim() on one 7×7 window equals the SSIM formula with sample statistics", () => {
  const rand = testRng(6);
  const a = Float32Array.from({ length: 49 }, rand),
    b = Float32Array.from({ length: 49 }, (_, i) => 0.5 * a[i] + 0.5 * rand());
  const n = 49, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let va = 0, vb = 0, cab = 0;
  for (let i = 0; i < n; i++) {
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
    cab += (a[i] - ma) * (b[i] - mb);
  }
  [va, vb, cab] = [va / (n - 1), vb / (n - 1), cab / (n - 1)];
  const c1 = 0.01 ** 2, c2 = 0.03 ** 2; // data range 1
  const expected = ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  const A = { data: a, shape: [7, 7] }, B = { data: b, shape: [7, 7] };
  assertClose(ssim(A, B, { dataRange: 1 }), expected, 1e-9);
  assertClose(ssim(A, B, { dataRange: 1 }), ssim(B, A, { dataRange: 1 }), 1e-12);
  assert.equal(ssim(A, A), 1);
  // Two windows (7×8): the mean of the two windows' values.
  const c = Float32Array.from({ length: 56 }, rand), d = Float32Array.from({ length: 56 }, rand);
  const win = (m: Float32Array, x0: number) =>
    Float32Array.from({ length: 49 }, (_, i) => m[Math.floor(i / 7) * 8 + x0 + (i % 7)]);
  const one = (x0: number) =>
    ssim({ data: win(c, x0), shape: [7, 7] }, { data: win(d, x0), shape: [7, 7] }, { dataRange: 1 });
  assertClose(
    ssim({ data: c, shape: [7, 8] }, { data: d, shape: [7, 8] }, { dataRange: 1 }),
    (one(0) + one(1)) / 2,
    1e-12,
  );
  assert.throws(
    () => ssim({ data: new Float32Array(36), shape: [6, 6] }, { data: new Float32Array(36), shape: [6, 6] }),
    RangeError,
  );
});

Deno.test("cascadingRandomization() asks for maps top-down and compares each with the original", async () => {
  const rand = testRng(17);
  const base = Float32Array.from({ length: 64 }, rand);
  const noise = [0, 0.1, 1, 10];
  const made = noise.map((s) => Float32Array.from(base, (v) => v + s * (rand() - 0.5)));
  const calls: number[] = [];
  const mapFor = (k: number): SaliencyMap => {
    calls.push(k);
    return { data: made[k], shape: [8, 8] };
  };
  const steps = await cascadingRandomization(mapFor, ["fc", "layer4", "layer3"]);
  assert.deepEqual(calls, [0, 1, 2, 3]);
  assert.deepEqual(steps.map((s) => [s.k, s.layer]), [[1, "fc"], [2, "layer4"], [3, "layer3"]]);
  for (const s of steps) {
    assertClose(s.spearman, spearman(base, made[s.k]), 1e-12);
    assertClose(s.pearson, pearson(base, made[s.k]), 1e-12);
    assert.ok(s.ssim! <= 1);
  }
  // More randomisation, less similarity (on this constructed cascade).
  assert.ok(steps[0].spearman > steps[1].spearman && steps[1].spearman > steps[2].spearman);
  // absolute: a sign flip is invisible.
  const flip = await cascadingRandomization(
    (k) => ({ data: k ? base.map((v) => -v) : base, shape: [8, 8] }),
    ["fc"],
    {
      absolute: true,
      ssim: false,
    },
  );
  assert.equal(flip[0].spearman, 1);
  assert.equal(flip[0].ssim, undefined);
  await assert.rejects(
    () =>
      cascadingRandomization((k) => ({ data: new Float32Array(k ? 4 : 64), shape: k ? [2, 2] : [8, 8] }), [
        "fc",
      ]),
    /shape \[2, 2\]/,
  );
});
