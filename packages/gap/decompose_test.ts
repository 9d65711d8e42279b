import assert from "node:assert/strict";
import {
  classLogit,
  gradients,
  GraphBuilder,
  neuron,
  runForward,
  type Tensor,
  tf,
  tinyNet,
  useBackend,
} from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../core/src/_testing/assert.ts";
import { decompose, decomposeMany, type Decomposition, type Measure, MEASURES } from "./decompose.ts";
import { chw, convReluConvNet, convWeight, f64, fromChw, vggLike } from "./_testing.ts";

/**
 * The chain rule written out for conv(k3,p1)-ReLU-conv(k3,p1,stride s)-ReLU-GAP-FC and the logit `c`,
 * decomposed into the first ReLU's output F: the dense Jacobian J = ∂Z2/∂F of the second convolution is
 * built entry by entry with loops, then G = Jᵀ u with u = ∂S_c/∂Z2 = w_fc[j, c] / Z2 · 1[Z2 > 0].
 */
async function chainRuleReference(
  g: ReturnType<typeof convReluConvNet>,
  x: Tensor,
  c: number,
  stride: number,
) {
  const tr = runForward(g, x);
  const F = await chw(tr.get("relu1"));
  const Z2 = await chw(tr.get("conv2"));
  const logits = await f64(tr.get("fc"));
  tr.dispose();
  const [K, H, W] = F.shape;
  const [J2, H2, W2] = Z2.shape;
  const w2 = await convWeight(g, "conv2");
  const wfc = await f64(g.node("fc").params.weight); // [4, 3]
  const rows = J2 * H2 * W2;
  const cols = K * H * W;
  const J = new Float64Array(rows * cols);
  for (let j = 0; j < J2; j++) {
    for (let oy = 0; oy < H2; oy++) {
      for (let ox = 0; ox < W2; ox++) {
        for (let k = 0; k < K; k++) {
          for (let iy = 0; iy < H; iy++) {
            for (let ix = 0; ix < W; ix++) {
              const ky = iy - (oy * stride - 1);
              const kx = ix - (ox * stride - 1);
              if (ky < 0 || ky > 2 || kx < 0 || kx > 2) continue;
              J[((j * H2 + oy) * W2 + ox) * cols + (k * H + iy) * W + ix] = w2(ky, kx, k, j);
            }
          }
        }
      }
    }
  }
  const u = new Float64Array(rows);
  for (let j = 0; j < J2; j++) {
    for (let p = 0; p < H2 * W2; p++) {
      const r = j * H2 * W2 + p;
      u[r] = Z2.data[r] > 0 ? wfc[j * 3 + c] / (H2 * W2) : 0;
    }
  }
  const G = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    if (u[r] === 0) continue;
    for (let q = 0; q < cols; q++) G[q] += J[r * cols + q] * u[r];
  }
  const A = G.map((v, i) => v * F.data[i]);
  const Z = H * W;
  const measures: Record<Measure, number[]> = { AA: [], MA: [], AG: [], MG: [] };
  const peaks: [number, number][] = [];
  for (let k = 0; k < K; k++) {
    const a = A.subarray(k * Z, (k + 1) * Z);
    const gk = G.subarray(k * Z, (k + 1) * Z);
    measures.AA.push(a.reduce((s, v) => s + v, 0) / Z); // Eq. 4
    measures.MA.push(Math.max(...a));
    measures.AG.push(gk.reduce((s, v) => s + v, 0) / Z);
    measures.MG.push(Math.max(...gk));
    let best = 0;
    for (let i = 1; i < Z; i++) if (a[i] > a[best]) best = i;
    peaks.push([Math.floor(best / W), best % W]); // Eq. 5
  }
  return { G, A, measures, peaks, value: logits[c] };
}

