import assert from "node:assert/strict";
import { tf, tinyNet, UnknownNodeError, useBackend } from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../../core/src/_testing/assert.ts";
import { fam } from "./fam.ts";
import { embed } from "./embed.ts";
import { additiveMetric } from "./metric.ts";
import {
  cosLoop,
  eq15Loop,
  euclidLoop,
  gapLoop,
  gmpLoop,
  lseLoop,
  mapLoop,
  minMaxLoop,
  readMaps,
  total,
} from "./_test_helpers.ts";

const images = (seed: number, k: number) => tf.randomUniform([k, 8, 8, 3], -1, 1, "float32", seed);

forEachBackend("fam() equals Eq. 15 by loops (K = 2) and its map equals Σ c̄_n A^n by loops", async () => {
  const g = tinyNet(3);
  const q = images(1, 1);
  const refs = images(2, 2);
  const all = tf.concat([q, refs]);
  try {
    const res = await fam(g, q, refs);
    assert.equal(res.layer, "relu2");
    assert.equal(res.pooling, "gap");
    assert.equal(res.embedding, null);
    const m = await readMaps(g, all, "relu2");
    const z = [0, 1, 2].map((i) => gapLoop(m, i));
    // Eq. 15 averaged over the two references (Eq. 11).
    const c = eq15Loop(z[0], [z[1], z[2]]);
    assertAllClose(res.contributions, c, { rtol: 1e-3, atol: 1e-5, label: "contributions" });
    assertAllClose(res.normalized, minMaxLoop(c), { rtol: 1e-3, atol: 1e-4, label: "Eq. 12" });
    assertAllClose(res.map, mapLoop(m, 0, minMaxLoop(c)), { rtol: 1e-3, atol: 1e-4, label: "Eq. 13" });
    assert.equal(res.map.length, m.h * m.w);
    assert.deepEqual([res.height, res.width], [m.h, m.w]);
    assertAllClose(res.similarity.perReference, [cosLoop(z[0], z[1]), cosLoop(z[0], z[2])], { atol: 1e-5 });
    assertAllClose(res.similarity.mean, (cosLoop(z[0], z[1]) + cosLoop(z[0], z[2])) / 2, { atol: 1e-5 });
    // Each reference explained against the query (pair view): K = 1, the query as its reference.
    assert.equal(res.referenceMaps.length, 2);
    for (const k of [1, 2]) {
      const rm = res.referenceMaps[k - 1];
      const ck = eq15Loop(z[k], [z[0]]);
      assertAllClose(rm.contributions, ck, { rtol: 1e-3, atol: 1e-5 });
      assertAllClose(rm.map, mapLoop(m, k, minMaxLoop(ck)), { rtol: 1e-3, atol: 1e-4 });
      assertAllClose(total(rm.contributions), Math.sign(cosLoop(z[k], z[0])), { atol: 1e-4 });
      assert.equal(rm.embeddingContributions, null);
    }
  } finally {
    tf.dispose([q, refs, all]);
    g.dispose();
  }
});

