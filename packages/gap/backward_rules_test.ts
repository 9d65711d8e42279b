import assert from "node:assert/strict";
import {
  conv2dNoBias,
  getRule,
  GraphBuilder,
  type Tensor,
  tf,
  useBackend,
  type VjpRule,
} from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../core/src/_testing/assert.ts";
import { convVjp, GAP_VJP } from "./backward_rules.ts";
import { f64 } from "./_testing.ts";

const configs = [
  { k: 3, stride: 1, pad: 1, dilation: 1 },
  { k: 5, stride: 1, pad: 1, dilation: 1 },
  { k: 3, stride: 1, pad: 2, dilation: 2 },
  { k: 3, stride: 1, pad: 0, dilation: 3 },
  { k: 1, stride: 1, pad: 0, dilation: 1 },
  { k: 3, stride: 2, pad: 1, dilation: 1 }, // falls back to the core rule
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
    // Where tfjs can differentiate, the core rule gives the same cotangent.
    const [ref] = getRule<VjpRule>("vjp", "conv2d", "c")(node, [x], y, dy, [true]) as Tensor[];
    assertAllClose(await f64(dx), await f64(ref), { rtol: 1e-4, atol: 1e-4 });
    ref.dispose();
  }
  for (const t of [x, y, dy, dx]) t.dispose();
  g.dispose();
}

Deno.test("convVjp() is the transpose of the convolution (adjoint identity), dilated and padded alike", async () => {
  await useBackend("cpu");
  for (const [i, cfg] of configs.entries()) await adjoint(cfg, 10 + i);
});

forEachBackend("convVjp() adjoint identity", async () => {
  await adjoint(configs[2], 30);
});

Deno.test("the gap.vjp rule kind covers every op with a core vjp rule", async () => {
  await useBackend("cpu");
  assert.equal(getRule(GAP_VJP, "conv2d", "n"), convVjp);
  assert.equal(getRule(GAP_VJP, "relu", "n"), getRule("vjp", "relu", "n"));
  assert.deepEqual(
    convVjp(new GraphBuilder([1, 2, 2]).build("input").node("input"), [], tf.zeros([1]), tf.zeros([1]), [
      false,
    ]),
    [null],
  );
});
