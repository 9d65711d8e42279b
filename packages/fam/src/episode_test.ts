import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../../core/src/_testing/assert.ts";
import { episode } from "./episode.ts";
import { colorNet, colourImages, cosLoop, eq15Loop, mapLoop, minMaxLoop, readMaps } from "./_test_helpers.ts";

// The toy network's GAP embedding is the image's mean colour: we choose every embedding.
const RED = [[0.9, 0.1, 0.1], [0.8, 0.2, 0.1]]; // 2 shots
const GREEN = [[0.1, 0.9, 0.2]];
const BLUE = [[0.1, 0.2, 0.9]];
const QUERIES = [[0.7, 0.3, 0.2], [0.2, 0.6, 0.5], [0.3, 0.3, 0.8], [0.5, 0.45, 0.1]];
const LABELS = ["red", "green", "blue", "green"]; // the last one is a mistake of the model

function expected(q: number[]) {
  const mean = (set: number[][]) => set.reduce((s, r) => s + cosLoop(q, r), 0) / set.length;
  const scores = [mean(RED), mean(GREEN), mean(BLUE)];
  return { scores, best: ["red", "green", "blue"][scores.indexOf(Math.max(...scores))] };
}

forEachBackend(
  "episode() predicts the class of highest mean similarity (Eq. 11) and explains it",
  async () => {
    const g = colorNet();
    const support = [
      { class: "red", images: colourImages(RED) },
      { class: "green", images: colourImages(GREEN) },
      { class: "blue", images: colourImages(BLUE) },
    ];
    const queries = colourImages(QUERIES);
    try {
      const res = await episode(g, support, queries, { labels: LABELS });
      assert.equal(res.ways, 3);
      assert.deepEqual(res.shots, [2, 1, 1]);
      assert.deepEqual(res.queries.map((q) => q.prediction), ["red", "green", "blue", "red"]);
      assert.equal(res.accuracy, 0.75);
      assert.deepEqual(res.queries.map((q) => q.correct), [true, true, true, false]);
      const m = await readMaps(g, queries, "act");
      for (const [i, q] of res.queries.entries()) {
        const e = expected(QUERIES[i]);
        assert.equal(q.prediction, e.best);
        assertAllClose(q.scores.map((s) => s.similarity), e.scores, { atol: 1e-5 });
        assert.equal(q.explained, q.prediction);
        const refs = { red: RED, green: GREEN, blue: BLUE }[q.prediction as "red"];
        const c = eq15Loop(QUERIES[i], refs);
        assertAllClose(q.explanation!.contributions, c, { rtol: 1e-3, atol: 1e-5 });
        assertAllClose(q.explanation!.map, mapLoop(m, i, minMaxLoop(c)), { rtol: 1e-3, atol: 1e-4 });
        assert.equal(q.explanation!.referenceMaps.length, refs.length);
        refs.forEach((r, k) => {
          assertAllClose(q.explanation!.referenceMaps[k].contributions, eq15Loop(r, [QUERIES[i]]), {
            rtol: 1e-3,
            atol: 1e-5,
          });
        });
      }
    } finally {
      tf.dispose([...support.map((s) => s.images), queries]);
      g.dispose();
    }
  },
);

Deno.test("episode() explains a chosen class, or classifies only", async () => {
  await useBackend("cpu");
  const g = colorNet();
  const support = [
    { class: 1, images: colourImages(RED) },
    { class: 2, images: colourImages(BLUE) },
  ];
  const queries = colourImages(QUERIES.slice(0, 2));
  const chosen = await episode(g, support, queries, { explain: 2 });
  for (const [i, q] of chosen.queries.entries()) {
    assert.equal(q.explained, 2);
    assertAllClose(q.explanation!.contributions, eq15Loop(QUERIES[i], BLUE), { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(q.explanation!.similarity.mean, cosLoop(QUERIES[i], BLUE[0]), { atol: 1e-6 });
  }
  assert.equal(chosen.accuracy, null);
  const bare = await episode(g, support, queries, { explain: "none" });
  assert.ok(bare.queries.every((q) => q.explanation === null && q.explained === null));
  assert.deepEqual(bare.queries.map((q) => q.prediction), chosen.queries.map((q) => q.prediction));
  await assert.rejects(() => episode(g, support, queries, { explain: 3 }), /Cannot explain class '3'/);
  await assert.rejects(() => episode(g, [support[0], support[0]], queries), /distinct/);
  await assert.rejects(() => episode(g, support, queries, { labels: [1] }), /1 labels for 2 queries/);
  tf.dispose([...support.map((s) => s.images), queries]);
  g.dispose();
});

Deno.test("episode() in batches of 2 gives the same result as one batch", async () => {
  await useBackend("cpu");
  const g = colorNet();
  const support = [{ class: "r", images: colourImages(RED) }, { class: "g", images: colourImages(GREEN) }];
  const queries = colourImages(QUERIES);
  const one = await episode(g, support, queries);
  const many = await episode(g, support, queries, { batchSize: 2 });
  for (let i = 0; i < QUERIES.length; i++) {
    assert.equal(many.queries[i].prediction, one.queries[i].prediction);
    assertAllClose(many.queries[i].explanation!.map, one.queries[i].explanation!.map, { rtol: 1e-6 });
  }
  tf.dispose([...support.map((s) => s.images), queries]);
  g.dispose();
});
