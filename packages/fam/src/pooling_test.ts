import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { rng } from "../../core/src/_testing/reference.ts";
import { poolFeatures } from "./pooling.ts";
import { gapLoop, gmpLoop, lseLoop, type Maps, rows } from "./_test_helpers.ts";

function randomMaps(seed: number, b: number, h: number, w: number, n: number): { t: tf.Tensor; m: Maps } {
  const r = rng(seed);
  const data = Float32Array.from({ length: b * h * w * n }, () => r() * 4 - 2);
  return {
    t: tf.tensor4d(data, [b, h, w, n]),
    m: { b, h, w, n, data, at: (i, c, y, x) => data[((i * h + y) * w + x) * n + c] },
  };
}

Deno.test("poolFeatures() GAP, GMP and LSE equal their loop definitions per channel", async () => {
  await useBackend("cpu");
  const { t, m } = randomMaps(21, 2, 3, 5, 4);
  for (const [p, loop] of [["gap", gapLoop], ["gmp", gmpLoop]] as const) {
    const z = poolFeatures(t, p);
    const got = await rows(z);
    for (let i = 0; i < 2; i++) assertAllClose(got[i], loop(m, i), { rtol: 1e-5, atol: 1e-6, label: p });
    z.dispose();
  }
  for (const temp of [0.5, 1, 3]) {
    const z = poolFeatures(t, "lse", temp);
    const got = await rows(z);
    for (let i = 0; i < 2; i++) assertAllClose(got[i], lseLoop(m, i, temp), { rtol: 1e-5, atol: 1e-5 });
    z.dispose();
  }
  t.dispose();
});

Deno.test("poolFeatures() LSE tends to GMP as T → 0 and to GAP as T → ∞, without overflow", async () => {
  await useBackend("cpu");
  const { t, m } = randomMaps(22, 1, 4, 4, 3);
  const cold = await rows(poolFeatures(t, "lse", 1e-3));
  const hot = await rows(poolFeatures(t, "lse", 1e4));
  assertAllClose(cold[0], gmpLoop(m, 0), { atol: 1e-2 });
  assertAllClose(hot[0], gapLoop(m, 0), { atol: 1e-3 });
  const big = tf.mul(t, 1e3); // exp(2000) overflows float32 without the max shift
  const z = await rows(poolFeatures(big, "lse", 1));
  assert.ok(z[0].every(Number.isFinite));
  tf.dispose([t, big]);
});

Deno.test("poolFeatures() rejects bad input", () => {
  const v = tf.zeros([2, 3]);
  assert.throws(() => poolFeatures(v), /\[B, H, W, N\]/);
  const m = tf.zeros([1, 2, 2, 1]);
  assert.throws(() => poolFeatures(m, "lse", 0), /temperature must be > 0/);
  assert.throws(() => poolFeatures(m, "avg" as "gap"), /Unknown pooling 'avg'/);
  tf.dispose([v, m]);
});
