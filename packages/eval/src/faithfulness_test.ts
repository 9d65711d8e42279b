import assert from "node:assert/strict";
import { averageDrop, averageDropTerm, famFaithfulness, increaseInConfidence } from "./confidence.ts";
import { confidenceDropTerm, iomFaithfulness, mapArea, percentWin } from "./iom_protocol.ts";
import { blendWithMap, multiplyByMap, removeAboveMean } from "./masking.ts";
import type { ScoreFn } from "./types.ts";
import { assertClose, mapOf } from "./_testing.ts";

/** A linear "model": Σ w_i x_i, counting its calls and inputs. */
function linear(w: number[]): ScoreFn & { calls: number; inputs: number } {
  const f = ((xs: Float32Array[]) => {
    f.calls++;
    f.inputs += xs.length;
    return xs.map((x) => x.reduce((a, v, i) => a + v * w[i], 0));
  }) as ScoreFn & { calls: number; inputs: number };
  f.calls = 0;
  f.inputs = 0;
  return f;
}

const x4 = { data: new Float32Array([2, 4, 6, 8]), shape: [1, 2, 2] };

Deno.test("averageDrop() and increaseInConfidence() follow Eqs. 21-22 on hand-computed scores", () => {
  // Terms: (0.5−0.25)/0.5 = 0.5; increase → 0; Y ≤ 0 → left out; (0.4−0.1)/0.4 = 0.75.
  const y = [0.5, 0.8, -1, 0.4], o = [0.25, 0.9, 0.3, 0.1];
  assertClose(averageDrop(y, o), (0.5 + 0 + 0.75) / 3, 1e-15);
  assert.equal(increaseInConfidence(y, o), 0.5); // 0.8 < 0.9 and −1 < 0.3
  assert.ok(Number.isNaN(averageDropTerm(0, 1)));
  assert.ok(Number.isNaN(averageDrop([-1], [0])));
  assert.ok(Number.isNaN(increaseInConfidence([], [])));
  assert.equal(increaseInConfidence([1, 1], [1, 1]), 0); // equal scores are not an increase
  assert.throws(() => averageDrop([1], [1, 2]), RangeError);
});

Deno.test("famFaithfulness() masks the input with the min-max normalised map (Eq. 21's O)", async () => {
  // Map [1, 3, 5, 9] → (v − 1)/8 = [0, .25, .5, 1]; X ⊙ S = [0, 1, 3, 8].
  const map = mapOf([[1, 3], [5, 9]]);
  const f = linear([1, 1, 1, 1]);
  const r = await famFaithfulness(x4, map, f);
  assert.deepEqual(r, { score: 20, maskedScore: 12, drop: 8 / 20, increase: 0 });
  assert.equal(f.calls, 1); // Y and O in one batch
  assert.equal(f.inputs, 2);
  // Known Y: one input only; an increase in confidence with weights on the bright pixel only.
  const g = linear([0, 0, 0, 1]);
  const r2 = await famFaithfulness(x4, map, g, { baseScore: 7 });
  assert.deepEqual(r2, { score: 7, maskedScore: 8, drop: 0, increase: 1 });
  assert.equal(g.inputs, 1);
  // [C, H, W] map: each channel masks its own plane (normalised jointly: max 4).
  const x2 = { data: new Float32Array([1, 1, 1, 1]), shape: [2, 1, 2] };
  const m2 = mapOf([[[4, 0]], [[2, 0]]]);
  assert.deepEqual(
    Array.from(multiplyByMap(x2, { data: new Float32Array([1, 0, 0.5, 0]), shape: [2, 1, 2] })),
    [
      1,
      0,
      0.5,
      0,
    ],
  );
  assert.equal((await famFaithfulness(x2, m2, linear([1, 1, 1, 1]))).maskedScore, 1.5);
});