async function checkChainRule(stride: number, tol: { rtol: number; atol: number }) {
  const g = convReluConvNet(5, 6, stride);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 21);
  for (const c of [0, 2]) {
    const ref = await chainRuleReference(g, x, c, stride);
    for (const m of MEASURES) {
      const d = await decompose(g, x, classLogit(c), "relu1", { measure: m, gradients: true });
      assertAllClose(d.alpha, ref.measures[m], { ...tol, label: `α (${m})` });
      assertAllClose(d.contributions[m], ref.measures[m], { ...tol, label: `contributions.${m}` });
      assertAllClose(d.maps, ref.A, { ...tol, label: "A = G ⊙ F" });
      assertAllClose(d.gradients!, ref.G, { ...tol, label: "G" });
      assertAllClose([d.value], [ref.value], { ...tol, label: "decision value" });
      assert.equal(d.measure, m);
      assert.deepEqual(d.peaks, ref.peaks);
    }
  }
  x.dispose();
  g.dispose();
}

Deno.test("decompose() α (AA, MA, AG, MG), maps and peaks equal the chain rule with a dense Jacobian", async () => {
  await useBackend("cpu");
  await checkChainRule(1, { rtol: 1e-4, atol: 1e-6 });
  await checkChainRule(2, { rtol: 1e-4, atol: 1e-6 });
});

forEachBackend("decompose() equals the dense-Jacobian chain rule", async () => {
  await checkChainRule(2, { rtol: 2e-3, atol: 1e-5 });
});

Deno.test("decompose() of a neuron decision: G equals central finite differences (cropped and full)", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([3, 9, 9], 8);
  let h = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  h = b.bn("bn1", h, true);
  h = b.op("relu1", "relu", h);
  h = b.conv("conv2", h, { out: 5, k: 3, stride: 2, pad: 1 });
  h = b.op("relu2", "relu", h);
  const g = b.build(h);
  const x = tf.randomNormal([1, 9, 9, 3], 0, 1, "float32", 9);
  const tr = runForward(g, x);
  const top = await chw(tr.get("relu2"));
  const F = await chw(tr.get("relu1"));
  // A neuron well above the ReLU kink: the largest of channel 2 (FD would straddle a kink near 0).
  const [, H2, W2] = top.shape;
  let best = 0;
  for (let i = 1; i < H2 * W2; i++) if (top.data[2 * H2 * W2 + i] > top.data[2 * H2 * W2 + best]) best = i;
  const y = Math.floor(best / W2);
  const xx = best % W2;
  assert.ok(top.data[2 * H2 * W2 + best] > 0.05);
  const n = F.data.length;
  const eps = 1e-2;
  const batch = new Float32Array(2 * n * n);
  const [K, H, W] = F.shape;
  for (let i = 0; i < n; i++) {
    for (const [s, sign] of [[0, 1], [1, -1]] as const) {
      const item = Float32Array.from(F.data);
      item[i] += sign * eps;
      // to NHWC
      const off = (2 * i + s) * n;
      for (let k = 0; k < K; k++) {
        for (let yy = 0; yy < H; yy++) {
          for (let x2 = 0; x2 < W; x2++) {
            batch[off + (yy * W + x2) * K + k] = item[(k * H + yy) * W + x2];
          }
        }
      }
    }
  }
  const pert = tf.tensor4d(batch, [2 * n, H, W, K]);
  const ptr = runForward(g, x, { overrides: new Map([["relu1", pert]]), base: tr, until: "relu2" });
  const vals = await f64(
    tf.tidy(() => tf.reshape(tf.slice(ptr.get("relu2"), [0, y, xx, 2], [-1, 1, 1, 1]), [-1])),
  );
  ptr.dispose();
  pert.dispose();
  const fd = Array.from({ length: n }, (_, i) => (vals[2 * i] - vals[2 * i + 1]) / (2 * eps));
  for (const crop of [true, false]) {
    for (
      const target of [neuron("relu2", 2, y, xx), {
        layer: "relu2",
        channel: 2,
        position: [y, xx] as [number, number],
      }]
    ) {
      const d = await decompose(g, x, target, "relu1", { gradients: true, crop, base: tr });
      assertAllClose(d.gradients!, fd, { rtol: 1e-3, atol: 2e-4, label: `G (crop ${crop}, ${d.decision})` });
      assertAllClose([d.value], [top.data[2 * H2 * W2 + best]], { rtol: 1e-5, atol: 1e-6 });
      // A = G ⊙ F and α = mean A (Eq. 3, 4).
      const A = fd.map((v, i) => v * F.data[i]);
      const alpha = Array.from(
        { length: K },
        (_, k) => A.slice(k * H * W, (k + 1) * H * W).reduce((s, v) => s + v, 0) / (H * W),
      );
      assertAllClose(d.alpha, alpha, { rtol: 1e-3, atol: 2e-4 });
    }
  }
  tr.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("Σ_k A_k equals Grad-CAM's map before its ReLU for a GAP + FC head (Eq. 11, factor 1)", async () => {
  await useBackend("cpu");
  const g = tinyNet(2); // …-conv2-bn2-relu2-GAP-flatten-fc
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 5);
  for (const c of [0, 1, 2]) {
    const d = await decompose(g, x, classLogit(c), "relu2");
    const [K, H, W] = [d.channels, d.height, d.width];
    const sumA = new Float64Array(H * W);
    for (let k = 0; k < K; k++) for (let i = 0; i < H * W; i++) sumA[i] += d.maps[k * H * W + i];
    // Grad-CAM by hand: weights = spatial mean of ∂S_c/∂F (Eq. 9), map = Σ_k w_k F_k.
    const r = gradients(g, x, classLogit(c), ["relu2"]);
    const G = await chw(r.grads.get("relu2")!);
    const F = await chw(r.trace.get("relu2"));
    r.dispose();
    const cam = new Float64Array(H * W);
    for (let k = 0; k < K; k++) {
      let wk = 0;
      for (let i = 0; i < H * W; i++) wk += G.data[k * H * W + i] / (H * W);
      for (let i = 0; i < H * W; i++) cam[i] += wk * F.data[k * H * W + i];
    }
    assertAllClose(sumA, cam, { rtol: 1e-5, atol: 1e-6, label: `Σ A_k vs Grad-CAM (class ${c})` });
    // And CAM (Eq. 7) from the FC weights: Σ_k A_k = (1/Z) Σ_k w_k^c F_k.
    const wfc = await f64(g.node("fc").params.weight);
    const camFc = new Float64Array(H * W);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < H * W; i++) camFc[i] += wfc[k * 3 + c] * F.data[k * H * W + i] / (H * W);
    }
    assertAllClose(sumA, camFc, { rtol: 1e-5, atol: 1e-6, label: "Σ A_k vs CAM / Z" });
    // The GAP makes every G_k constant: AG equals w_k^c / Z (and AA equals w_k^c · mean F_k / Z).
    for (let k = 0; k < K; k++) {
      assertAllClose([d.contributions.AG[k]], [wfc[k * 3 + c] / (H * W)], { rtol: 1e-5 });
    }
  }
  x.dispose();
  g.dispose();
});

