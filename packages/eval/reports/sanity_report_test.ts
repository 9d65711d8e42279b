import assert from "node:assert/strict";
import { join } from "node:path";
import { classLogit, neuron, tf, useBackend } from "@cnnlens/core";
import { decomposeMany, hierarchy, treeNodes } from "@cnnlens/gap";
import { synthSample } from "../src/synth/mod.ts";
import { imagesToInput, loadEvalModel, numbersInRange } from "./_common.ts";
import {
  buildCascade,
  enlarge,
  firstStepBelow,
  gapTreeInputMap,
  meanCi,
  randomizationGroups,
  report,
  SANITY_METHODS,
  verdict,
  verdictStep,
} from "./sanity_report.ts";

Deno.test("sanity report (CI size): numbers in range, every method in the summary, figures written, no leak", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const dir = await Deno.makeTempDir({ prefix: "sanity_report_" });
  try {
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.deepEqual(
      numbersInRange(s.numbers, {
        "^spearman(_abs)?\\.[a-z_]+\\.(top|full)$": [-1, 1],
        "^ssim\\.[a-z_]+\\.full$": [-1, 1],
        "^class_spearman(_abs)?\\.": [-1, 1],
        "^actsum_spearman\\.": [-1, 1],
        "^spearman_max\\.[a-z_]+\\.half$": [-1, 1],
        "^passes\\.": [0, 1],
      }),
      [],
    );
    for (const m of SANITY_METHODS) {
      for (const k of [`spearman.${m.id}.full`, `spearman_abs.${m.id}.full`, `ssim.${m.id}.full`]) {
        assert.ok(k in s.numbers, k);
      }
    }
    assert.equal(s.file, join(dir, "sanity.md"));
    const md = await Deno.readTextFile(s.file);
    for (const m of SANITY_METHODS) assert.ok(md.includes(`| **${m.name}** |`), `summary row of ${m.name}`);
    for (const t of ["## Summary", "## Published numbers", "## What differs from the papers", "**Pass:**"]) {
      assert.ok(md.includes(t), `missing ${t}`);
    }
    for (const f of ["maps_vgg_bn.png", "maps_fewshot_resnet.png"]) {
      const png = await Deno.readFile(join(dir, "sanity", f));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], f); // "PNG"
    }
    const svg = await Deno.readTextFile(join(dir, "sanity", "spearman_vgg_bn.svg"));
    assert.ok(svg.startsWith("<svg") && svg.includes("Grad-CAM"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("randomizationGroups(): conv/FC layers top-down, each with the batch norm that reads it", async () => {
  await useBackend("wasm");
  const vgg = await loadEvalModel("vgg_bn");
  const fs = await loadEvalModel("fewshot_resnet");
  try {
    assert.deepEqual(randomizationGroups(vgg.graph).map((g) => g.nodes), [
      ["fc2"],
      ["fc1"],
      ["conv4_1", "bn4_1"],
      ["conv3_2", "bn3_2"],
      ["conv3_1", "bn3_1"],
      ["conv2_2", "bn2_2"],
      ["conv2_1", "bn2_1"],
      ["conv1_1", "bn1_1"],
    ]);
    // The shortcut's last node (its BN) comes after the main branch's BN: it is randomised first.
    assert.deepEqual(randomizationGroups(fs.graph).map((g) => g.name), [
      "layer3_down_conv",
      "layer3_conv2",
      "layer3_conv1",
      "layer2_down_conv",
      "layer2_conv2",
      "layer2_conv1",
      "layer1_conv2",
      "layer1_conv1",
      "conv1",
    ]);
  } finally {
    vgg.graph.dispose();
    fs.graph.dispose();
  }
});

Deno.test("buildCascade(): step k re-initialises exactly the top k layers, from Keras's initialisers", async () => {
  await useBackend("wasm");
  const vgg = await loadEvalModel("vgg_bn");
  const before = tf.memory().numTensors;
  const groups = randomizationGroups(vgg.graph);
  const c = buildCascade(vgg.graph, groups, true);
  try {
    assert.equal(c.graphs.length, groups.length + 1);
    assert.equal(c.graphs[0], vgg.graph);
    assert.deepEqual(c.steps, groups.map((g) => g.name));
    for (let k = 1; k <= groups.length; k++) {
      const dead = new Set(groups.slice(0, k).flatMap((g) => g.nodes));
      for (const n of vgg.graph.nodes) {
        for (const [key, p] of Object.entries(n.params)) {
          const q = c.graphs[k].node(n.name).params[key];
          if (dead.has(n.name)) assert.notEqual(q, p, `${n.name}.${key} at step ${k}`);
          else assert.equal(q, p, `${n.name}.${key} at step ${k}`);
        }
      }
      // Cumulative: a layer keeps the same fresh draw at every later step.
      if (k > 1) assert.equal(c.graphs[k].node("fc2").params.weight, c.graphs[1].node("fc2").params.weight);
    }
    const last = c.graphs[groups.length];
    // He-scaled truncated normal (cut at 2σ: std ≈ 0.88σ), BN at its identity start, biases 0.
    const w = await last.node("conv4_1").params.weight.data() as Float32Array;
    const sigma = Math.sqrt(2 / (3 * 3 * 32));
    const sd = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    assert.ok(sd > 0.84 * sigma && sd < 0.92 * sigma, `sd ${sd} vs σ ${sigma}`);
    assert.ok(w.every((v) => Math.abs(v) <= 2 * sigma + 1e-6));
    const bn = last.node("bn4_1").params;
    assert.deepEqual([...await bn.scale.data()], new Array(64).fill(1));
    assert.deepEqual([...await bn.variance.data()], new Array(64).fill(1));
    assert.deepEqual([...await bn.mean.data()], new Array(64).fill(0));
    assert.deepEqual([...await last.node("fc2").params.bias.data()], new Array(6).fill(0));
    // The coarse (CI) cascade: the top layer, then all of them.
    const coarse = buildCascade(vgg.graph, groups, false);
    assert.deepEqual(coarse.counts, [1, groups.length]);
    assert.equal(coarse.steps[1], "fc1…conv1_1");
    coarse.dispose();
  } finally {
    c.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  vgg.graph.dispose();
});

Deno.test("gapTreeInputMap() is the sum of gAP's own decompositions of the tree's leaves into the input", async () => {
  await useBackend("wasm");
  const vgg = await loadEvalModel("vgg_bn");
  const s = synthSample("test", 3);
  const x = imagesToInput(vgg, [s.image]);
  try {
    const d = classLogit(s.label);
    const { map, leaves } = await gapTreeInputMap(vgg.graph, x, d, 2);
    const tree = await hierarchy(vgg.graph, x, d, { top: 2, maps: false });
    const leafNodes = treeNodes(tree).map((t) => t.node).filter((n) => n.children.length === 0);
    assert.equal(leaves, leafNodes.length);
    assert.ok(leaves >= 8, `${leaves} leaves`);
    const decs = await decomposeMany(
      vgg.graph,
      x,
      leafNodes.map((n) => neuron(n.layer, n.channel, n.position[0], n.position[1])),
      vgg.graph.input,
      { gradients: true },
    );
    const want = new Float64Array(3 * 64 * 64);
    for (const dec of decs) for (let i = 0; i < want.length; i++) want[i] += dec.gradients![i];
    assert.deepEqual(map.shape, [3, 64, 64]);
    const scale = Math.max(...want.map(Math.abs));
    assert.ok(scale > 0);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(map.data[i] - want[i]) <= 1e-4 * scale, `pixel ${i}: ${map.data[i]} vs ${want[i]}`);
    }
  } finally {
    x.dispose();
    vgg.graph.dispose();
  }
});

Deno.test("verdict(), firstStepBelow(), meanCi(): the pass rule on hand values", () => {
  // Four steps: judged at step 2 (index 1), on the larger of the raw and absolute correlations.
  const curves = {
    spearman: [[0.9, 0.7], [0.3, 0.1], [0.1, 0.0], [0, 0]],
    spearmanAbs: [[0.9, 0.9], [0.8, 0.6], [0.2, 0.1], [0, 0]],
    ssim: [[1], [1], [1], [1]],
  };
  assert.equal(verdictStep(4), 1);
  assert.equal(verdictStep(9), 4);
  assert.equal(verdictStep(2), 0);
  assert.equal(verdict(curves), "fail"); // |·| is 0.7 at step 2: a sign flip alone does not pass
  assert.equal(verdict({ ...curves, spearmanAbs: curves.spearman }), "pass");
  assert.equal(
    verdict({ ...curves, spearman: [[], [NaN], [], []], spearmanAbs: [[], [], [], []] }),
    "undefined",
  );
  // Insensitive until the bottom layer (Guided Backprop's shape): fails although it ends near 0.
  const late = {
    spearman: [[0.98], [0.9], [0.8], [0.1]],
    spearmanAbs: [[0.98], [0.9], [0.8], [0.1]],
    ssim: [],
  };
  assert.equal(verdict(late), "fail");
  assert.equal(firstStepBelow(late), 3);
  assert.equal(firstStepBelow(curves), 2);
  assert.equal(firstStepBelow({ ...curves, spearmanAbs: curves.spearman }), 1);
  const m = meanCi([1, 2, 3, NaN]);
  assert.equal(m.n, 3);
  assert.ok(Math.abs(m.mean - 2) < 1e-12 && Math.abs(m.ci - 1.96 / Math.sqrt(3)) < 1e-12);
  assert.ok(Number.isNaN(meanCi([]).mean));
  const img = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual([...enlarge(img, 2).data.subarray(0, 12)], [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
});
