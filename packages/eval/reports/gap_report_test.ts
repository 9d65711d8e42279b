import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classLogit, runForward, useBackend } from "@cnnlens/core";
import { defaultLayers, hierarchy, MEASURES, sanityChain, treeChannels } from "@cnnlens/gap";
import { synthSample } from "../src/synth/mod.ts";
import { imagesToInput, loadEvalModel, numbersInRange } from "./_common.ts";
import {
  CRITERIA,
  normalisedCurves,
  report,
  SURROGATE_KS,
  surrogateChannels,
  treeSanity,
} from "./gap_report.ts";

Deno.test("gap report (CI size) writes Table 1, the curves and the summary numbers in range", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gap-report-"));
  try {
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    const bad = numbersInRange(s.numbers, {
      "^pcc\\.(AA|MA|AG|MG)\\.stage[1-4]$": [-1, 1],
      "^pcc_tree\\.(AA|MA|AG|MG)\\.stage[1-4]$": [-1, 1],
      "^mask\\.(remove|keep)\\.(AA|MA|AG|MG|GT|random)\\.stage[1-4]$": [-10, 10],
      "^match\\.(sparse|top\\d+)$": [0, 1],
      "^acc\\.": [0, 1],
      "^D\\.stage[1-4]$": [1 / 6, 1],
      "^time\\.(ratio|naive_ratio|gap_ms)\\.stage[1-4]$": [0, Infinity],
    });
    assert.deepEqual(bad, []);
    assert.equal(Object.keys(s.numbers).filter((k) => k.startsWith("pcc.")).length, 16);
    // Keeping the top 32 of 64 S4 channels (or more) changes nothing at S3 and below: at least as good as top-16.
    assert.ok(s.numbers["match.top32"]! >= 0.5);
    const md = await readFile(s.file, "utf8");
    assert.match(md, /\| PCC \| T→S4 \| S4→S3 \| S3→S2 \| S2→S1 \|/);
    assert.match(md, /\| AA \(ILSVRC\) \| 0\.985 \| 0\.959 \| 0\.933 \| 0\.898 \| 0\.895 \|/);
    assert.match(md, /\*\*CI size\*\*/);
    for (
      const f of [
        "masking_remove_4.svg",
        "masking_keep_1.svg",
        "sparse_surrogate.svg",
        "discriminative_degree.svg",
      ]
    ) {
      assert.ok((await stat(join(dir, "gap", f))).size > 500, f);
      assert.match(md, new RegExp(`\\(gap/${f.replace(".", "\\.")}\\)`));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("treeSanity(): item 0 of each level is sanityChain's row; the tree's nodes are its decisions", async () => {
  await useBackend("wasm");
  const m = await loadEvalModel("vgg_bn");
  const g = m.graph;
  const layers = defaultLayers(g);
  const s = synthSample("test", 7);
  const x = imagesToInput(m, [s.image]);
  const base = runForward(g, x);
  try {
    const tree = await hierarchy(g, x, classLogit(s.label), { layers, top: 3, base, maps: false });
    const levels = await treeSanity(g, x, tree, classLogit(s.label), layers, base);
    const rows = await sanityChain(g, x, classLogit(s.label), { layers, base });
    assert.equal(levels.length, rows.length);
    levels.forEach((lv, d) => {
      assert.deepEqual(lv.records[0].groundTruth, rows[d].groundTruth);
      for (const meas of MEASURES) {
        assert.deepEqual(lv.records[0].contributions[meas], rows[d].contributions[meas]);
        assert.equal(lv.records[0].pcc[meas], rows[d].pcc[meas]);
      }
      assert.ok(Math.abs(lv.records[0].value - rows[d].value) < 1e-5);
    });
    // Level sizes follow the tree (top 3, minus NMS merges): 1, then the nodes of each layer.
    assert.equal(levels[0].records.length, 1);
    assert.equal(levels[1].targets.length, tree.children.length);
    assert.equal(levels[2].targets.length, tree.children.flatMap((c) => c.children).length);
    // Every decision's AA contributions are the tree's own alpha for that node.
    assert.deepEqual(Array.from(levels[1].records[1].contributions.AA), tree.children[1].alpha);
  } finally {
    base.dispose();
    x.dispose();
  }
});

Deno.test("surrogateChannels(): the shortcut for k ≥ K equals the union over the full tree", async () => {
  await useBackend("wasm");
  const m = await loadEvalModel("vgg_bn");
  const g = m.graph;
  const layers = defaultLayers(g);
  const s = synthSample("test", 2);
  const x = imagesToInput(m, [s.image]);
  const base = runForward(g, x);
  try {
    // k = 16: S4 is decomposed (64 > 16), S3 too (32 > 16); S2 (16) and S1 (8) are kept whole without
    // decomposing. The full tree to S2 must select exactly the same channels at S4, S3 and S2.
    const short = await surrogateChannels(g, x, classLogit(s.label), layers, 16, base);
    const full = treeChannels(
      await hierarchy(g, x, classLogit(s.label), {
        layers,
        depth: 3,
        top: 16,
        mergeIoU: 1,
        maps: false,
        base,
      }),
    );
    assert.deepEqual([...full.keys()], layers.slice(0, 3));
    for (const [l, chs] of full) {
      assert.deepEqual([...short.get(l)!].sort((a, b) => a - b), [...chs].sort((a, b) => a - b), l);
    }
    assert.equal(full.get(layers[2])!.size, 16);
    assert.equal(short.get(layers[3])!.size, 8);
    // k = 1: a chain, one channel per layer.
    const one = await surrogateChannels(g, x, classLogit(s.label), layers, 1, base);
    assert.deepEqual(layers.map((l) => one.get(l)!.size), [1, 1, 1, 1]);
    assert.ok(SURROGATE_KS.includes(3));
  } finally {
    base.dispose();
    x.dispose();
  }
});

Deno.test("normalisedCurves(): k = 0 is no change, removing all = keeping none, for every order", async () => {
  await useBackend("wasm");
  const m = await loadEvalModel("vgg_bn");
  const g = m.graph;
  const layers = defaultLayers(g);
  const s = synthSample("test", 1);
  const x = imagesToInput(m, [s.image]);
  const base = runForward(g, x);
  try {
    const [lv] = await treeSanity(
      g,
      x,
      await hierarchy(g, x, classLogit(s.label), { layers, depth: 1, base, maps: false }),
      classLogit(s.label),
      layers.slice(0, 1),
      base,
    );
    const r = lv.records[0];
    const K = r.groundTruth.length;
    const all = [r.contributions.AA, r.groundTruth, Float32Array.from({ length: K }, (_, i) => (i * 37) % K)];
    const ends = [];
    for (const scores of all) {
      const c = await normalisedCurves(g, x, lv.targets[0], layers[0], scores, base);
      assert.equal(c.remove.length, K + 1);
      assert.equal(c.remove[0], 0);
      assert.equal(c.keep[K], 0);
      assert.equal(c.keep[0], c.remove[K]);
      // Removing the single top-GT channel changes f by exactly −α̂_max / |f|.
      if (scores === r.groundTruth) {
        const top = Math.max(...r.groundTruth);
        assert.ok(Math.abs(c.remove[1] + top / Math.abs(r.value)) < 1e-4);
      }
      ends.push(c.remove[K]);
    }
    assert.ok(Math.max(...ends) - Math.min(...ends) < 1e-5);
    assert.equal(CRITERIA.length, 6);
  } finally {
    base.dispose();
    x.dispose();
  }
});
