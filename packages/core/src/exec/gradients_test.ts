import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { runForward } from "./forward.ts";
import { gradients } from "./gradients.ts";
import { backwardWalk, jvpWalk } from "./backward.ts";
import { classLogit, neuron } from "../targets/decision.ts";
import { GraphBuilder } from "../models/builder.ts";
import { assertAllClose, forEachBackend, values } from "../_testing/assert.ts";
import { tinyNet } from "../_testing/tiny.ts";
import { missingKernels, useBackend } from "../backend/backend.ts";
import { conv2dNoBias, type ForwardRule } from "../rules/forward.ts";
import { getRule, registerRule } from "../rules/registry.ts";
import { CONV_TRANSPOSE_BACKENDS } from "../rules/conv_transpose.ts";
import { kernelCache } from "../rules/kernel_cache.ts";
import type { Graph } from "../graph/graph.ts";

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

/** Asserts d logit[cls] / d x[i] from gradients() equals a central finite difference at each index. */
async function assertGradMatchesFiniteDifferences(g: Graph, x: tf.Tensor, cls: number, at: number[]) {
  const r = gradients(g, x, classLogit(cls), ["input"]);
  const grad = await values(r.grads.get("input")!);
  const xs = await values(x);
  const f = async (v: Float32Array) => {
    const t = tf.tensor(v, x.shape);
    const tr = runForward(g, t);
    const out = (await values(tr.get(g.output)))[cls];
    tr.dispose();
    t.dispose();
    return out;
  };
  const eps = 1e-2;
  for (const i of at) {
    const p = xs.slice();
    p[i] += eps;
    const m = xs.slice();
    m[i] -= eps;
    const fd = ((await f(p)) - (await f(m))) / (2 * eps);
    assertAllClose([grad[i]], [fd], { rtol: 2e-2, atol: 2e-3, label: `d logit / d x[${i}]` });
  }
  r.dispose();
}

Deno.test("gradients() match central finite differences of the decision", async () => {
  await useBackend("cpu");
  const g = mixedNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 11);
  await assertGradMatchesFiniteDifferences(g, x, 2, [0, 17, 100, 155, 299]);
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

/** Strided, padded, grouped, 1×1-downsampling (and, where asked, depthwise) convolutions, residual add. */
function stridedNet(depthwise: boolean): Graph {
  const b = new GraphBuilder([3, 17, 15], 4);
  let x = b.conv("stem", b.inputName, { out: 8, k: 7, stride: 2, pad: 3 });
  x = b.op("relu0", "relu", x);
  const y = b.conv("grouped", x, { out: 8, k: 3, stride: 2, group: 2 });
  const down = b.conv("down", x, { out: 8, k: 1, stride: 2, pad: 0 });
  x = b.op("add", "add", [b.op("relu1", "relu", y), down]);
  if (depthwise) x = b.conv("dw", x, { out: 16, k: 3, stride: 2, group: 8 });
  x = b.conv("pw", x, { out: 6, k: 1 });
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}

/** The conv2d forward rule before the transposed-convolution gradient: tfjs autodiff throughout. */
const plainConv: ForwardRule = (n, [x]) => {
  const y = conv2dNoBias(n, x, n.params.weight);
  return n.params.bias ? tf.add(y, n.params.bias) : y;
};

forEachBackend(
  "gradients() and backwardWalk() by transposed convolutions equal tfjs's Conv2DBackpropInput path (≤ 1e-4 relative)",
  async (backend) => {
    // tfjs-wasm has no depthwise backprop kernel: the old path cannot run a depthwise net there.
    const g = stridedNet(backend !== "wasm");
    const x = tf.randomNormal([2, 17, 15, 3], 0, 1, "float32", 31);
    const wrt = ["input", "relu0", "add"];
    const run = () => {
      const r = gradients(g, x, classLogit(2), wrt);
      const seed = tf.tidy(() => tf.oneHot([2, 2], 3));
      const tr = runForward(g, x);
      const walked = backwardWalk(g, tr, new Map([[g.output, seed]]), { to: ["input"] }).get("input")!;
      tr.dispose();
      seed.dispose();
      return { r, walked };
    };
    const had = CONV_TRANSPOSE_BACKENDS.has(backend);
    const rule = getRule<ForwardRule>("forward", "conv2d", "n");
    CONV_TRANSPOSE_BACKENDS.add(backend);
    kernelCache.clear();
    const fast = run();
    assert.ok(kernelCache.size >= 4 + 8 + 1 + 1, "the transposed path ran (its kernels are cached)");
    CONV_TRANSPOSE_BACKENDS.delete(backend);
    registerRule("forward", "conv2d", plainConv);
    let slow: ReturnType<typeof run>;
    try {
      slow = run();
    } finally {
      registerRule("forward", "conv2d", rule);
      if (had) CONV_TRANSPOSE_BACKENDS.add(backend);
    }
    for (const k of wrt) {
      const ref = await values(slow.r.grads.get(k)!);
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 0, k);
      assertAllClose(await values(fast.r.grads.get(k)!), ref, { rtol: 1e-4, atol: 1e-4 * scale, label: k });
    }
    const ref = await values(slow.walked);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertAllClose(await values(fast.walked), ref, { rtol: 1e-4, atol: 1e-4 * scale, label: "backwardWalk" });
    for (const { r, walked } of [fast, slow]) {
      r.dispose();
      walked.dispose();
    }
    x.dispose();
    g.dispose();
  },
);

