import assert from "node:assert/strict";
import { gaussianBlur } from "./blur.ts";
import { deletionCurve, insertionCurve, trapezoidAuc } from "./perturbation_curve.ts";
import { rankPixels } from "./pixel_order.ts";
import type { ScoreFn } from "./types.ts";
import { assertClose, mapOf, testRng } from "./_testing.ts";

const linear = (w: ArrayLike<number>): ScoreFn => (xs) =>
  xs.map((x) => x.reduce((a, v, i) => a + v * w[i], 0));

Deno.test("deletionCurve() on a linear model: scores and AUC written out by hand", async () => {
  // X = ones(2×2), score = Σ w·x with w = [.4, .3, .2, .1], map = w: removing the most relevant first.
  const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
  const w = [0.4, 0.3, 0.2, 0.1];
  const map = mapOf([[4, 3], [2, 1]]);
  const c = await deletionCurve(x, map, linear(w), { step: 1 });
  assert.deepEqual(c.fractions, [0, 0.25, 0.5, 0.75, 1]);
  assertClose(c.scores, [1, 0.6, 0.3, 0.1, 0], 1e-7);
  // Trapezoids of width ¼: (1 + .6)/2 + (.6 + .3)/2 + (.3 + .1)/2 + (.1 + 0)/2 = 1.5 → × ¼ = 0.375.
  assertClose(c.auc, 0.375, 1e-7);
  // step 3 on 4 pixels: points at 0, 3 and 4 pixels (a short last step weighted by its width):
  // ¾ · (1 + .1)/2 + ¼ · (.1 + 0)/2 = 0.4125 + 0.0125.
  const c3 = await deletionCurve(x, map, linear(w), { step: 3 });
  assert.deepEqual(c3.fractions, [0, 0.75, 1]);
  assertClose(c3.auc, 0.425, 1e-7);
  // The reversed map deletes the least important first: the curve stays high, AUC larger.
  const bad = await deletionCurve(x, mapOf([[1, 2], [3, 4]]), linear(w), { step: 1 });
  assertClose(bad.scores, [1, 0.9, 0.7, 0.4, 0], 1e-7);
  assert.ok(bad.auc > c.auc);
});

Deno.test("deletionCurve() AUC on a ramp-weighted linear model equals the closed form (2n+1)/(6n)", async () => {
  // n = 64 pixels, weights n − r for the pixel of rank r (normalised by n(n+1)/2), map = weights, X = 1:
  // after k deletions the score is (n−k)(n−k+1)/(n(n+1)), and the trapezoidal area is (2n+1)/(6n).
  const n = 64, rand = testRng(3);
  const perm = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
  const w = new Float64Array(n), m = new Float32Array(n);
  perm.forEach((p, r) => {
    w[p] = (n - r) / (n * (n + 1) / 2);
    m[p] = n - r;
  });
  const x = { data: new Float32Array(n).fill(1), shape: [1, 8, 8] };
  const c = await deletionCurve(x, { data: m, shape: [8, 8] }, linear(w), { step: 1, batchSize: 7 });
  assert.equal(c.scores.length, n + 1);
  assertClose(c.auc, (2 * n + 1) / (6 * n), 1e-6);
  // Default step = image width (RISE's 224 on 224 images): 8 steps of 8 pixels, equal widths, so the
  // area is RISE's formula (Σ y − y₀/2 − y_K/2) / K.
  const d = await deletionCurve(x, { data: m, shape: [8, 8] }, linear(w));
  assert.equal(d.scores.length, 9);
  const rise = (d.scores.reduce((a, b) => a + b, 0) - d.scores[0] / 2 - d.scores[8] / 2) / 8;
  assertClose(d.auc, rise, 1e-12);
});

