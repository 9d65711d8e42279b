import assert from "node:assert/strict";
import { classLogit, type Graph, GraphBuilder, runForward, type Tensor, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../core/src/_testing/assert.ts";
import { decompose } from "./decompose.ts";
import { expandNode, type GapTree, type GapTreeNode, hierarchy, treeNodes, treeToJson } from "./hierarchy.ts";
import { mergeChannels } from "./nms.ts";
import { defaultLayers } from "./stage_layers.ts";
import { fromChw, resLike, vggLike } from "./_testing.ts";

/**
 * A net whose activation maps are known by hand: low = ReLU(1×1 conv of two designed images) with
 * channels [x0, 2·x0, x1, x0 + x1], then GAP and an FC layer with weights w[:, 0] = [1, 0.6, 0.5, 0.2].
 * With a GAP head, A_k = w_k / 36 · F_k (Eq. 11) and α_k = mean(A_k) = w_k · mean(F_k) / 36.
 */
function handNet(): { g: Graph; x: Tensor } {
  const b = new GraphBuilder([2, 6, 6], 0);
  const conv = b.add("conv", "conv2d", [b.inputName], {
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
    group: 1,
  }, {
    // [1, 1, cin = 2, cout = 4]: (ci0, ci1) → co: (1, 0), (2, 0), (0, 1), (1, 1)
    weight: tf.tensor4d([1, 2, 0, 1, 0, 0, 1, 1], [1, 1, 2, 4]),
  });
  const low = b.op("low", "relu", conv);
  const gap = b.op("gap", "globalavgpool", low);
  const flat = b.op("flatten", "flatten", gap);
  const fc = b.add("fc", "gemm", [flat], {}, {
    weight: tf.tensor2d([[1, 0], [0.6, 0], [0.5, 1], [0.2, 0]]),
  });
  const x0 = new Float32Array(36);
  const x1 = new Float32Array(36);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) x0[y * 6 + x] = 2;
  for (let y = 3; y < 6; y++) for (let x = 3; x < 6; x++) x1[y * 6 + x] = 2;
  x0[1 * 6 + 1] = 3;
  x1[4 * 6 + 4] = 3;
  const data = new Float32Array(72);
  data.set(x0, 0);
  data.set(x1, 36);
  return { g: b.build(fc), x: fromChw(data, [2, 6, 6]) };
}

const m0 = 19 / 36; // mean of x0 (and of x1)

Deno.test("hierarchy() on hand-made maps: contributions, order, peaks and NMS merging", async () => {
  await useBackend("cpu");
  const { g, x } = handNet();
  const alpha = [1 * m0, 0.6 * 2 * m0, 0.5 * m0, 0.2 * 2 * m0].map((v) => v / 36); // ∝ [0.528, 0.633, 0.264, 0.211]
  const tree = await hierarchy(g, x, classLogit(0), { layers: ["low"], top: 2 });
  assert.equal(tree.into, "low");
  assert.equal(tree.decision.node, "fc");
  assert.equal(tree.decision.label, "class 0 logit");
  assertAllClose(tree.alpha, alpha, { rtol: 1e-6 });
  // With a GAP + FC head, Z · Σ_k α_k (AA) is the logit minus its bias (here 0).
  assertAllClose([tree.decision.value], [36 * alpha.reduce((a, b) => a + b)], { rtol: 1e-6 });
  // Channel 1 (best) and channel 0 cover the same block: merged. Channel 2 covers the other block.
  const brief = (t: { children: GapTreeNode[] }) =>
    t.children.map((c) => ({ channel: c.channel, merged: c.merged, position: c.position }));
  assert.deepEqual(brief(tree), [
    { channel: 1, merged: [0], position: [1, 1] },
    { channel: 2, merged: [], position: [4, 4] },
  ]);
  assertAllClose(tree.children.map((c) => c.contribution), [alpha[1], alpha[2]], { rtol: 1e-6 });
  // Maps: A_1 = 0.6 / 36 · 2 · x0.
  const a1 = tree.children[0].map!;
  assert.equal(a1.height, 6);
  assertAllClose(a1.data.slice(0, 8), [2, 2, 2, 0, 0, 0, 2, 3].map((v) => 0.6 / 36 * 2 * v), { rtol: 1e-6 });
  assert.deepEqual(a1.peak, [1, 1]);
  // top 3: channel 3 (x0 + x1: both blocks) overlaps each block with IoU 1/2 only.
  const t3 = await hierarchy(g, x, classLogit(0), { layers: ["low"], top: 3 });
  assert.deepEqual(brief(t3), [
    { channel: 1, merged: [0], position: [1, 1] },
    { channel: 2, merged: [], position: [4, 4] },
    { channel: 3, merged: [], position: [1, 1] }, // ties between the two peaks: first in row-major order
  ]);
  // IoU limit 0.4: channel 3 (IoU 0.5 with channel 1's block) is merged into the first kept overlap.
  const t4 = await hierarchy(g, x, classLogit(0), { layers: ["low"], top: 3, mergeIoU: 0.4 });
  assert.deepEqual(brief(t4), [{ channel: 1, merged: [0, 3], position: [1, 1] }, {
    channel: 2,
    merged: [],
    position: [4, 4],
  }]);
  // A threshold of 0.8 keeps only the peaks: channel 3's mask is the two peaks, still IoU 1/2.
  const t5 = await hierarchy(g, x, classLogit(0), { layers: ["low"], top: 3, threshold: 0.8 });
  assert.deepEqual(brief(t5).map((c) => c.channel), [1, 2, 3]);
  // AG ranks by mean gradient w_k / 36: channel 0 first, channel 1 merged into it.
  const tg = await hierarchy(g, x, classLogit(0), { layers: ["low"], top: 2, measure: "AG" });
  assert.equal(tg.measure, "AG");
  assertAllClose(tg.alpha, [1, 0.6, 0.5, 0.2].map((w) => w / 36), { rtol: 1e-6 });
  assert.deepEqual(brief(tg).map((c) => [c.channel, c.merged]), [[0, [1]], [2, []]]);
  // Class 1 reads only channel 2: the others contribute 0.
  const tc = await hierarchy(g, x, classLogit(1), { layers: ["low"], top: 1 });
  assertAllClose(tc.alpha, [0, 0, m0 / 36, 0], { rtol: 1e-6, atol: 1e-9 });
  assert.deepEqual(brief(tc), [{ channel: 2, merged: [], position: [4, 4] }]);
  x.dispose();
  g.dispose();
});