Deno.test("masking: E = 0.5·X + 0.5·S and X̂ = (1 − I(S′)) ∘ X, broadcast over channels", () => {
  const x = { data: new Float32Array([1, 2, 3, 4, 10, 20, 30, 40]), shape: [2, 2, 2] };
  const s = mapOf([[0, 0.5], [0.25, 1]]); // mean 0.4375: 0.5 and 1 are above it
  assert.deepEqual(Array.from(blendWithMap(x, s)), [0.5, 1.25, 1.625, 2.5, 5, 10.25, 15.125, 20.5]);
  assert.deepEqual(Array.from(removeAboveMean(x, s)), [1, 0, 3, 0, 10, 0, 30, 0]);
  // Entries equal to the mean stay; an all-zero map removes nothing.
  assert.deepEqual(Array.from(removeAboveMean(x, mapOf([[1, 1], [1, 1]]))), Array.from(x.data));
  assert.deepEqual(Array.from(removeAboveMean(x, mapOf([[0, 0], [0, 0]]))), Array.from(x.data));
  assert.throws(() => multiplyByMap(x, mapOf([[1, 2, 3]])), /upsample the map to 2×2/);
  assert.throws(
    () => multiplyByMap(x, mapOf([[[1, 1], [1, 1]], [[1, 1], [1, 1]], [[1, 1], [1, 1]]])),
    /needs 1 or 2/,
  );
});

Deno.test("iomFaithfulness() computes IOM section 8.3's terms on a hand-worked image", async () => {
  // X = [1, 2, 3, 4]; map [0, 2, −2, 4] → ReLU → [0, 2, 0, 4] → min-max → S = [0, .5, 0, 1].
  // E = [.5, 1.25, 1.5, 2.5] (sum 5.75); mean S = .375 → X̂ = [1, 0, 3, 0] (sum 4); Y = 10.
  const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 2] };
  const f = linear([1, 1, 1, 1]);
  const r = await iomFaithfulness(x, mapOf([[0, 2], [-2, 4]]), f);
  assertClose(
    [r.score, r.explanationScore, r.perturbedScore, r.averageDrop, r.confidenceDrop, r.area, r.value],
    [10, 5.75, 4, 0.425, 0.6, 0.5, 0.75],
    1e-12,
  );
  assert.equal(f.calls, 1);
  assert.equal(f.inputs, 3);
  // Confidence Drop is not clipped: a rise gives a negative term. Average Drop is clipped at 0.
  const g = linear([0, 0, 1, 0]); // only pixel 2 matters: Y = 3, E → 1.5, X̂ → 3
  const r2 = await iomFaithfulness(x, mapOf([[0, 2], [-2, 4]]), g, { baseScore: 2 });
  assert.deepEqual([r2.averageDrop, r2.confidenceDrop], [0.25, -0.5]);
  assert.equal(confidenceDropTerm(0, 1), NaN);
});

Deno.test("mapArea() counts entries > 0 over every channel", () => {
  assert.deepEqual(mapArea(mapOf([[0, 0], [0, 0]])), { area: 0, value: 0 });
  assert.deepEqual(mapArea(mapOf([[[1, 0]], [[0.5, 0.5]]])), { area: 0.75, value: 2 / 3 });
});

Deno.test("percentWin() gives each image to the highest explanation score, ties split, sums to 1", () => {
  const w = percentWin({
    a: [0.9, 0.1, 0.5, NaN, 0.2],
    b: [0.2, 0.3, 0.5, NaN, NaN],
    c: [0.1, 0.3, 0.5, NaN, 0.1],
  });
  // Image 0 → a; image 1 → b and c (½ each); image 2 → three-way tie; image 3 → nobody, not counted;
  // image 4 → a (b has no score). Four images counted.
  assertClose([w.a, w.b, w.c], [(1 + 1 / 3 + 1) / 4, (0.5 + 1 / 3) / 4, (0.5 + 1 / 3) / 4], 1e-15);
  assertClose(w.a + w.b + w.c, 1, 1e-15);
  assert.deepEqual(percentWin({}), {});
  assert.throws(() => percentWin({ a: [1], b: [1, 2] }), RangeError);
});
