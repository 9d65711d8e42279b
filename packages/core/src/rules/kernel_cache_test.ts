import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { KernelCache, kernelCache } from "./kernel_cache.ts";
import { tinyNet } from "../_testing/tiny.ts";
import { useBackend } from "../backend/backend.ts";

Deno.test("KernelCache.get() makes once per (weight, key), keeps the result, releases its temporaries", async () => {
  await useBackend("cpu");
  const cache = new KernelCache();
  const w = tf.tensor1d([1, -2, 3]);
  const before = tf.memory().numTensors;
  let made = 0;
  const make = () => {
    made++;
    return [tf.abs(tf.neg(w))]; // the negation is a temporary
  };
  const [a] = tf.tidy(() => cache.get(w, "abs", make)); // a caller's tidy does not release it
  const [b] = cache.get(w, "abs", make);
  assert.equal(a, b);
  assert.equal(made, 1);
  assert.equal(a.isDisposed, false);
  assert.deepEqual(Array.from(await a.data()), [1, 2, 3]);
  cache.get(w, "neg", () => [tf.neg(w), tf.neg(w)]);
  assert.equal(cache.size, 3);
  assert.equal(tf.memory().numTensors, before + 3);
  assert.equal(cache.clear(), 3);
  assert.equal(tf.memory().numTensors, before);
  w.dispose();
});

Deno.test("KernelCache sweeps the entries of disposed weights, derived owners included, in one pass", async () => {
  await useBackend("cpu");
  const cache = new KernelCache();
  const w = tf.tensor1d([1, -2]);
  const other = tf.tensor1d([5]);
  const before = tf.memory().numTensors;
  const [abs] = cache.get(w, "abs", () => [tf.abs(w)]);
  cache.get(abs, "flipped", () => [tf.reverse(abs)]); // owned by a cached tensor
  cache.get(other, "x", () => [tf.mul(other, 2)]);
  assert.equal(cache.size, 3);
  assert.equal(cache.sweep(), 0);
  w.dispose();
  assert.equal(cache.sweep(), 2, "|W| and what derives from it");
  assert.equal(cache.size, 1);
  other.dispose();
  cache.get(tf.tidy(() => tf.scalar(0)), "y", () => []); // any use sweeps too
  assert.equal(cache.size, 0);
  assert.equal(tf.memory().numTensors, before - 1);
});

Deno.test("graph.dispose() releases the graph's kernels from the shared kernelCache at once", async () => {
  await useBackend("cpu");
  kernelCache.clear();
  const g = tinyNet();
  const built = tf.memory().numTensors;
  const w = g.node("conv1").params.weight;
  kernelCache.get(w, "test", () => [tf.neg(w)]);
  assert.equal(tf.memory().numTensors, built + 1);
  g.dispose();
  assert.equal(tf.memory().numTensors, built - countParams(g));
  assert.equal(kernelCache.size, 0);
});

function countParams(g: ReturnType<typeof tinyNet>): number {
  return g.nodes.reduce((n, node) => n + Object.keys(node.params).length, 0);
}
