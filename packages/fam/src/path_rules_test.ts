import assert from "node:assert/strict";
import { type Graph, GraphBuilder, MissingRuleError, tf, useBackend } from "@cnnlens/core";
import { assertAllClose, forEachBackend } from "../../core/src/_testing/assert.ts";
import { fam } from "./fam.ts";
import { famPlan } from "./plan.ts";
import { eq15Loop, gapLoop, readMaps, readRows, rows, total } from "./_test_helpers.ts";

/** conv(3→5)-ReLU (`act`)-GAP-flatten-FC(5→4) (`proj`), optionally followed by a vector BatchNorm (`neck`). */
function projNet(o: { bias?: boolean; neck?: boolean; mlp?: boolean } = {}): Graph {
  const b = new GraphBuilder([3, 6, 6], 31);
  let x = b.conv("conv", b.inputName, { out: 5, k: 3 });
  x = b.op("act", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("proj", x, 4, o.bias ?? true);
  if (o.neck) x = b.bn("neck", x, true);
  if (o.mlp) {
    x = b.op("hidden", "relu", x);
    x = b.linear("proj2", x, 3);
  }
  return b.build(x);
}

const img = (seed: number, k = 1) => tf.randomUniform([k, 6, 6, 3], 0, 1, "float32", seed);

forEachBackend(
  "fam() through an FC transformation module: C' on Z', then C = W × C'^T (Eq. 18)",
  async () => {
    const g = projNet();
    const q = img(1);
    const refs = img(2, 2);
    const all = tf.concat([q, refs]);
    try {
      const res = await fam(g, q, refs, { embedding: "proj" });
      assert.equal(res.layer, "act");
      assert.equal(res.transform, "proj");
      // Z' (with the FC's bias, as the model compares it) read from the core forward pass.
      const zp = await readRows(g, all, "proj");
      const cp = eq15Loop(zp[0], [zp[1], zp[2]]);
      assertAllClose(res.embeddingContributions!, cp, { rtol: 1e-3, atol: 1e-5, label: "C'" });
      // Explicit matrix algebra: W is [N = 5, J = 4]; C_n = Σ_j W_nj C'_j.
      const w = await rows(g.node("proj").params.weight);
      const c = w.map((row) => row.reduce((s, v, j) => s + v * cp[j], 0));
      assertAllClose(res.contributions, c, { rtol: 1e-3, atol: 1e-5, label: "C" });
      assert.equal(res.contributions.length, 5);
    } finally {
      tf.dispose([q, refs, all]);
      g.dispose();
    }
  },
);

Deno.test("Eqs. 16-17: without bias, Z × C = Z' × C'^T, and an explicit W equals the detected FC", async () => {
  await useBackend("cpu");
  const g = projNet({ bias: false });
  const q = img(3);
  const r = img(4);
  const walked = await fam(g, q, r, { embedding: "proj" });
  const w = g.node("proj").params.weight;
  const explicit = await fam(g, q, r, { transform: w }); // Z' = GAP(A) × W computed by FAM
  const both = await fam(g, q, r, { embedding: "proj", transform: w });
  assert.equal(explicit.transform, "explicit");
  for (const other of [explicit, both]) {
    assertAllClose(other.contributions, walked.contributions, { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(other.embeddingContributions!, walked.embeddingContributions!, { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(other.map, walked.map, { rtol: 1e-4, atol: 1e-6 });
  }
  const m = await readMaps(g, tf.concat([q, r]), "act");
  const z = gapLoop(m, 0);
  const zp = (await readRows(g, q, "proj"))[0];
  const e = z.reduce((s, v, n) => s + v * walked.contributions[n], 0);
  const ep = zp.reduce((s, v, j) => s + v * walked.embeddingContributions![j], 0);
  assertAllClose(e, ep, { rtol: 1e-4 });
  // On Z' itself, with one reference, the contributions also sum to sign(cos).
  assertAllClose(total(walked.embeddingContributions!), Math.sign(walked.similarity.mean), { atol: 1e-4 });
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("fam() through FC + BatchNorm on the vector: C = W × (γ/√(σ²+ε) ⊙ C')", async () => {
  await useBackend("cpu");
  const g = projNet({ neck: true });
  const q = img(5);
  const r = img(6);
  const res = await fam(g, q, r, { embedding: "neck" });
  assert.equal(res.transform, "proj,neck");
  const zp = await readRows(g, tf.concat([q, r]), "neck");
  const cp = eq15Loop(zp[0], [zp[1]]);
  const p = g.node("neck").params;
  const [scale, variance] = [await p.scale.data(), await p.variance.data()];
  const inner = cp.map((v, j) => v * scale[j] / Math.sqrt(variance[j] + 1e-5));
  const w = await rows(g.node("proj").params.weight);
  assertAllClose(res.contributions, w.map((row) => row.reduce((s, v, j) => s + v * inner[j], 0)), {
    rtol: 1e-4,
    atol: 1e-6,
  });
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("fam() on a flattened feature map (Conv4-style embedding): c_n sums the entries of channel n", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([3, 6, 6], 41);
  let x = b.conv("conv", b.inputName, { out: 4, k: 3 });
  x = b.op("act", "leakyrelu", x, { alpha: 0.1 });
  x = b.maxpool("pool", x, 2);
  const out = b.op("flatten", "flatten", x);
  const g = b.build(out);
  const q = img(7);
  const r = img(8);
  const res = await fam(g, q, r, { embedding: "flatten" });
  assert.equal(res.layer, "pool");
  const e = await readRows(g, tf.concat([q, r]), "flatten"); // NCHW order: entry d = n·9 + i·3 + j
  const perEntry = eq15Loop(e[0], [e[1]]);
  const c = [0, 1, 2, 3].map((n) => perEntry.slice(n * 9, n * 9 + 9).reduce((s, v) => s + v, 0));
  assertAllClose(res.contributions, c, { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(res.embeddingContributions!, perEntry, { rtol: 1e-4, atol: 1e-6 });
  assertAllClose(total(res.contributions), Math.sign(res.similarity.mean), { atol: 1e-4 });
  tf.dispose([q, r]);
  g.dispose();
});

Deno.test("famPlan() defaults the layer to the embedding's last feature map and walks the path", () => {
  const g = projNet();
  const plan = famPlan(g, { embedding: "proj" });
  assert.equal(plan.layer, "act");
  assert.deepEqual(plan.path.map((n) => n.name), ["proj", "flatten", "gap"]);
  assert.equal(plan.dim, 4);
  const own = famPlan(g);
  assert.deepEqual([own.layer, own.dim, own.pooling, own.path.length], ["act", 5, "gap", 0]);
  g.dispose();
});

Deno.test("famPlan() refuses heads it cannot map back, naming the op and node", () => {
  const mlp = projNet({ mlp: true });
  assert.throws(() => famPlan(mlp, { embedding: "proj2" }), (e: Error) => {
    assert.ok(e instanceof MissingRuleError);
    assert.match(e.message, /fam-path rule for op 'relu' at node 'hidden'/);
    return true;
  });
  // An explicit W skips the walk.
  const w = tf.zeros([5, 3]);
  assert.equal(famPlan(mlp, { embedding: "proj2", transform: w }).dim, 3);
  assert.throws(() => famPlan(mlp, { embedding: "proj2", transform: tf.zeros([4, 3]) }), /expected \[5,3\]/);
  mlp.dispose();

  const b = new GraphBuilder([3, 4, 4], 1);
  let x = b.conv("conv", b.inputName, { out: 2, k: 1, pad: 0 });
  const side = b.conv("side", b.inputName, { out: 2, k: 1, pad: 0 });
  x = b.op("rm", "reducemean", x, { axes: [1], keepdims: true });
  const g = b.build(x);
  assert.throws(() => famPlan(g, { embedding: "rm", layer: "conv" }), /only pooling over the spatial axes/);
  assert.throws(() => famPlan(g, { embedding: "rm", layer: side }), /does not depend on layer 'side'/);
  w.dispose();
  g.dispose();
});
