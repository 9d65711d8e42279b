import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { rng } from "../../core/src/_testing/reference.ts";
import { additiveMetric, cosineMetric, euclideanMetric, resolveMetric, scoreMatrix } from "./metric.ts";
import { cosLoop, rows } from "./_test_helpers.ts";

function randomRows(r: () => number, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => r() * 2 - 1));
}

Deno.test("cosineMetric.terms() are z_n z'_n / (‖Z‖‖Z'‖) and sum to the cosine", async () => {
  await useBackend("cpu");
  const r = rng(3);
  const a = randomRows(r, 4, 7);
  const b = randomRows(r, 4, 7);
  const t = cosineMetric.terms(tf.tensor2d(a), tf.tensor2d(b));
  const got = await rows(t);
  for (let p = 0; p < 4; p++) {
    const na = Math.hypot(...a[p]);
    const nb = Math.hypot(...b[p]);
    assertAllClose(got[p], a[p].map((x, n) => x * b[p][n] / (na * nb)), { rtol: 1e-5, atol: 1e-7 });
    assertAllClose(got[p].reduce((s, x) => s + x, 0), cosLoop(a[p], b[p]), { atol: 1e-6 });
  }
  t.dispose();
});

Deno.test("euclideanMetric.terms() are −(z_n − z'_n)²", async () => {
  await useBackend("cpu");
  const r = rng(4);
  const a = randomRows(r, 3, 5);
  const b = randomRows(r, 3, 5);
  const t = euclideanMetric.terms(tf.tensor2d(a), tf.tensor2d(b));
  assertAllClose(await rows(t), a.map((row, p) => row.map((x, n) => -((x - b[p][n]) ** 2))), { rtol: 1e-5 });
  t.dispose();
});

Deno.test("scoreMatrix() fast paths equal the row sums of the terms for every pair", async () => {
  await useBackend("cpu");
  const r = rng(5);
  const a = tf.tensor2d(randomRows(r, 3, 6));
  const b = tf.tensor2d(randomRows(r, 5, 6));
  for (const m of [cosineMetric, euclideanMetric]) {
    const fast = scoreMatrix(m, a, b);
    const slow = scoreMatrix(additiveMetric("same", m.terms), a, b); // no `scores`: the generic path
    assert.deepEqual(fast.shape, [3, 5]);
    assertAllClose(await fast.data(), await slow.data(), { rtol: 1e-5, atol: 1e-6, label: m.name });
    tf.dispose([fast, slow]);
  }
  tf.dispose([a, b]);
});

Deno.test("resolveMetric() names the choices and rejects unknown ones", () => {
  assert.equal(resolveMetric("cosine"), cosineMetric);
  assert.equal(resolveMetric("euclidean"), euclideanMetric);
  const own = additiveMetric("dot", (a, b) => tf.mul(a, b));
  assert.equal(resolveMetric(own), own);
  assert.throws(() => resolveMetric("manhattan" as "cosine"), /Unknown similarity metric 'manhattan'/);
});
