/**
 * Structural properties of every FAM entry point: forward passes only (no backward pass, no gradient
 * tape), and no tensor left behind.
 */
import assert from "node:assert/strict";
import { classLogit, gradients, tf, tinyNet, useBackend } from "@cnnlens/core";
import { fam } from "./fam.ts";
import { episode } from "./episode.ts";
import { knnExplain } from "./knn_explain.ts";
import { retrievalExplain } from "./retrieval_explain.ts";
import { embed } from "./embed.ts";
import { contributionWeights } from "./contribution_weights.ts";

type Engine = {
  gradients: (...a: unknown[]) => unknown;
  addTapeNode: (...a: unknown[]) => unknown;
};

/** Count calls of the tfjs engine's backward entry point (every tf.grad/grads/valueAndGrads) and tape. */
async function spyBackward(fn: () => Promise<unknown>): Promise<{ gradients: number; tapeNodes: number }> {
  const engine = tf.engine() as unknown as Engine;
  const orig = { gradients: engine.gradients, addTapeNode: engine.addTapeNode };
  const count = { gradients: 0, tapeNodes: 0 };
  engine.gradients = (...a) => (count.gradients++, orig.gradients.apply(engine, a));
  engine.addTapeNode = (...a) => (count.tapeNodes++, orig.addTapeNode.apply(engine, a));
  try {
    await fn();
  } finally {
    engine.gradients = orig.gradients;
    engine.addTapeNode = orig.addTapeNode;
  }
  return count;
}

const img = (seed: number, k = 1) => tf.randomUniform([k, 8, 8, 3], 0, 1, "float32", seed);

async function everyEntryPoint(g: ReturnType<typeof tinyNet>, q: tf.Tensor, refs: tf.Tensor, z: tf.Tensor) {
  await fam(g, q, refs);
  await fam(g, q, refs, { embedding: "fc", metric: "euclidean", pooling: "lse" });
  await fam(g, q, z);
  await episode(g, [{ class: 0, images: refs }, { class: 1, images: q }], refs);
  await knnExplain(g, q, { embeddings: z, labels: [0, 1, 0], image: (i) => tf.slice(refs, [i], [1]) });
  await retrievalExplain(g, q, refs);
  await retrievalExplain(g, q, z, { image: (i) => tf.slice(refs, [i], [1]) });
  const first = tf.slice(z, [0], [1]);
  await contributionWeights(first, z);
  first.dispose();
}

Deno.test("FAM runs no backward pass: the engine's gradients() and tape are never used", async () => {
  await useBackend("cpu");
  const g = tinyNet(2);
  const q = img(1);
  const refs = img(2, 3);
  const z = embed(g, refs);
  const seen = await spyBackward(() => everyEntryPoint(g, q, refs, z));
  assert.deepEqual(seen, { gradients: 0, tapeNodes: 0 });
  // The spy does see a backward pass when there is one (so this test can fail).
  const control = await spyBackward(() => {
    gradients(g, q, classLogit(0), ["relu2"]).dispose();
    return Promise.resolve();
  });
  assert.ok(control.gradients === 1 && control.tapeNodes > 0, JSON.stringify(control));
  tf.dispose([q, refs, z]);
  g.dispose();
});

Deno.test("memory stays flat over repeated explanations of every kind", async () => {
  await useBackend("cpu");
  const g = tinyNet(2);
  const q = img(3);
  const refs = img(4, 3);
  const z = embed(g, refs);
  await everyEntryPoint(g, q, refs, z); // warm-up (backend-internal allocations)
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) await everyEntryPoint(g, q, refs, z);
  assert.equal(tf.memory().numTensors, before);
  // Failing calls release what they made too.
  await assert.rejects(() => fam(g, q, tf.zeros([1, 4, 4, 3])));
  await assert.rejects(() => knnExplain(g, q, { embeddings: z, labels: [0, 1, 0] }, { explain: 7 }));
  assert.equal(tf.memory().numTensors, before + 1); // only the tf.zeros made here
  tf.dispose([q, refs, z]);
  g.dispose();
});