/** Check every node of a tree against an independent decomposition of its parent's decision. */
async function checkTree(g: Graph, x: Tensor, tree: GapTree, layers: string[], top: number) {
  const base = runForward(g, x);
  const pending: {
    decision: Parameters<typeof decompose>[2];
    holder: GapTree | GapTreeNode;
    depth: number;
  }[] = [
    { decision: classLogit(0), holder: tree, depth: 0 },
  ];
  let count = 0;
  while (pending.length) {
    const { decision, holder, depth } = pending.shift()!;
    if (depth === layers.length) {
      assert.equal((holder as GapTreeNode).into, undefined);
      assert.equal((holder as GapTreeNode).alpha, undefined);
      assert.deepEqual(holder.children, []);
      continue;
    }
    const into = layers[depth];
    assert.equal(holder.into, into);
    const d = await decompose(g, x, decision, into, { base, crop: false });
    assertAllClose(holder.alpha!, d.alpha, { rtol: 1e-4, atol: 1e-7, label: `alpha of ${d.decision}` });
    // The children are the top channels after NMS of this independent decomposition.
    const { kept } = await mergeChannels(d.ranking(), (cs) => cs.map((c) => d.map(c).data), { top });
    assert.deepEqual(
      holder.children.map((c) => [c.channel, c.merged]),
      kept.map((k) => [k.channel, k.merged]),
    );
    for (let i = 0; i < holder.children.length; i++) {
      const c = holder.children[i];
      if (i) {
        assert.ok(
          holder.children[i - 1].contribution >= c.contribution,
          "children in descending contribution",
        );
      }
      assert.equal(c.layer, into);
      assert.deepEqual(c.position, d.peaks[c.channel]); // Eq. 5
      assertAllClose([c.contribution], [d.alpha[c.channel]], { rtol: 1e-4, atol: 1e-7 });
      assertAllClose(c.map!.data, d.map(c.channel).data, { rtol: 1e-4, atol: 1e-7 });
      pending.push({
        decision: { layer: into, channel: c.channel, position: c.position },
        holder: c,
        depth: depth + 1,
      });
      count++;
    }
  }
  base.dispose();
  return count;
}

Deno.test("hierarchy() on a VGG-like net: every level equals independent decompositions (default stage layers)", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 31);
  const layers = defaultLayers(g);
  assert.deepEqual(layers, ["s3", "s2", "r3", "s1"]);
  const tree = await hierarchy(g, x, classLogit(0), { top: 2 });
  const nodes = await checkTree(g, x, tree, layers, 2);
  assert.ok(nodes >= 10, `${nodes} nodes`);
  assert.equal(treeNodes(tree).length, nodes);
  // Crops, batching and a reused base change nothing.
  const base = runForward(g, x);
  for (const opts of [{ crop: false }, { maxBatch: 1 }, { base }]) {
    const other = await hierarchy(g, x, classLogit(0), { top: 2, ...opts });
    const [a, b] = [treeToJson(tree), treeToJson(other)];
    assert.deepEqual(strip(a), strip(b));
    assertAllClose(numbers(a), numbers(b), { rtol: 1e-4, atol: 1e-7 });
  }
  base.dispose();
  // depth limits the levels.
  const shallow = await hierarchy(g, x, classLogit(0), { top: 2, depth: 2 });
  await checkTree(g, x, shallow, layers.slice(0, 2), 2);
  x.dispose();
  g.dispose();
});

