import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { rng } from "../../core/src/_testing/reference.ts";
import { contributionWeights } from "./contribution_weights.ts";
import { additiveMetric } from "./metric.ts";
import { cosLoop, eq15Loop, euclidLoop, total } from "./_test_helpers.ts";

const vec = (r: () => number, d: number) => Array.from({ length: d }, () => r() * 2 - 1);

Deno.test("contributionWeights() equals Eq. 15 by loops, averaged over K = 3 references (Eq. 11)", async () => {
  await useBackend("cpu");
  const r = rng(11);
  const z = vec(r, 9);
  const refs = [vec(r, 9), vec(r, 9), vec(r, 9)];
  const w = await contributionWeights(tf.tensor1d(z), tf.tensor2d(refs));
  assertAllClose(w.contributions, eq15Loop(z, refs), { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(w.similarity.perReference, refs.map((x) => cosLoop(z, x)), { atol: 1e-6 });
  assertAllClose(w.similarity.mean, refs.reduce((s, x) => s + cosLoop(z, x), 0) / 3, { atol: 1e-6 });
});

Deno.test("contributionWeights() with one reference sums to sign(cos), for positive and negative cos", async () => {
  await useBackend("cpu");
  const r = rng(12);
  let seen = new Set<number>();
  for (let trial = 0; trial < 8; trial++) {
    const z = vec(r, 12);
    const ref = vec(r, 12);
    const w = await contributionWeights(tf.tensor1d(z), tf.tensor1d(ref));
    const sign = Math.sign(cosLoop(z, ref));
    seen = seen.add(sign);
    assertAllClose(total(w.contributions), sign, { atol: 1e-5 });
    // The paper's percentage reading: c_n is channel n's share of the score.
    assertAllClose(
      w.contributions,
      z.map((x, n) => x * ref[n] / Math.abs(cosLoop(z, ref) * Math.hypot(...z) * Math.hypot(...ref))),
      {
        rtol: 1e-4,
        atol: 1e-6,
      },
    );
  }
  assert.ok(seen.has(1) && seen.has(-1), "both signs were exercised");
});

Deno.test("contributionWeights() Euclidean: c_n = −(z_n − z^k_n)²/|s|, summing to −1 for any K", async () => {
  await useBackend("cpu");
  const r = rng(13);
  const z = vec(r, 6);
  const refs = [vec(r, 6), vec(r, 6)];
  const w = await contributionWeights(tf.tensor1d(z), tf.tensor2d(refs), { metric: "euclidean" });
  assertAllClose(w.contributions, euclidLoop(z, refs), { rtol: 1e-4, atol: 1e-7 });
  assertAllClose(total(w.contributions), -1, { atol: 1e-5 });
  const d = refs.map((x) => -x.reduce((s, v, n) => s + (z[n] - v) ** 2, 0));
  assertAllClose(w.similarity.perReference, d, { rtol: 1e-5 });
});

Deno.test("contributionWeights() with an additive hook: terms over |score| (negative L1 distance)", async () => {
  await useBackend("cpu");
  const l1 = additiveMetric("neg-l1", (a, b) => tf.neg(tf.abs(tf.sub(a, b))));
  const z = [1, -2, 0.5];
  const refs = [[0, 1, 0.5], [2, -2, -1]];
  const w = await contributionWeights(tf.tensor1d(z), tf.tensor2d(refs), { metric: l1 });
  const expect = [0, 0, 0];
  for (const ref of refs) {
    const s = -ref.reduce((acc, v, n) => acc + Math.abs(z[n] - v), 0);
    for (let n = 0; n < 3; n++) expect[n] += -Math.abs(z[n] - ref[n]) / Math.abs(s) / refs.length;
  }
  assertAllClose(w.contributions, expect, { rtol: 1e-6, atol: 1e-7 });
  assertAllClose(w.similarity.perReference, [-4, -2.5], { rtol: 1e-6 });
});

Deno.test("contributionWeights() gives zero, not NaN, for a zero score or a zero embedding", async () => {
  await useBackend("cpu");
  const same = await contributionWeights(tf.tensor1d([1, 2]), tf.tensor1d([1, 2]), { metric: "euclidean" });
  assert.deepEqual(Array.from(same.contributions), [0, 0]);
  const zero = await contributionWeights(tf.tensor1d([0, 0]), tf.tensor1d([1, 2]));
  assert.deepEqual(Array.from(zero.contributions), [0, 0]);
  await assert.rejects(() => contributionWeights(tf.tensor1d([1, 2]), tf.tensor2d([[1, 2, 3]])), /\[K, D\]/);
});
