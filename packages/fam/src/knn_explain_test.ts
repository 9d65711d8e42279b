import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { knnExplain, knnVote } from "./knn_explain.ts";
import { colorNet, colourImages, cosLoop, eq15Loop } from "./_test_helpers.ts";

const Q = [0.6, 0.5, 0.2]; // the query's embedding (the toy net's mean colour)

/** A vector at a chosen cosine to Q: cos·Q̂ + sin·u, u a unit vector ⊥ Q. */
function atCosine(cos: number, u: number[]): number[] {
  const nq = Math.hypot(...Q);
  return Q.map((v, i) => cos * v / nq + Math.sqrt(1 - cos * cos) * u[i]);
}

function orthonormal(): [number[], number[]] {
  const nq = Math.hypot(...Q);
  const qh = Q.map((v) => v / nq);
  const e = [0, 0, 1];
  const d = e.reduce((s, v, i) => s + v * qh[i], 0);
  let u = e.map((v, i) => v - d * qh[i]);
  const nu = Math.hypot(...u);
  u = u.map((v) => v / nu);
  const w = [qh[1] * u[2] - qh[2] * u[1], qh[2] * u[0] - qh[0] * u[2], qh[0] * u[1] - qh[1] * u[0]];
  return [u, w];
}

const [U, W] = orthonormal();
const BANK = [
  atCosine(0.5, U), // b, outside the top 3
  atCosine(0.9, U), // b
  atCosine(0.99, W), // a
  atCosine(0.2, W), // c
  atCosine(0.9, W.map((v) => -v)), // b
];
const LABELS = ["b", "b", "a", "c", "b"];

Deno.test("knnVote() weighs each neighbour by exp(s/τ), as NPID does", () => {
  const n = [{ label: "a", similarity: 0.99 }, { label: "b", similarity: 0.9 }, {
    label: "b",
    similarity: 0.9,
  }];
  const v = knnVote(n, 0.07);
  assert.equal(v[0].class, "a"); // a majority vote would say "b"
  assertAllClose(v.map((x) => x.score), [Math.exp(0.99 / 0.07), 2 * Math.exp(0.9 / 0.07)], { rtol: 1e-12 });
  assert.equal(knnVote(n, 10)[0].class, "b"); // a hot temperature tends to the majority
  assert.throws(() => knnVote(n, 0), /tau must be > 0/);
});

Deno.test("knnExplain() top-k, vote and explanation against the predicted class's neighbours, by hand", async () => {
  await useBackend("cpu");
  const g = colorNet();
  const q = colourImages([Q]);
  const bank = { embeddings: tf.tensor2d(BANK), labels: LABELS };
  const res = await knnExplain(g, q, bank, { k: 3 });
  // Top 3 by cosine, by hand: rows 2 (0.99), then 1 and 4 (0.9 each).
  const sims = BANK.map((r) => cosLoop(Q, r));
  assertAllClose(sims, [0.5, 0.9, 0.99, 0.2, 0.9], { atol: 1e-9 });
  assert.equal(res.neighbours[0].index, 2);
  assert.deepEqual(new Set(res.neighbours.slice(1).map((n) => n.index)), new Set([1, 4]));
  assertAllClose(res.neighbours.map((n) => n.similarity), [0.99, 0.9, 0.9], { atol: 1e-5 });
  // Weighted vote: exp(0.99/0.07) for a beats 2·exp(0.9/0.07) for b.
  assert.equal(res.prediction, "a");
  assertAllClose(res.votes.map((v) => v.score), [Math.exp(0.99 / 0.07), 2 * Math.exp(0.9 / 0.07)], {
    rtol: 1e-3,
  });
  assert.deepEqual(res.references, [2]);
  assertAllClose(res.explanation.contributions, eq15Loop(Q, [BANK[2]]), { rtol: 1e-4, atol: 1e-6 });
  assert.equal(res.explanation.referenceMaps.length, 0);
  // Explaining "b": its two neighbours among the top 3 are the references (Eq. 11 over them).
  const b = await knnExplain(g, q, bank, { k: 3, explain: "b" });
  assert.deepEqual(new Set(b.references), new Set([1, 4]));
  assertAllClose(b.explanation.contributions, eq15Loop(Q, [BANK[1], BANK[4]]), { rtol: 1e-4, atol: 1e-6 });
  await assert.rejects(() => knnExplain(g, q, bank, { k: 3, explain: "c" }), /no neighbour among the top 3/);
  // k beyond the bank is clamped; with all 5, b's three neighbours outvote a.
  const all = await knnExplain(g, q, bank, { k: 200, tau: 1 });
  assert.equal(all.neighbours.length, 5);
  assert.equal(all.prediction, "b");
  tf.dispose([q, bank.embeddings]);
  g.dispose();
});

Deno.test("knnExplain() with bank images adds each neighbour explained against the query", async () => {
  await useBackend("cpu");
  const g = colorNet();
  const q = colourImages([Q]);
  const colours = [[0.2, 0.3, 0.9], [0.7, 0.4, 0.3], [0.6, 0.5, 0.3], [0.1, 0.1, 0.9], [0.5, 0.5, 0.1]];
  const before = tf.memory().numTensors;
  const bank = {
    embeddings: tf.tensor2d(BANK),
    labels: LABELS,
    image: (i: number) => colourImages([colours[i]]),
  };
  const res = await knnExplain(g, q, bank, { k: 3, explain: "b" });
  // The decision still uses the bank's stored rows ...
  assertAllClose(res.explanation.contributions, eq15Loop(Q, res.references.map((i) => BANK[i])), {
    rtol: 1e-4,
    atol: 1e-6,
  });
  // ... and each neighbour's image is explained against the query (pair view).
  assert.equal(res.explanation.referenceMaps.length, 2);
  res.references.forEach((i, k) => {
    assertAllClose(res.explanation.referenceMaps[k].contributions, eq15Loop(colours[i], [Q]), {
      rtol: 1e-3,
      atol: 1e-5,
    });
  });
  bank.embeddings.dispose();
  assert.equal(tf.memory().numTensors, before, "the images from bank.image() were disposed");
  q.dispose();
  g.dispose();
});
