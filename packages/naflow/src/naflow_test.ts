import assert from "node:assert/strict";
import {
  classLogit,
  cosineSimilarity,
  gradients,
  type Graph,
  GraphBuilder,
  negSquaredEuclidean,
  runForward,
  type Tensor,
  tf,
  tinyNet,
  type Trace,
  useBackend,
} from "@cnnlens/core";
import { assertAllClose, forEachBackend, maxRelError, values } from "../../core/src/_testing/assert.ts";
import { type FlowLayer, naflow } from "./naflow.ts";
import { convMatrix, hwcToChw, lstsq, matvec, pearson, solve, transpose } from "./_testing/dense.ts";
import { gatedNet, residualNet } from "./_testing/nets.ts";

/** A node's forward value in CHW order. */
async function chw(trace: Trace, g: Graph, name: string): Promise<Float64Array> {
  return hwcToChw(await values(trace.get(name)), g.node(name).shape);
}

function byName(layers: FlowLayer[]): Map<string, FlowLayer> {
  return new Map(layers.map((l) => [l.name, l]));
}

Deno.test("naflow() without ReLU or max-pool gives BPFM^l = A^l at every layer", async () => {
  await useBackend("cpu");
  // Convolutions (stride 1 and 2), BN, LeakyReLU, a residual block and a sigmoid gate: nothing abandoned.
  const b = new GraphBuilder([2, 8, 8], 6);
  let x = b.conv("conv1", b.inputName, { out: 3, k: 3 });
  x = b.bn("bn1", x, true);
  x = b.op("act1", "leakyrelu", x, { alpha: 0.1 });
  x = b.conv("down", x, { out: 4, k: 3, stride: 2 });
  let y = b.conv("res.conv", x, { out: 4, k: 3 });
  y = b.bn("res.bn", y, true);
  y = b.op("res.act", "leakyrelu", y, { alpha: 0.2 });
  x = b.op("res.add", "add", [y, x]);
  const gate = b.op("gate.sigmoid", "sigmoid", b.conv("gate.conv", x, { out: 1, k: 3 }));
  x = b.op("gate.mul", "mul", [x, gate]);
  x = b.op("act2", "leakyrelu", x, { alpha: 0.1 });
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  const g = b.build(b.linear("fc", x, 2));
  const input = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 1);
  const flow = await naflow(g, input, classLogit(1), { keepFeatureMaps: true, includeInput: true });
  const tr = runForward(g, input);
  assert.deepEqual(flow.layers.map((l) => l.name), [
    "input",
    "conv1",
    "bn1",
    "act1",
    "down",
    "res.conv",
    "res.bn",
    "res.act",
    "res.add",
    "gate.conv",
    "gate.sigmoid",
    "gate.mul",
    "act2",
  ]);
  for (const l of flow.layers) {
    const err = maxRelError(l.bpfm!, await chw(tr, g, l.name));
    assert.ok(err <= 1e-3, `${l.name}: relative error ${err}`);
  }
  tr.dispose();
  input.dispose();
  g.dispose();
});

