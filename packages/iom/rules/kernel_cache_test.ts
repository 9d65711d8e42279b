import assert from "node:assert/strict";
import { classLogit, tf } from "@cnnlens/core";
import { relativeExcitation } from "../relative_excitation.ts";
import { clearExcitationCache } from "./kernel_cache.ts";
import { image, plainNet } from "../_testing/nets.ts";

Deno.test("the derived-kernel cache is released with its weights and by clearExcitationCache()", () => {
  clearExcitationCache();
  const { x } = image([3, 8, 8], 21);
  const base = tf.memory().numTensors;
  const g1 = plainNet(5); // (GraphBuilder.bn(randomStats) leaks 3 temporaries per BN: no BN here)
  relativeExcitation(g1, x, classLogit(0)).dispose();
  const perGraph = clearExcitationCache();
  assert.ok(perGraph > 0, "conv and gemm kernels were cached");
  relativeExcitation(g1, x, classLogit(0)).dispose();
  g1.dispose();
  // Using another graph sweeps the entries of the disposed one: only g2's kernels remain.
  const g2 = plainNet(6);
  relativeExcitation(g2, x, classLogit(1)).dispose();
  assert.equal(clearExcitationCache(), perGraph);
  g2.dispose();
  assert.equal(tf.memory().numTensors, base);
  x.dispose();
});