Deno.test("decomposeMany() equals decompose() one by one, whatever the batching", async () => {
  await useBackend("cpu");
  const g = vggLike();
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 6);
  const targets = [
    classLogit(0),
    classLogit(3),
    neuron("s2", 1, 1, 2),
    { layer: "s2", channel: 4, position: [2, 0] as [number, number] },
    { layer: "r3", channel: 0, position: [4, 4] as [number, number] },
    { layer: "p1", channel: 2, position: [0, 6] as [number, number] },
  ];
  const one: Decomposition[] = [];
  for (const t of targets) one.push(await decompose(g, x, t, "r1", { gradients: true }));
  for (const maxBatch of [undefined, 1, 4]) {
    const many = await decomposeMany(g, x, targets, "r1", { gradients: true, maxBatch });
    assert.equal(many.length, targets.length);
    many.forEach((d, i) => {
      assert.equal(d.decision, one[i].decision);
      for (const m of MEASURES) {
        assertAllClose(d.contributions[m], one[i].contributions[m], {
          rtol: 1e-5,
          atol: 1e-7,
          label: `${i} ${m}`,
        });
      }
      assertAllClose(d.maps, one[i].maps, { rtol: 1e-5, atol: 1e-7 });
      assertAllClose(d.gradients!, one[i].gradients!, { rtol: 1e-5, atol: 1e-7 });
      assertAllClose([d.value], [one[i].value], { rtol: 1e-6 });
      assert.deepEqual(d.peaks, one[i].peaks);
    });
  }
  // A neuron given as a core decision and as a GapNeuron give the same decomposition.
  assertAllClose(
    one[2].alpha,
    (await decompose(g, x, { layer: "s2", channel: 1, position: [1, 2] }, "r1")).alpha,
    {
      rtol: 1e-5,
      atol: 1e-7,
    },
  );
  x.dispose();
  g.dispose();
});

