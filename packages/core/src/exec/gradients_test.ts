import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { runForward } from "./forward.ts";
import { gradients } from "./gradients.ts";
import { backwardWalk, jvpWalk } from "./backward.ts";
import { classLogit, neuron } from "../targets/decision.ts";
import { GraphBuilder } from "../models/builder.ts";
import { assertAllClose, forEachBackend, values } from "../_testing/assert.ts";
import { tinyNet } from "../_testing/tiny.ts";
import { useBackend } from "../backend/backend.ts";

/** A net with every op family the methods meet: conv, BN, ReLU, max-pool, add (residual), GAP, dense. */
function mixedNet() {
  const b = new GraphBuilder([3, 10, 10], 7);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  x = b.bn("bn1", x, true);
  const r = b.op("relu1", "relu", x);
  x = b.maxpool("pool", r, 3, 2, 1);
  const y = b.conv("conv2", x, { out: 4, k: 3 });
  const z = b.op("leaky", "leakyrelu", y, { alpha: 0.1 });
  x = b.op("add", "add", [z, x]);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}

Deno.test("gradients() match central finite differences of the decision", async () => {
  await useBackend("cpu");
  const g = mixedNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 11);
  const r = gradients(g, x, classLogit(2), ["input"]);
  const grad = await values(r.grads.get("input")!);
  const xs = await values(x);
  const f = async (v: Float32Array) => {
    const t = tf.tensor4d(v, [1, 10, 10, 3]);
    const tr = runForward(g, t);
    const out = (await values(tr.get(g.output)))[2];
    tr.dispose();
    t.dispose();
    return out;
  };
  const eps = 1e-2;
  for (const i of [0, 17, 100, 155, 299]) {
    const p = xs.slice();
    p[i] += eps;
    const m = xs.slice();
    m[i] -= eps;
    const fd = ((await f(p)) - (await f(m))) / (2 * eps);
    assertAllClose([grad[i]], [fd], { rtol: 2e-2, atol: 2e-3, label: `d logit / d x[${i}]` });
  }
  r.dispose();
  x.dispose();
  g.dispose();
});

forEachBackend("gradients() (whole-graph autodiff) equals backwardWalk() (per-op vjp rules)", async () => {
  const g = mixedNet();
  const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 12);
  const wrt = ["input", "conv1", "relu1", "pool", "add"];
  const r = gradients(g, x, classLogit(1), wrt);
  const tr = runForward(g, x);
  const seed = tf.oneHot([1, 1], 3);
  const w = backwardWalk(g, tr, new Map([[g.output, seed]]), { to: wrt });
  for (const k of wrt) {
    assertAllClose(await values(w.get(k)!), await values(r.grads.get(k)!), {
      rtol: 1e-4,
      atol: 1e-5,
      label: k,
    });
  }
  r.dispose();
  tr.dispose();
  seed.dispose();
  for (const t of w.values()) t.dispose();
  x.dispose();
  g.dispose();
});

forEachBackend("jvpWalk() is the adjoint of backwardWalk(): ⟨J v, u⟩ = ⟨v, Jᵀ u⟩", async () => {
  const g = mixedNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 13);
  const tr = runForward(g, x);
  for (const [from, to] of [["input", "add"], ["conv1", "pool"], ["relu1", "fc"]]) {
    const v = tf.randomNormal(tr.get(from).shape, 0, 1, "float32", 14);
    const u = tf.randomNormal(tr.get(to).shape, 0, 1, "float32", 15);
    const jv = jvpWalk(g, tr, new Map([[from, v]]), { to });
    const jtu = backwardWalk(g, tr, new Map([[to, u]]), { to: [from] }).get(from)!;
    const lhs = tf.sum(tf.mul(jv, u));
    const rhs = tf.sum(tf.mul(v, jtu));
    const [a, b] = [(await values(lhs))[0], (await values(rhs))[0]];
    assertAllClose([a], [b], { rtol: 1e-4, atol: 1e-4, label: `${from}→${to}` });
    for (const t of [v, u, jv, jtu, lhs, rhs]) t.dispose();
  }
  tr.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("gradients(): the three backends agree on values and gradients (rel. error ≤ 1e-4)", async () => {
  const results: Float32Array[][] = [];
  for (const b of ["cpu", "wasm", "webgpu"] as const) {
    await useBackend(b);
    const g = mixedNet();
    const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 21);
    const r = gradients(g, x, classLogit(0), ["input", "conv1", "pool"], [g.output]);
    results.push([
      await values(r.trace.get(g.output)),
      await values(r.grads.get("input")!),
      await values(r.grads.get("conv1")!),
      await values(r.grads.get("pool")!),
    ]);
    r.dispose();
    x.dispose();
    g.dispose();
  }
  for (let b = 1; b < results.length; b++) {
    results[b].forEach((v, i) => {
      const scale = Math.max(...Array.from(results[0][i], Math.abs));
      assertAllClose(v, results[0][i], { rtol: 0, atol: 1e-4 * scale, label: `backend ${b} item ${i}` });
    });
  }
});

Deno.test("gradients() of a neuron decision are zero outside its receptive field", async () => {
  await useBackend("cpu");
  const g = tinyNet();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 5);
  const r = gradients(g, x, neuron("conv1", 2, 0, 0), ["input"]);
  const gr = await values(r.grads.get("input")!);
  // conv1 is 3×3 with padding 1: neuron (0, 0) sees input rows/cols 0..1 only.
  for (let y = 0; y < 8; y++) {
    for (let xx = 0; xx < 8; xx++) {
      for (let c = 0; c < 3; c++) {
        const v = gr[(y * 8 + xx) * 3 + c];
        if (y > 1 || xx > 1) assert.equal(v, 0);
      }
    }
  }
  assert.ok(gr.some((v) => v !== 0));
  r.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("tf.memory().numTensors is unchanged after 20 forward+backward passes", async () => {
  await useBackend("cpu");
  const g = mixedNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 3);
  const seed = tf.oneHot([1], 3);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    const r = gradients(g, x, classLogit(i % 3), ["input", "conv1"]);
    const tr = runForward(g, x);
    const w = backwardWalk(g, tr, new Map([["fc", seed]]), { to: ["pool"] });
    w.forEach((t) => t.dispose());
    tr.dispose();
    r.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  seed.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("gradients() through 2×2 and 3×3 max-pools agree on wasm and cpu (tfjs-wasm's MaxPoolGrad is wrong)", async () => {
  const grads: Float32Array[] = [];
  for (const b of ["cpu", "wasm"] as const) {
    await useBackend(b);
    const gb = new GraphBuilder([3, 12, 12], 5);
    let x = gb.conv("conv", gb.inputName, { out: 4, k: 3 });
    x = gb.maxpool("p2", x, 2, 2);
    x = gb.maxpool("p3", x, 3, 1, 1);
    x = gb.op("gap", "globalavgpool", x);
    x = gb.op("flat", "flatten", x);
    x = gb.linear("fc", x, 2);
    const g = gb.build(x);
    const inp = tf.randomNormal([1, 12, 12, 3], 0, 1, "float32", 9);
    const r = gradients(g, inp, classLogit(1), ["input"]);
    grads.push(await values(r.grads.get("input")!));
    r.dispose();
    inp.dispose();
    g.dispose();
  }
  assertAllClose(grads[1], grads[0], { rtol: 1e-4, atol: 1e-5, label: "wasm vs cpu" });
  assert.ok(grads[0].some((v) => v !== 0));
});