Deno.test("insertionCurve() starts from the baseline and adds the most relevant pixels first", async () => {
  const x = { data: new Float32Array([1, 1, 1, 1, 2, 2, 2, 2]), shape: [2, 2, 2] };
  const mean = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  // Zero baseline: the mean rises by 1.5/4 per pixel (both channels of a pixel at once) → AUC = 1.5 / 2.
  const c = await insertionCurve(x, mapOf([[1, 2], [3, 4]]), mean, { step: 1, baseline: "zero" });
  assertClose(c.scores, [0, 0.375, 0.75, 1.125, 1.5], 1e-7);
  assertClose(c.auc, 0.75, 1e-7);
  // Explicit baseline: all 5s; first inserted pixel is index 3 (the most relevant).
  const five = { data: new Float32Array(8).fill(5), shape: [2, 2, 2] };
  const pick3 = (xs: Float32Array[]) => xs.map((v) => v[3]);
  const e = await insertionCurve(x, mapOf([[1, 2], [3, 4]]), pick3, { step: 1, baseline: five });
  assert.deepEqual(e.scores, [5, 1, 1, 1, 1]);
  // Default baseline is the blur: on a constant image blur = image, so the curve is flat.
  const flat = { data: new Float32Array(16).fill(0.3), shape: [1, 4, 4] };
  const f = await insertionCurve(flat, mapOf([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]), mean);
  assertClose(f.scores, new Array(5).fill(0.3), 1e-6);
  await assert.rejects(() => insertionCurve(x, mapOf([[1]]), mean), RangeError);
});

Deno.test("rankPixels() breaks ties in raster order and sums channels", () => {
  assert.deepEqual(Array.from(rankPixels(mapOf([[1, 1], [1, 1]]), "most-first")), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(rankPixels(mapOf([[1, 1], [1, 1]]), "least-first")), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(rankPixels(mapOf([[[1, 0, 0]], [[0, 0, 2]]]), "most-first")), [2, 0, 1]);
  assert.deepEqual(Array.from(rankPixels(mapOf([[NaN, -1, 1]]), "most-first")), [2, 0, 1]); // NaN counts as 0
});

Deno.test("deletionCurve() results do not depend on the batch size; bad callbacks are reported", async () => {
  const rand = testRng(5);
  const x = { data: Float32Array.from({ length: 3 * 25 }, rand), shape: [3, 5, 5] };
  const m = { data: Float32Array.from({ length: 25 }, rand), shape: [5, 5] };
  const w = Float64Array.from({ length: 75 }, rand);
  const a = await deletionCurve(x, m, linear(w), { step: 2, batchSize: 1 });
  const b = await deletionCurve(x, m, linear(w), { step: 2, batchSize: 100 });
  assert.deepEqual(a, b);
  assert.equal(a.scores.length, 14); // ⌈25/2⌉ + 1
  await assert.rejects(() => deletionCurve(x, m, () => [1]), /returned 1 values for a batch of 6/);
  await assert.rejects(() => deletionCurve(x, m, linear(w), { step: 0 }), RangeError);
});

Deno.test("trapezoidAuc() integrates a sampled line exactly", () => {
  assertClose(trapezoidAuc([0, 0.1, 0.5, 1], [0, 0.2, 1, 2]), 1, 1e-15);
  assert.equal(trapezoidAuc([0], [3]), 0);
});

Deno.test("gaussianBlur() equals a direct 2-D convolution with the border-renormalised kernel", () => {
  const rand = testRng(9);
  const [c, h, w] = [2, 6, 9];
  const x = { data: Float32Array.from({ length: c * h * w }, rand), shape: [c, h, w] };
  const sigma = 1.3, size = 5, r = 2;
  const out = gaussianBlur(x, { sigma, kernelSize: size });
  const ref: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0, n = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const yy = y + dy, xq = xx + dx;
            if (yy < 0 || yy >= h || xq < 0 || xq >= w) continue;
            const g = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            s += g * x.data[ch * h * w + yy * w + xq];
            n += g;
          }
        }
        ref.push(s / n);
      }
    }
  }
  assertClose(out, ref, 1e-6);
  assert.throws(() => gaussianBlur(x, { kernelSize: 4 }), RangeError);
});