Deno.test("gradients() differentiates dilated convolutions (tfjs cannot): central finite differences", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([2, 11, 11], 8);
  let h = b.conv("dil", b.inputName, { out: 4, k: 3, dilation: 2, pad: 2 });
  h = b.op("relu", "relu", h);
  h = b.conv("dil3", h, { out: 3, k: 3, dilation: 3, pad: 1 });
  h = b.op("gap", "globalavgpool", h);
  h = b.op("flatten", "flatten", h);
  const g = b.build(b.linear("fc", h, 2));
  const x = tf.randomNormal([1, 11, 11, 2], 0, 1, "float32", 9);
  const node = g.node("dil");
  assert.throws(
    () => tf.grad((v: tf.Tensor) => tf.sum(conv2dNoBias(node, v, node.params.weight)))(x),
    /dilation/,
    "tfjs's own gradient refuses dilation",
  );
  await assertGradMatchesFiniteDifferences(g, x, 1, [0, 23, 120, 121, 241]);
  x.dispose();
  g.dispose();
});

Deno.test("gradients() through depthwise convolutions run on wasm (no backprop kernel there) and equal cpu's", async () => {
  const grads: Float32Array[] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const g = stridedNet(true);
    const x = tf.randomNormal([1, 17, 15, 3], 0, 1, "float32", 41);
    const r = gradients(g, x, classLogit(0), ["input"]);
    grads.push(await values(r.grads.get("input")!));
    r.dispose();
    x.dispose();
    g.dispose();
  }
  const scale = grads[0].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0);
  assertAllClose(grads[1], grads[0], { rtol: 1e-4, atol: 1e-4 * scale, label: "wasm vs cpu" });
});

Deno.test("on wasm the transposed kernels are made once per graph and released by graph.dispose()", async () => {
  await useBackend("wasm");
  kernelCache.clear();
  const g = stridedNet(true);
  const x = tf.randomNormal([1, 17, 15, 3], 0, 1, "float32", 42);
  const once = async () => {
    const r = gradients(g, x, classLogit(1), ["input"]);
    await r.grads.get("input")!.data();
    r.dispose();
  };
  const built = tf.memory().numTensors;
  await once();
  // Per conv: 2×2 phases (stem, grouped ×2 groups, down: one phase non-empty, dw), pw 1.
  assert.equal(kernelCache.size, 4 + 8 + 1 + 4 + 1);
  assert.equal(tf.memory().numTensors, built + kernelCache.size);
  for (let i = 0; i < 3; i++) await once();
  assert.equal(tf.memory().numTensors, built + 18, "reused, never remade");
  const params = g.nodes.reduce((n, node) => n + Object.keys(node.params).length, 0);
  g.dispose();
  assert.equal(kernelCache.size, 0);
  assert.equal(tf.memory().numTensors, built - params);
  x.dispose();
});

Deno.test("missingKernels() names exactly what makes gradients() fail: depthwise backprop on wasm only without the transposed path", async () => {
  await useBackend("wasm");
  const g = stridedNet(true);
  const x = tf.randomNormal([1, 17, 15, 3], 0, 1, "float32", 43);
  const tryGradients = () => {
    try {
      gradients(g, x, classLogit(0), ["input"]).dispose();
      return true;
    } catch {
      return false;
    }
  };
  assert.deepEqual(missingKernels(g.nodes, "wasm"), []);
  assert.ok(tryGradients(), "the core differentiates depthwise convolutions on wasm");
  CONV_TRANSPOSE_BACKENDS.delete("wasm");
  try {
    assert.deepEqual(missingKernels(g.nodes, "wasm"), ["DepthwiseConv2dNativeBackpropInput"]);
    assert.ok(!tryGradients(), "tfjs-wasm alone has no depthwise backprop kernel");
  } finally {
    CONV_TRANSPOSE_BACKENDS.add("wasm");
  }
  assert.deepEqual(missingKernels(g.nodes, "cpu"), []);
  const plain = stridedNet(false);
  assert.deepEqual(missingKernels(plain.nodes, "wasm"), []);
  plain.dispose();
  x.dispose();
  g.dispose();
});
