import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { useBackend } from "../backend/backend.ts";
import { GraphBuilder } from "../models/builder.ts";
import { runForward } from "./forward.ts";
import { tiledBase } from "./tiled_base.ts";
import { assertAllClose, values } from "../_testing/assert.ts";

/** stem → a → b, with a shortcut from the stem around a and b, and (readInput) the input added at the end. */
function net(readInput: boolean) {
  const g = new GraphBuilder([3, 6, 6], 3);
  const stem = g.conv("stem", g.inputName, { out: 3, pad: 1 });
  const a = g.op("a", "relu", g.conv("a_conv", stem, { out: 3, pad: 1 }));
  const b = g.conv("b", a, { out: 3, pad: 1 });
  let y = g.op("join", "add", [b, stem]);
  if (readInput) y = g.op("join2", "add", [y, g.inputName]);
  y = g.op("gap", "globalavgpool", y);
  return g.build(g.linear("fc", g.op("flatten", "flatten", y), 4));
}

Deno.test("tiledBase(): a stack of n overrides run at once equals n separate runs (shortcuts and input read)", async () => {
  await useBackend("cpu");
  for (const readInput of [false, true]) {
    const g = net(readInput);
    const x = tf.randomNormal([1, 6, 6, 3], 0, 1, "float32", 4);
    const base = runForward(g, x);
    const a = base.get("a");
    const variants = [a, tf.mul(a, 0), tf.relu(tf.neg(a)), tf.mul(a, 2)];
    const before = tf.memory().numTensors;
    const tiled = tiledBase(g, base, x, "a", g.output, variants.length);
    // Tiled: the shortcut from the stem, and the input when the recomputed part reads it.
    assert.equal(tf.memory().numTensors, before + (readInput ? 2 : 1));
    assert.equal(tiled.trace.get("stem").shape[0], 4);
    assert.equal(tiled.input.shape[0], readInput ? 4 : 1);
    assert.equal(tiled.input === x, !readInput);
    const stacked = tf.concat(variants);
    const all = runForward(g, tiled.input, {
      overrides: new Map([["a", stacked]]),
      base: tiled.trace,
      keep: [],
    });
    const got = await values(all.get(g.output));
    for (const [i, v] of variants.entries()) {
      const one = runForward(g, x, { overrides: new Map([["a", v]]) });
      assertAllClose(got.subarray(i * 4, i * 4 + 4), await values(one.get(g.output)), {
        rtol: 1e-5,
        label: `${readInput ? "with" : "without"} the input read, override ${i}`,
      });
      one.dispose();
    }
    all.dispose();
    tiled.dispose();
    assert.equal(tf.memory().numTensors, before + 1, "dispose releases the tiled copies");
    assert.ok(!base.get("stem").isDisposed && !x.isDisposed, "and never the base's own values or the input");
    tf.dispose([stacked, ...variants.slice(1)]);
    // n = 1 copies nothing.
    const one = tiledBase(g, base, x, "a", g.output, 1);
    assert.equal(one.trace.get("stem"), base.get("stem"));
    assert.equal(one.input, x);
    one.dispose();
    base.dispose();
    x.dispose();
    g.dispose();
  }
});

Deno.test("tiledBase(): a base that did not keep a value the stack reads is a clear error", async () => {
  await useBackend("cpu");
  const g = net(false);
  const x = tf.randomNormal([1, 6, 6, 3], 0, 1, "float32", 5);
  const base = runForward(g, x, { keep: ["a"] });
  const before = tf.memory().numTensors;
  assert.throws(() => tiledBase(g, base, x, "a", g.output, 2), /lacks node 'stem'.*keep: "all"/);
  assert.equal(tf.memory().numTensors, before, "nothing left behind");
  base.dispose();
  x.dispose();
  g.dispose();
});