Deno.test("hierarchy() through residual blocks (ResNet-like), top 3", async () => {
  await useBackend("cpu");
  const g = resLike(4, 32);
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 32);
  const tree = await hierarchy(g, x, classLogit(0));
  assert.ok(await checkTree(g, x, tree, defaultLayers(g), 3) >= 12);
  x.dispose();
  g.dispose();
});

/** The tree's structure with every number replaced by a marker (positions and channels kept). */
function strip(t: unknown): unknown {
  return JSON.parse(
    JSON.stringify(t, (k, v) => (k === "alpha" || k === "contribution" || k === "value") ? 0 : v),
  );
}
function numbers(t: unknown): number[] {
  const out: number[] = [];
  JSON.stringify(t, (k, v) => {
    if (k === "contribution" || k === "value") out.push(v);
    if (k === "alpha") out.push(...v);
    return v;
  });
  return out;
}

Deno.test("expandNode() grows any node on demand and equals the subtree hierarchy() builds", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 33);
  const full = await hierarchy(g, x, classLogit(2), { top: 2, layers: ["s3", "s2", "r3"] });
  const flat = await hierarchy(g, x, classLogit(2), { top: 2, layers: ["s3", "s2", "r3"], depth: 1 });
  assert.equal(flat.children[1].into, undefined);
  const leaf = flat.children[1];
  const grown = await expandNode(g, x, leaf, "s2", { top: 2, below: ["r3"] });
  assert.equal(leaf.into, undefined); // unchanged
  assert.deepEqual(
    strip(treeToJson({ ...full, children: [grown] })),
    strip(treeToJson({ ...full, children: [full.children[1]] })),
  );
  assertAllClose(grown.alpha!, full.children[1].alpha!, { rtol: 1e-5 });
  assert.equal(grown.map, leaf.map);
  // A node read back from tree.json (no map) expands the same way.
  const fromJson = JSON.parse(JSON.stringify(treeToJson(flat))).children[1];
  const again = await expandNode(g, x, fromJson, "s2", { top: 2 });
  assert.deepEqual(again.children.map((c) => c.channel), grown.children.map((c) => c.channel));
  // Any neuron, not only tree nodes; and layers must go deep to shallow.
  const any = await expandNode(g, x, { layer: "s2", channel: 5, position: [0, 2] }, "s1", { top: 4 });
  assert.equal(any.children.length > 0, true);
  await assert.rejects(() => expandNode(g, x, leaf, "s3"), /deep to shallow: 's3' does not depend on 's3'/);
  await assert.rejects(
    () => hierarchy(g, x, classLogit(0), { layers: ["s1", "s2"] }),
    /Layers must go from deep to shallow: 's1' does not depend on 's2'/,
  );
  await assert.rejects(
    () => hierarchy(g, x, classLogit(0), { depth: 9 }),
    /depth must be an integer in 1\.\.4/,
  );
  await assert.rejects(() => hierarchy(g, x, classLogit(0), { top: 0 }), /top must be a positive integer/);
  x.dispose();
  g.dispose();
});

Deno.test("treeToJson() is the CLI contract's tree.json: keys, order, no maps", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 34);
  const tree = await hierarchy(g, x, classLogit(1), { top: 2, layers: ["s3", "s2"] });
  const json = JSON.parse(JSON.stringify(treeToJson(tree)));
  assert.deepEqual(Object.keys(json), ["decision", "measure", "into", "alpha", "children"]);
  assert.deepEqual(Object.keys(json.decision), ["label", "node", "value"]);
  assert.equal(json.alpha.length, 6);
  const inner = json.children[0];
  assert.deepEqual(Object.keys(inner), [
    "layer",
    "channel",
    "position",
    "contribution",
    "merged",
    "into",
    "alpha",
    "children",
  ]);
  assert.equal(inner.into, "s2");
  const leaf = inner.children[0];
  assert.deepEqual(Object.keys(leaf), ["layer", "channel", "position", "contribution", "merged", "children"]);
  assert.equal(JSON.stringify(json).includes('"map"'), false);
  // The tree itself still carries the maps for rendering.
  assert.equal(tree.children[0].children[0].map!.data.length, 3 * 3);
  x.dispose();
  g.dispose();
});

Deno.test("hierarchy() and expandNode() leave tf.memory() flat", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 35);
  await hierarchy(g, x, classLogit(0), { top: 2 });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const t = await hierarchy(g, x, classLogit(i), { top: 3 });
    await expandNode(g, x, t.children[0].children[0], "s1", { top: 2 });
    await hierarchy(g, x, classLogit(i), { top: 2, crop: false, maxBatch: 2 });
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  g.dispose();
});