Deno.test("decompose() accessors: map(k), ranking(), and the measure option", async () => {
  await useBackend("cpu");
  const g = tinyNet(3);
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 8);
  const d = await decompose(g, x, classLogit(1), "relu1", { measure: "MG" });
  assert.equal(d.alpha, d.contributions.MG);
  const r = d.ranking();
  assert.equal(r.length, 4);
  for (let i = 1; i < r.length; i++) assert.ok(d.alpha[r[i - 1]] >= d.alpha[r[i]]);
  assert.deepEqual(d.ranking(2), r.slice(0, 2));
  const m = d.map(r[0]);
  assert.equal(m.data.length, 64);
  assert.equal(m.channel, r[0]);
  assert.deepEqual(m.peak, d.peaks[r[0]]);
  assert.equal(m.data[m.peak[0] * 8 + m.peak[1]], Math.max(...m.data));
  assert.throws(() => d.map(4), RangeError);
  x.dispose();
  g.dispose();
});

Deno.test("decompose() rejects layers it cannot decompose into, with messages naming them", async () => {
  await useBackend("cpu");
  const g = tinyNet(1);
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 8);
  await assert.rejects(
    () => decompose(g, x, neuron("relu1", 0, 1, 1), "relu2"),
    (e: Error) => e instanceof RangeError && /does not depend on it/.test(e.message),
  );
  await assert.rejects(() => decompose(g, x, classLogit(0), "flatten"), /not \[C, H, W\]/);
  await assert.rejects(
    () => decompose(g, x, { layer: "relu2", channel: 9, position: [0, 0] }, "relu1"),
    /out of range/,
  );
  await assert.rejects(
    () => decompose(g, x, classLogit(0), "relu2", { measure: "XX" as Measure }),
    /Unknown measure/,
  );
  await assert.rejects(() => decompose(g, x, classLogit(0), "relu3"), /Cannot find layer 'relu3'/);
  x.dispose();
  g.dispose();
});

Deno.test("decompose() and decomposeMany() leave tf.memory() flat", async () => {
  await useBackend("cpu");
  const g = vggLike();
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 6);
  await decompose(g, x, classLogit(0), "s1"); // warm-up (lazy kernel state)
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    await decompose(g, x, classLogit(i % 4), "s1", { gradients: true });
    await decomposeMany(g, x, [neuron("s3", 1, 1, 1), { layer: "s2", channel: 2, position: [2, 2] }], "r1");
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  g.dispose();
});

Deno.test("fromChw/chw test helpers round-trip", async () => {
  await useBackend("cpu");
  const data = Array.from({ length: 24 }, (_, i) => i);
  const t = fromChw(data, [2, 3, 4]);
  assert.deepEqual(Array.from((await chw(t)).data), data);
  t.dispose();
});

forEachBackend(
  "decompose() of neuron decisions: the value is the forward activation, cropped or not",
  async () => {
    const g = vggLike(3, 13);
    const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 14);
    const tr = runForward(g, x);
    const s2 = await chw(tr.get("s2"));
    const targets = [[0, 0], [1, 2], [2, 2]].map(([y, xx]) => ({
      layer: "s2",
      channel: 3,
      position: [y, xx] as [number, number],
    }));
    const cropped = await decomposeMany(g, x, targets, "s1", { base: tr });
    const full = await decomposeMany(g, x, targets, "s1", { base: tr, crop: false });
    const [, h, w] = s2.shape;
    targets.forEach((t, i) => {
      const v = s2.data[(3 * h + t.position[0]) * w + t.position[1]];
      assertAllClose([cropped[i].value, full[i].value], [v, v], { rtol: 1e-4, atol: 1e-6 });
      assertAllClose(cropped[i].alpha, full[i].alpha, { rtol: 1e-3, atol: 1e-6 });
    });
    tr.dispose();
    x.dispose();
    g.dispose();
  },
);
