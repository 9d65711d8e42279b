import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { samePadding1d, samePads } from "./_same_padding.ts";

Deno.test("samePads() makes TensorFlow's 'same' padding explicit (conv2d and depthwise, strides 1-3)", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  for (const [h, w] of [[5, 8], [7, 7], [12, 9], [112, 112], [56, 55]]) {
    for (const k of [1, 2, 3, 5, 7]) {
      for (const s of [1, 2, 3]) {
        const pads = samePads(h, w, k, s);
        const [same, explicit, dSame, dExplicit] = tf.tidy(() => {
          const x = tf.randomNormal([1, h, w, 2], 0, 1, "float32", h * 31 + w) as tf.Tensor4D;
          const f = tf.randomNormal([k, k, 2, 3], 0, 1, "float32", k) as tf.Tensor4D;
          const d = tf.randomNormal([k, k, 2, 1], 0, 1, "float32", k + 7) as tf.Tensor4D;
          const p: [[number, number], [number, number], [number, number], [number, number]] = [
            [0, 0],
            [pads[0], pads[2]],
            [pads[1], pads[3]],
            [0, 0],
          ];
          return [
            tf.conv2d(x, f, s, "same"),
            tf.conv2d(x, f, s, p),
            tf.depthwiseConv2d(x, d, s, "same"),
            tf.depthwiseConv2d(x, d, s, p),
          ];
        });
        const label = `${h}×${w} k${k} s${s} pads [${pads}]`;
        assert.deepEqual(explicit.shape, same.shape, label);
        const [a, b, c, e] = await Promise.all([
          same.data(),
          explicit.data(),
          dSame.data(),
          dExplicit.data(),
        ]);
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `${label} conv at ${i}`);
        for (let i = 0; i < c.length; i++) {
          assert.ok(Math.abs(c[i] - e[i]) < 1e-4, `${label} depthwise at ${i}`);
        }
        tf.dispose([same, explicit, dSame, dExplicit]);
      }
    }
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("samePadding1d() puts the smaller half first: 112, k3, s2 → [0, 1]; s1 → [1, 1]", () => {
  assert.deepEqual(samePadding1d(112, 3, 2), [0, 1]);
  assert.deepEqual(samePadding1d(112, 3, 1), [1, 1]);
  assert.deepEqual(samePadding1d(7, 3, 2), [1, 1]);
  assert.deepEqual(samePadding1d(8, 7, 2), [2, 3]);
});
