import assert from "node:assert/strict";
import { conv2dNoBias, getRule, GraphBuilder, type Tensor, tf, useBackend } from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../core/src/_testing/assert.ts";
import { convVjp, GAP_VJP } from "./backward_rules.ts";
import { f64 } from "./_testing.ts";

const configs = [
  { k: 3, stride: 1, pad: 1, dilation: 1 },
  { k: 5, stride: 1, pad: 1, dilation: 1 },
  { k: 3, stride: 1, pad: 2, dilation: 2 },
  { k: 3, stride: 1, pad: 0, dilation: 3 },
  { k: 1, stride: 1, pad: 0, dilation: 1 },
  { k: 3, stride: 2, pad: 1, dilation: 1 },
];

/** ⟨conv(x), dy⟩ = ⟨x, vjp(dy)⟩: the rule is the transpose of the (bias-free) convolution. */
async function adjoint(cfg: (typeof configs)[number], seed: number) {
  const b = new GraphBuilder([3, 11, 10], seed);
  const c = b.conv("c", b.inputName, { out: 4, ...cfg });
  const g = b.build(c);
  const node = g.node("c");
  const x = tf.randomNormal([2, 11, 10, 3], 0, 1, "float32", seed);
  const y = conv2dNoBias(node, x, node.params.weight);
  const dy = tf.randomNormal(y.shape, 0, 1, "float32", seed + 1);
  const [dx] = convVjp(node, [x], y, dy, [true]) as Tensor[];
  assert.deepEqual(dx.shape, x.shape);
  const lhs = (await f64(tf.sum(tf.mul(y, dy))))[0];
  const rhs = (await f64(tf.sum(tf.mul(x, dx))))[0];
  assertAllClose([rhs], [lhs], { rtol: 1e-4, atol: 1e-3, label: JSON.stringify(cfg) });
  if (cfg.dilation === 1) {
    // Where tfjs can differentiate, its autodiff (Conv2DBackpropInput) gives the same cotangent.
    const ref = tf.grad((v: Tensor) => tf.sum(tf.mul(conv2dNoBias(node, v, node.params.weight), dy)))(x);
    assertAllClose(await f64(dx), await f64(ref), { rtol: 1e-4, atol: 1e-4 });
    ref.dispose();
  }
  for (const t of [x, y, dy, dx]) t.dispose();
  g.dispose();
}

forEachBackend(
  "convVjp() is the transpose of the convolution (adjoint identity), dilated, strided and padded alike",
  async () => {
    for (const [i, cfg] of configs.entries()) await adjoint(cfg, 10 + i);
  },
);

Deno.test("the gap.vjp rule kind covers every op with a core vjp rule", async () => {
  await useBackend("cpu");
  assert.equal(getRule(GAP_VJP, "conv2d", "n"), convVjp);
  assert.equal(convVjp, getRule("vjp", "conv2d", "n"), "the core's conv2d rule");
  assert.equal(getRule(GAP_VJP, "relu", "n"), getRule("vjp", "relu", "n"));
  assert.deepEqual(
    convVjp(new GraphBuilder([1, 2, 2]).build("input").node("input"), [], tf.zeros([1]), tf.zeros([1]), [
      false,
    ]),
    [null],
  );
});
