import assert from "node:assert/strict";
import { classLogit, runForward, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../core/src/_testing/assert.ts";
import { hierarchy } from "./hierarchy.ts";
import { sparseSurrogate, treeChannels } from "./sparse_surrogate.ts";
import { f64, linearHead, linearParts, vggLike } from "./_testing.ts";

Deno.test("sparseSurrogate() on a linear head keeps exactly the selected channels' terms", async () => {
  await useBackend("cpu");
  const g = linearHead(9);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 4);
  for (const keep of [[0, 1, 2], [1], [], [2, 0]]) {
    const r = await sparseSurrogate(g, x, new Map([["feat", keep]]));
    const rm = await sparseSurrogate(g, x, new Map([["feat", keep]]), { replace: "mean" });
    const expected: number[] = [];
    const expectedMean: number[] = [];
    for (const c of [0, 1]) {
      const { F, W, bias } = await linearParts(g, x, c);
      let s = bias;
      let sm = bias;
      for (let k = 0; k < 3; k++) {
        const m = F.slice(k * 36, (k + 1) * 36).reduce((a, b) => a + b, 0) / 36;
        for (let i = 0; i < 36; i++) {
          if (keep.includes(k)) {
            s += W[k * 36 + i] * F[k * 36 + i];
            sm += W[k * 36 + i] * F[k * 36 + i];
          } else sm += W[k * 36 + i] * m;
        }
      }
      expected.push(s);
      expectedMean.push(sm);
    }
    assertAllClose(r.output, expected, { rtol: 1e-4, atol: 1e-5, label: `keep ${keep}` });
    assertAllClose(rm.output, expectedMean, { rtol: 1e-4, atol: 1e-5, label: `keep ${keep} (mean)` });
    assert.equal(r.predicted, expected[1] > expected[0] ? 1 : 0);
  }
  x.dispose();
  g.dispose();
});

Deno.test("sparseSurrogate() masks layers shallow to deep, each from the already-masked values", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 5);
  const tree = await hierarchy(g, x, classLogit(0), { top: 2 });
  const keep = treeChannels(tree);
  assert.deepEqual([...keep.keys()].sort(), ["r3", "s1", "s2", "s3"]);
  assert.ok([...keep.get("s3")!].length <= 2);
  // By hand: zero the unselected channels of s1, recompute, then of r3, s2, s3 in turn.
  let tr = runForward(g, x);
  const traces = [tr];
  const made = [];
  for (const l of ["s1", "r3", "s2", "s3"]) {
    const K = g.node(l).shape[0];
    const m = tf.tensor4d(Array.from({ length: K }, (_, k) => keep.get(l)!.has(k) ? 1 : 0), [1, 1, 1, K]);
    const v = tf.mul(tr.get(l), m);
    made.push(m, v);
    tr = runForward(g, x, { overrides: new Map([[l, v]]), base: tr });
    traces.push(tr);
  }
  const expected = await f64(tr.get(g.output));
  traces.reverse().forEach((t) => t.dispose());
  made.forEach((t) => t.dispose());
  const before = tf.memory().numTensors;
  const r = await sparseSurrogate(g, x, tree);
  assert.equal(tf.memory().numTensors, before);
  assertAllClose(r.output, expected, { rtol: 1e-5, atol: 1e-6 });
  // Keeping everything is the model itself.
  const all = new Map(["s1", "r3"].map((l) => [l, Array.from({ length: g.node(l).shape[0] }, (_, i) => i)]));
  const model = runForward(g, x);
  assertAllClose((await sparseSurrogate(g, x, all)).output, await f64(model.get(g.output)), {
    rtol: 1e-6,
    atol: 1e-7,
  });
  model.dispose();
  await assert.rejects(() => sparseSurrogate(g, x, new Map([["s1", [9]]])), /out of range/);
  x.dispose();
  g.dispose();
});