Deno.test("naflow(): every abandoned neuron is exactly 0 (ReLU inputs ≤ 0, max-pool losers)", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([2, 9, 9], 12);
  let x = b.conv("conv1", b.inputName, { out: 3, k: 3 });
  x = b.bn("bn1", x, true);
  x = b.op("relu1", "relu", x);
  x = b.maxpool("pool", x, 3, 2, 1);
  let y = b.conv("res.conv", x, { out: 3, k: 3 });
  y = b.op("res.relu", "relu", y);
  x = b.op("res.add", "add", [y, x]);
  x = b.op("relu2", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  const g = b.build(b.linear("fc", b.op("flatten", "flatten", x), 2));
  const input = tf.randomNormal([1, 9, 9, 2], 0, 1, "float32", 4);
  const flow = await naflow(g, input, classLogit(0), { keepFeatureMaps: true, damping: 0.3 });
  const L = byName(flow.layers);
  const tr = runForward(g, input);
  let abandoned = 0;
  // Inputs of ReLUs: abandoned where the forward input was ≤ 0 (BPFM and coefficients).
  for (const n of ["bn1", "res.conv", "res.add"]) {
    const a = await chw(tr, g, n);
    a.forEach((v, i) => {
      if (v > 0) return;
      abandoned++;
      // `=== 0` (not Object.is): a zero gradient may carry a negative sign.
      assert.ok(L.get(n)!.bpfm![i] === 0, `${n}[${i}] BPFM ${L.get(n)!.bpfm![i]}`);
      assert.ok(L.get(n)!.coefficients![i] === 0, `${n}[${i}] Λ ${L.get(n)!.coefficients![i]}`);
    });
  }
  // Max-pool input: every position no window selected (plain-loop argmax, first maximum wins).
  const a = await chw(tr, g, "relu1");
  const chosen = new Set<number>();
  for (let c = 0; c < 3; c++) {
    for (let oy = 0; oy < 5; oy++) {
      for (let ox = 0; ox < 5; ox++) {
        let best = -Infinity, arg = -1;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
            if (iy < 0 || iy >= 9 || ix < 0 || ix >= 9) continue;
            const i = (c * 9 + iy) * 9 + ix;
            if (a[i] > best) [best, arg] = [a[i], i];
          }
        }
        chosen.add(arg);
      }
    }
  }
  for (let i = 0; i < a.length; i++) {
    if (chosen.has(i)) continue;
    abandoned++;
    assert.ok(L.get("relu1")!.bpfm![i] === 0, `relu1[${i}] not selected by the pool`);
  }
  assert.ok(abandoned > 200, `the fixture abandons ${abandoned} neurons`);
  tr.dispose();
  input.dispose();
  g.dispose();
});