Deno.test("fam() with GMP and LSE pooling uses z_n = max A^n and T·log mean exp(A^n/T)", async () => {
  await useBackend("cpu");
  const g = tinyNet(4);
  const q = images(3, 1);
  const r = images(4, 1);
  const m = await readMaps(g, tf.concat([q, r]), "relu2");
  const gmp = await fam(g, q, r, { pooling: "gmp" });
  assert.equal(gmp.pooling, "gmp");
  const zg = [gmpLoop(m, 0), gmpLoop(m, 1)];
  assertAllClose(gmp.contributions, eq15Loop(zg[0], [zg[1]]), { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(gmp.similarity.mean, cosLoop(zg[0], zg[1]), { atol: 1e-6 });
  const lse = await fam(g, q, r, { pooling: "lse", temperature: 0.7 });
  const zl = [lseLoop(m, 0, 0.7), lseLoop(m, 1, 0.7)];
  assertAllClose(lse.contributions, eq15Loop(zl[0], [zl[1]]), { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(lse.map, mapLoop(m, 0, minMaxLoop(lse.contributions)), { rtol: 1e-4, atol: 1e-5 });
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("fam() Euclidean: c_n = −(z_n − z^k_n)²/|s| averaged over K, summing to −1", async () => {
  await useBackend("cpu");
  const g = tinyNet(5);
  const q = images(5, 1);
  const refs = images(6, 3);
  const m = await readMaps(g, tf.concat([q, refs]), "relu2");
  const z = [0, 1, 2, 3].map((i) => gapLoop(m, i));
  const res = await fam(g, q, refs, { metric: "euclidean" });
  assert.equal(res.metric, "euclidean");
  assertAllClose(res.contributions, euclidLoop(z[0], z.slice(1)), { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(total(res.contributions), -1, { atol: 1e-5 });
  const s = z.slice(1).map((r) => -r.reduce((acc, v, n) => acc + (z[0][n] - v) ** 2, 0));
  assertAllClose(res.similarity.perReference, s, { rtol: 1e-4, atol: 1e-7 });
  tf.dispose([q, refs]);
  g.dispose();
});

Deno.test("fam() with an additive hook uses its per-channel terms over |score|", async () => {
  await useBackend("cpu");
  const g = tinyNet(6);
  const q = images(7, 1);
  const r = images(8, 1);
  const m = await readMaps(g, tf.concat([q, r]), "relu2");
  const [z, zr] = [gapLoop(m, 0), gapLoop(m, 1)];
  const dot = additiveMetric("dot", (a, b) => tf.mul(a, b));
  const res = await fam(g, q, r, { metric: dot });
  const s = z.reduce((acc, v, n) => acc + v * zr[n], 0);
  assertAllClose(res.contributions, z.map((v, n) => v * zr[n] / Math.abs(s)), { rtol: 1e-4, atol: 1e-7 });
  assertAllClose(res.similarity.mean, s, { rtol: 1e-5 });
  assert.equal(res.metric, "dot");
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("fam() with precomputed reference embeddings equals fam() with the images, minus the pair view", async () => {
  await useBackend("cpu");
  const g = tinyNet(7);
  const q = images(9, 1);
  const refs = images(10, 2);
  const z = embed(g, refs);
  const a = await fam(g, q, refs);
  const b = await fam(g, q, z);
  assertAllClose(b.contributions, a.contributions, { rtol: 1e-5, atol: 1e-7 });
  assertAllClose(b.map, a.map, { rtol: 1e-5, atol: 1e-7 });
  assertAllClose(b.similarity.perReference, a.similarity.perReference, { atol: 1e-6 });
  assert.equal(b.referenceMaps.length, 0);
  // One reference as a [D] vector.
  const one = tf.slice(z, [0], [1]).reshape([-1]);
  const c = await fam(g, q, one);
  assert.equal(c.similarity.perReference.length, 1);
  assertAllClose(c.similarity.mean, a.similarity.perReference[0], { atol: 1e-6 });
  tf.dispose([q, refs, z, one]);
  g.dispose();
});

Deno.test("fam() of identical embeddings under Euclidean: zero contributions, c̄ = 1, L = Σ_n A^n", async () => {
  await useBackend("cpu");
  const g = tinyNet(8);
  const q = images(11, 1);
  const res = await fam(g, q, q, { metric: "euclidean" });
  assert.deepEqual(Array.from(res.contributions), new Array(6).fill(0));
  assert.deepEqual(Array.from(res.normalized), new Array(6).fill(1));
  const m = await readMaps(g, q, "relu2");
  assertAllClose(res.map, mapLoop(m, 0, new Array(6).fill(1)), { rtol: 1e-5, atol: 1e-6 });
  q.dispose();
  g.dispose();
});

Deno.test("fam() at a chosen layer explains that layer's own resolution", async () => {
  await useBackend("cpu");
  const g = tinyNet(9);
  const q = images(12, 1);
  const r = images(13, 1);
  const res = await fam(g, q, r, { layer: "pool1" });
  const m = await readMaps(g, tf.concat([q, r]), "pool1");
  assert.deepEqual([res.height, res.width, res.contributions.length], [4, 4, 4]);
  assertAllClose(res.contributions, eq15Loop(gapLoop(m, 0), [gapLoop(m, 1)]), { rtol: 1e-4, atol: 1e-6 });
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("fam() rejects bad inputs with messages that name the problem", async () => {
  await useBackend("cpu");
  const g = tinyNet(10);
  const q = images(14, 1);
  const two = images(15, 2);
  const small = tf.zeros([1, 4, 4, 3]);
  await assert.rejects(() => fam(g, two, q), /one image \[1, H, W, C\]/);
  await assert.rejects(() => fam(g, q, small), /differ in size from the query/);
  await assert.rejects(() => fam(g, q, q, { layer: "fc" }), /not a feature map/);
  await assert.rejects(() => fam(g, q, q, { layer: "relu_2" }), UnknownNodeError);
  await assert.rejects(() => fam(g, q, tf.zeros([2, 5])), /size 5, the compared embedding has 6/);
  await assert.rejects(() => fam(g, q, q, { batchSize: 0 }), /batchSize/);
  tf.dispose([q, two, small]);
  g.dispose();
});
