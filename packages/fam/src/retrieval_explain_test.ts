import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { retrievalExplain } from "./retrieval_explain.ts";
import { embed } from "./embed.ts";
import { colorNet, colourImages, cosLoop, eq15Loop } from "./_test_helpers.ts";

const GALLERY = [[0.9, 0.1, 0.1], [0.3, 0.6, 0.4], [0.1, 0.2, 0.9], [0.4, 0.5, 0.3], [0.2, 0.9, 0.1]];
const Q = [0.35, 0.55, 0.3];

Deno.test("retrievalExplain() retrieves the top-1 by similarity and explains the pair (K = 1)", async () => {
  await useBackend("cpu");
  const g = colorNet();
  const q = colourImages([Q]);
  const gallery = colourImages(GALLERY);
  const res = await retrievalExplain(g, q, gallery, { top: 3 });
  const sims = GALLERY.map((r) => cosLoop(Q, r));
  const order = sims.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  assert.equal(res.index, order[0]);
  assert.deepEqual(res.ranking.map((r) => r.index), order.slice(0, 3));
  assertAllClose(res.ranking.map((r) => r.similarity), order.slice(0, 3).map((i) => sims[i]), { atol: 1e-5 });
  const best = GALLERY[order[0]];
  assertAllClose(res.explanation.contributions, eq15Loop(Q, [best]), { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(res.explanation.referenceMaps[0].contributions, eq15Loop(best, [Q]), {
    rtol: 1e-4,
    atol: 1e-6,
  });
  assertAllClose(res.similarity, sims[order[0]], { atol: 1e-5 });

  // A gallery of embeddings (from embed()) with an image accessor gives the same retrieval and maps.
  const z = embed(g, gallery);
  const viaEmb = await retrievalExplain(g, q, z, {
    top: 3,
    image: (i) => tf.slice(gallery, [i], [1]),
  });
  assert.equal(viaEmb.index, res.index);
  assertAllClose(viaEmb.explanation.map, res.explanation.map, { rtol: 1e-5, atol: 1e-7 });
  assertAllClose(viaEmb.explanation.referenceMaps[0].map, res.explanation.referenceMaps[0].map, {
    rtol: 1e-5,
  });
  const bare = await retrievalExplain(g, q, z);
  assert.equal(bare.explanation.referenceMaps.length, 0);
  assert.equal(bare.ranking.length, 5);
  await assert.rejects(
    () => retrievalExplain(g, q, tf.zeros([2, 4])),
    /size 4, the compared embedding has 3/,
  );
  tf.dispose([q, gallery, z]);
  g.dispose();
});

Deno.test("retrievalExplain() ranks by the chosen metric (Euclidean prefers the nearer, not the aligned)", async () => {
  await useBackend("cpu");
  const g = colorNet();
  // Same direction as the query but far (×3), or a slightly different direction but near.
  const gallery = colourImages([[0.3, 0.3, 0.9], [0.2, 0.25, 0.35]]);
  const q = colourImages([[0.1, 0.1, 0.3]]);
  assert.equal((await retrievalExplain(g, q, gallery)).index, 0);
  assert.equal((await retrievalExplain(g, q, gallery, { metric: "euclidean" })).index, 1);
  tf.dispose([q, gallery]);
  g.dispose();
});