Deno.test("naflow() equals a dense, explicit Jacobian solve of Eqs. 6-10 on a 3-layer network", async () => {
  await useBackend("cpu");
  // conv1: q = 75 > p = 50 (least squares); conv2: q = p = 75 (W⁻¹); conv3, stride 2: q = 18 < p = 75.
  const b = new GraphBuilder([2, 5, 5], 21);
  let x = b.op("relu1", "relu", b.conv("conv1", b.inputName, { out: 3, k: 3 }));
  x = b.op("relu2", "relu", b.conv("conv2", x, { out: 3, k: 3 }));
  x = b.op("relu3", "relu", b.conv("conv3", x, { out: 2, k: 3, stride: 2 }));
  const g = b.build(b.linear("fc", b.op("flatten", "flatten", b.op("gap", "globalavgpool", x)), 2));
  const input = tf.randomNormal([1, 5, 5, 2], 0, 1, "float32", 9);
  const flow = await naflow(g, input, classLogit(1), {
    keepFeatureMaps: true,
    includeInput: true,
    damping: 0, // the literal pseudo-inverse of Eqs. 6-10
    tolerance: 1e-9,
    maxIterations: 400,
  });
  // The dense reading, in float64 with plain loops.
  const conv = async (name: string, hw: [number, number], stride: number) => {
    const n = g.node(name);
    const { mat, out } = convMatrix(
      await values(n.params.weight),
      n.params.weight.shape as number[],
      hw,
      stride,
      1,
    );
    const bias = await values(n.params.bias);
    return {
      J: mat,
      out,
      fwd: (v: Float64Array) => matvec(mat, v).map((s, i) => s + bias[Math.floor(i / (out[1] * out[2]))]),
    };
  };
  const [c1, c2, c3] = [
    await conv("conv1", [5, 5], 1),
    await conv("conv2", [5, 5], 1),
    await conv("conv3", [5, 5], 2),
  ];
  const relu = (v: Float64Array) => v.map((s) => Math.max(s, 0));
  const abandon = (bp: Float64Array, z: Float64Array) => bp.map((s, i) => z[i] > 0 ? s : 0); // Eq. 12
  const a0 = hwcToChw(await values(input), [2, 5, 5]);
  const z1 = c1.fwd(a0), a1 = relu(z1), z2 = c2.fwd(a1), a2 = relu(z2), z3 = c3.fwd(a2), a3 = relu(z3);
  const B: Record<string, Float64Array> = { relu3: a3 };
  B.conv3 = abandon(B.relu3, z3);
  B.relu2 = a2.map((v, i, _) => v + lstsq(c3.J, B.conv3.map((s, j) => s - z3[j]))[i]); // Eq. 7/10, minimum norm
  B.conv2 = abandon(B.relu2, z2);
  const b2 = await values(g.node("conv2").params.bias);
  B.relu1 = solve(c2.J, B.conv2.map((s, i) => s - b2[Math.floor(i / 25)])); // Eq. 8: W_p⁻¹ (y − b)
  B.conv1 = abandon(B.relu1, z1);
  B.input = a0.map((v, i) => v + lstsq(c1.J, B.conv1.map((s, j) => s - z1[j]))[i]); // Eq. 6, least squares
  // Λ (Eq. 16 as the cascaded Jacobian), from the FC weights through the transposed matrices.
  const fc = await values(g.node("fc").params.weight); // [in, out]
  const lam: Record<string, Float64Array> = {};
  lam.relu3 = Float64Array.from({ length: 18 }, (_, i) => fc[Math.floor(i / 9) * 2 + 1] / 9);
  lam.conv3 = abandon(lam.relu3, z3);
  lam.relu2 = matvec(transpose(c3.J), lam.conv3);
  lam.conv2 = abandon(lam.relu2, z2);
  lam.relu1 = matvec(transpose(c2.J), lam.conv2);
  lam.conv1 = abandon(lam.relu1, z1);
  lam.input = matvec(transpose(c1.J), lam.conv1);
  const L = byName(flow.layers);
  assert.deepEqual([...L.keys()], ["input", "conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]);
  for (const [name, bp] of Object.entries(B)) {
    const layer = L.get(name)!;
    const err = maxRelError(layer.bpfm!, bp);
    assert.ok(err <= 1e-3, `${name}: BPFM relative error ${err}`);
    assert.ok(maxRelError(layer.coefficients!, lam[name]) <= 1e-4, `${name}: Λ`);
    const [c, h, w] = layer.shape;
    const map = Float64Array.from({ length: h * w }, (_, p) => {
      let s = 0;
      for (let k = 0; k < c; k++) s += lam[name][k * h * w + p] * bp[k * h * w + p];
      return Math.max(s, 0); // Eq. 2
    });
    assert.ok(maxRelError(layer.map, map) <= 2e-3, `${name}: map`);
  }
  // Solver reports: least-squares layers carry residuals; the q ≤ p systems are solved exactly.
  assert.equal(L.get("conv2")!.residual, null);
  assert.ok(L.get("relu2")!.residual! < 1e-4 && L.get("relu1")!.residual! < 1e-4);
  assert.ok(L.get("input")!.residual! > 1e-2, "q > p: y' is not in the range of J, a misfit remains");
  input.dispose();
  g.dispose();
});

/** Grad-CAM at a layer from core gradients: ReLU(Σ_d mean_hw(∂y/∂A_d) A_d). */
async function gradCam(g: Graph, x: Tensor, c: number, layer: string): Promise<Float32Array> {
  const r = gradients(g, x, classLogit(c), [layer]);
  const m = tf.tidy(() =>
    tf.relu(tf.sum(tf.mul(tf.mean(r.grads.get(layer)!, [1, 2], true), r.trace.get(layer)), -1))
  );
  const out = await values(m);
  m.dispose();
  r.dispose();
  return out;
}

forEachBackend("naflow(): the last layer's map equals Grad-CAM's on a GAP + FC network", async () => {
  for (const [g, size] of [[tinyNet(), 8], [residualNet(5, 8), 8]] as const) {
    const x = tf.randomNormal([1, size, size, g.node(g.input).shape[0]], 0, 1, "float32", 13);
    for (const c of [0, 2]) {
      const flow = await naflow(g, x, classLogit(c), { maxIterations: 5 });
      const last = flow.layers[flow.layers.length - 1];
      assert.equal(last.name, g.lastSpatialNode().name);
      const cam = await gradCam(g, x, c, last.name);
      if (cam.some((v) => v > 0)) assert.ok(pearson(last.map, cam) >= 0.99);
      assertAllClose(last.map, cam, { rtol: 1e-4, atol: 1e-6 });
    }
    x.dispose();
    g.dispose();
  }
});

Deno.test("naflow() similarity mode: Λ = ∂(v^Q·v^S)/∂A / |v^Q·v^S| (Eq. 17/21) on a two-embedding toy", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([2, 4, 4], 30);
  const a = b.op("relu", "relu", b.conv("conv", b.inputName, { out: 3, k: 3 }));
  const g = b.build(b.op("embed", "flatten", b.op("gap", "globalavgpool", a))); // v^Q = GAP(A), D = 3
  const x = tf.randomNormal([1, 4, 4, 2], 0, 1, "float32", 31);
  const tr = runForward(g, x);
  const A = await chw(tr, g, "relu");
  const vQ = await values(tr.get("embed"));
  const supports = [[0.5, -1, 2], [1, 0.2, -0.3]];
  const refs = tf.tensor2d(supports);
  for (const metric of ["cosine", "euclidean"] as const) {
    const decision = metric === "cosine" ? cosineSimilarity(refs) : negSquaredEuclidean(refs);
    const flow = await naflow(g, x, decision, { keepFeatureMaps: true });
    assert.equal(flow.start, "relu");
    // Closed form at the last layer (GAP: ∂v^Q_d/∂A_d = 1/16), averaged over the K = 2 supports.
    const lam = new Float64Array(48);
    for (const vS of supports) {
      let dot = 0, dist = 0;
      for (let d = 0; d < 3; d++) {
        dot += vQ[d] * vS[d];
        dist += (vQ[d] - vS[d]) ** 2;
      }
      for (let d = 0; d < 3; d++) {
        const w = metric === "cosine" ? vS[d] / Math.abs(dot) : -2 * (vQ[d] - vS[d]) / dist;
        for (let p = 0; p < 16; p++) lam[d * 16 + p] += w / 16 / 2;
      }
    }
    const last = flow.layers[flow.layers.length - 1];
    assertAllClose(last.coefficients!, lam, { rtol: 1e-4, atol: 1e-7, label: `${metric} Λ` });
    const map = Array.from(
      { length: 16 },
      (_, p) => Math.max(0, lam[p] * A[p] + lam[16 + p] * A[16 + p] + lam[32 + p] * A[32 + p]),
    );
    assertAllClose(last.map, map, { rtol: 1e-4, atol: 1e-7, label: `${metric} map` });
    // Deeper in the flow Λ keeps the chain rule: the ReLU's mask times Λ.
    const conv = flow.layers.find((l) => l.name === "conv")!;
    const z = await chw(tr, g, "conv");
    assertAllClose(conv.coefficients!, lam.map((v, i) => z[i] > 0 ? v : 0), { rtol: 1e-4, atol: 1e-7 });
    if (metric === "cosine") {
      const cos = supports.map((s) =>
        (vQ[0] * s[0] + vQ[1] * s[1] + vQ[2] * s[2]) / Math.hypot(...vQ) / Math.hypot(...s)
      );
      assertAllClose([flow.decision.value], [(cos[0] + cos[1]) / 2], { rtol: 1e-5 });
    }
  }
  refs.dispose();
  tr.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("naflow() residual block: inner maps follow the proportional split at the addition", async () => {
  await useBackend("cpu");
  const g = residualNet(3, 8);
  const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 2);
  const flow = await naflow(g, x, classLogit(1), { keepFeatureMaps: true, damping: 0.3 });
  const L = byName(flow.layers);
  const tr = runForward(g, x);
  assert.deepEqual([...L.keys()], [
    "stem",
    "stem_bn",
    "stem_relu",
    "block.conv1",
    "block.bn1",
    "block.relu",
    "block.conv2",
    "block.bn2",
    "block.add",
    "block.relu_out",
  ]);
  // y' at the join is the ReLU's abandonment of its output, so each summand keeps its forward value where
  // the sum survived and is 0 where the ReLU dropped it.
  const add = await chw(tr, g, "block.add");
  const bn2 = await chw(tr, g, "block.bn2");
  const yp = L.get("block.add")!.bpfm!;
  assertAllClose(yp, add.map((v) => Math.max(v, 0)), { rtol: 1e-6, atol: 1e-6 });
  assertAllClose(L.get("block.bn2")!.bpfm!, bn2.map((v, i) => add[i] > 0 ? v : 0), {
    rtol: 1e-5,
    atol: 1e-6,
  });
  assert.equal(L.get("block.bn2")!.via, "split");
  assert.equal(L.get("block.bn2")!.unit, "block.add");
  // The fork's BPFM comes from the block, solved as one linearised layer.
  const fork = L.get("stem_relu")!;
  assert.deepEqual([fork.via, fork.unit, fork.inner], ["block", "block.add", false]);
  assert.ok(fork.residual! > 0 && fork.residual! < 1 && fork.iterations > 0);
  // Inside the branch: BN inverse (exact), conv by least squares, ReLU abandonment.
  assert.deepEqual([L.get("block.conv2")!.via, L.get("block.conv2")!.residual], ["rule", null]);
  assert.ok(L.get("block.relu")!.residual! >= 0 && L.get("block.relu")!.inner);
  const relu = await chw(tr, g, "block.bn1");
  L.get("block.bn1")!.bpfm!.forEach((v, i) => relu[i] <= 0 && assert.ok(v === 0));
  tr.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("naflow() attention gates (SE, CBAM-style): one block each, inner maps from the split", async () => {
  await useBackend("cpu");
  const g = gatedNet(4, 8);
  const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 3);
  const flow = await naflow(g, x, classLogit(2), { keepFeatureMaps: true, damping: 0.3 });
  const L = byName(flow.layers);
  const tr = runForward(g, x);
  // SE's inside is 1×1 (no maps); the spatial gate's inside is mapped.
  assert.deepEqual([...L.keys()], [
    "conv1",
    "relu1",
    "se.mul",
    "sa.mean",
    "sa.max",
    "sa.cat",
    "sa.conv",
    "sa.sigmoid",
    "sa.mul",
    "conv2",
    "relu2",
  ]);
  assert.deepEqual(flow.layers.filter((l) => l.inner).map((l) => l.name), [
    "sa.mean",
    "sa.max",
    "sa.cat",
    "sa.conv",
    "sa.sigmoid",
  ]);
  assert.deepEqual([L.get("se.mul")!.via, L.get("relu1")!.via], ["block", "block"]);
  // The gate [1, H, W] keeps the least-squares share of its outputs that survive: Σ_c y y' / Σ_c y².
  const y = await chw(tr, g, "sa.mul");
  const yp = L.get("sa.mul")!.bpfm!;
  const s = await chw(tr, g, "sa.sigmoid");
  const share = Array.from(s, (v, p) => {
    let num = 0, den = 0;
    for (let c = 0; c < 4; c++) {
      num += y[c * 64 + p] * yp[c * 64 + p];
      den += y[c * 64 + p] ** 2;
    }
    return den ? v * num / den : 0;
  });
  assertAllClose(L.get("sa.sigmoid")!.bpfm!, share, { rtol: 1e-4, atol: 1e-6 });
  assert.equal(L.get("sa.sigmoid")!.via, "split");
  // Through the sigmoid: the ratio rule x ⊙ s'/s.
  const z = await chw(tr, g, "sa.conv");
  assertAllClose(L.get("sa.conv")!.bpfm!, z.map((v, p) => v * share[p] / s[p]), { rtol: 1e-4, atol: 1e-6 });
  // The concatenation hands each channel pool its own slice.
  const cat = L.get("sa.cat")!.bpfm!;
  assertAllClose(L.get("sa.mean")!.bpfm!, cat.slice(0, 64), { rtol: 1e-6 });
  assertAllClose(L.get("sa.max")!.bpfm!, cat.slice(64), { rtol: 1e-6 });
  assert.ok(L.get("sa.cat")!.residual !== null, "sa.cat comes from the gate conv's least-squares rule");
  tr.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("naflow(): Λ^l = J_lᵀ Λ^{l+1} cascaded from the start equals the core gradient at every layer", async () => {
  await useBackend("cpu");
  for (const g of [residualNet(3, 8), gatedNet(4, 8)]) {
    const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 6);
    const flow = await naflow(g, x, classLogit(1), { keepFeatureMaps: true, maxIterations: 2 });
    const names = flow.layers.map((l) => l.name);
    const r = gradients(g, x, classLogit(1), names);
    for (const l of flow.layers) {
      const expected = hwcToChw(await values(r.grads.get(l.name)!), l.shape);
      assertAllClose(l.coefficients!, expected, { rtol: 1e-4, atol: 1e-6, label: `Λ at ${l.name}` });
    }
    r.dispose();
    x.dispose();
    g.dispose();
  }
});

Deno.test("naflow() releases every tensor: tf.memory() is flat over repeated explanations", async () => {
  await useBackend("cpu");
  const nets = [tinyNet(), residualNet(3, 8), gatedNet(4, 8)];
  const xs = nets.map((g, i) => tf.randomNormal([1, 8, 8, g.node(g.input).shape[0]], 0, 1, "float32", i));
  const run = async () => {
    for (const [i, g] of nets.entries()) {
      await naflow(g, xs[i], classLogit(1), { maxIterations: 4, damping: 0.3 });
    }
  };
  await run();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await run();
  assert.equal(tf.memory().numTensors, before);
  xs.forEach((t) => t.dispose());
  nets.forEach((g) => g.dispose());
});

Deno.test("naflow() releases every tensor when the explanation stops part-way (an error at any layer)", async () => {
  await useBackend("cpu");
  const nets = [tinyNet(), residualNet(3, 8), gatedNet(4, 8)];
  for (const [i, g] of nets.entries()) {
    const x = tf.randomNormal([1, 8, 8, g.node(g.input).shape[0]], 0, 1, "float32", 20 + i);
    const opts = { maxIterations: 4, damping: 0.3 };
    const all = (await naflow(g, x, classLogit(1), opts)).layers.length;
    assert.ok(all >= 3);
    const before = tf.memory().numTensors;
    for (let stopAt = 1; stopAt <= all; stopAt++) {
      let seen = 0;
      await assert.rejects(
        naflow(g, x, classLogit(1), {
          ...opts,
          onLayer: () => {
            if (++seen === stopAt) throw new Error(`stop at ${stopAt}`);
          },
        }),
        new RegExp(`stop at ${stopAt}`),
      );
      assert.equal(tf.memory().numTensors, before, `net ${i}, stopped at layer ${stopAt} of ${all}`);
    }
    x.dispose();
    g.dispose();
  }
});

Deno.test("naflow() options and errors: start layer, inner layers, solver cap, bad inputs", async () => {
  await useBackend("cpu");
  const g = residualNet(3, 8);
  const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 2);
  const early = await naflow(g, x, classLogit(0), { layer: "stem_relu" });
  assert.deepEqual(early.layers.map((l) => l.name), ["stem", "stem_bn", "stem_relu"]);
  assert.equal(early.start, "stem_relu");
  const chain = await naflow(g, x, classLogit(0), { innerLayers: false, maxIterations: 3 });
  assert.deepEqual(chain.layers.map((l) => l.name), [
    "stem",
    "stem_bn",
    "stem_relu",
    "block.add",
    "block.relu_out",
  ]);
  assert.equal(chain.solves, 1);
  assert.ok(chain.iterations <= 3 && chain.layers[2].iterations === chain.iterations);
  assert.ok(!chain.layers[2].converged);
  const two = tf.concat([x, x]);
  await assert.rejects(() => naflow(g, two, classLogit(0)), RangeError);
  await assert.rejects(() => naflow(g, x, classLogit(0), { layer: "fc" }), RangeError);
  await assert.rejects(() => naflow(g, x, classLogit(0), { layer: "nope" }), /Cannot find layer 'nope'/);
  [x, two].forEach((t) => t.dispose());
  g.dispose();
});
