import assert from "node:assert/strict";
import { classLogit, tf, useBackend } from "@cnnlens/core";
import { timeGapVsAblation } from "./timing.ts";
import { vggLike } from "./_testing.ts";

Deno.test("timeGapVsAblation() reports positive medians and their ratio, leaving memory flat", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 8);
  const before = tf.memory().numTensors;
  const t = await timeGapVsAblation(g, x, classLogit(0), "s1", { repeat: 3 });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(t.forwardMs > 0 && t.gapMs > 0 && t.ablationMs > 0);
  assert.ok(Math.abs(t.ratio - t.ablationMs / t.gapMs) < 1e-9);
  x.dispose();
  g.dispose();
});

Deno.test("timeGapVsAblation() estimates the full-forward protocol from a sample of channels", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 8);
  const t = await timeGapVsAblation(g, x, classLogit(0), "r3", { repeat: 1, naiveSample: 2 });
  assert.ok(t.naiveAblationMs > 0);
  assert.ok(Math.abs(t.naiveRatio - t.naiveAblationMs / (t.forwardMs + t.gapMs)) < 1e-9);
  const none = await timeGapVsAblation(g, x, classLogit(0), "r3", { repeat: 1, naiveSample: 0 });
  assert.ok(Number.isNaN(none.naiveAblationMs));
  x.dispose();
  g.dispose();
});
