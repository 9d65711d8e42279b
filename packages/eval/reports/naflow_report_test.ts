import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classLogit, gradients, perItem, tf, upsampleMap } from "@cnnlens/core";
import { naflow } from "@cnnlens/naflow";
import type { Box } from "../mod.ts";
import { synthSample } from "../src/synth/mod.ts";
import { imagesToInput, loadEvalModel, numbersInRange } from "./_common.ts";
import { CI_CONFIG, pairedDiff, pointingHit, report, scoreMap } from "./naflow_report.ts";

/** Energy share in the box of a min-max normalised map, written out with loops (FAM Eq. 19). */
function energyInBox(map: Float32Array, size: number, box: Box): number {
  let lo = Infinity, hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(hi > lo)) return 0;
  let inside = 0, total = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const e = (map[y * size + x] - lo) / (hi - lo);
      total += e;
      if (x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1) inside += e;
    }
  }
  return inside / total;
}

/** Grad-CAM at one layer from the core's whole-graph gradients, with float64 loops over NHWC arrays. */
async function gradCamLoop(layer: string, labels: number[], images: number[]) {
  const model = await loadEvalModel("vgg_bn");
  const x = imagesToInput(model, images.map((i) => synthSample("test", i).image));
  const r = gradients(model.graph, x, perItem(labels.map((c) => classLogit(c))), [layer]);
  try {
    const [n, h, w, c] = r.grads.get(layer)!.shape as number[];
    const g = await r.grads.get(layer)!.data();
    const a = await r.trace.get(layer).data();
    return Array.from({ length: n }, (_, b) => {
      const weights = new Float64Array(c);
      for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) weights[k] += g[(b * h * w + p) * c + k];
      const map = new Float32Array(h * w);
      for (let p = 0; p < h * w; p++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += (weights[k] / (h * w)) * a[(b * h * w + p) * c + k];
        map[p] = Math.max(0, s);
      }
      return { map, h, w };
    });
  } finally {
    r.dispose();
    x.dispose();
    model.graph.dispose();
  }
}

Deno.test("naflow report (CI size): numbers in range, tables, figures, and numbers equal to direct computations", async () => {
  const dir = await mkdtemp(join(tmpdir(), "naflow-report-"));
  try {
    const before = tf.memory().numTensors;
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    assert.equal(tf.memory().numTensors, before, "the report releases every tensor, model weights included");
    assert.deepEqual(
      numbersInRange(s.numbers, {
        "^energy\\.vgg_bn\\.(naflow|gradcam)\\.": [0, 1],
        "^pointing\\.vgg_bn\\.(naflow|gradcam)\\.": [0, 1],
        "^empty\\.vgg_bn\\.": [0, 1],
        "^chance\\.vgg_bn$": [0.05, 0.35], // boxes cover 5-35 % of the image (synth README)
        "^residual\\.vgg_bn\\.mean$": [0, 1], // LSQR from 0: the relative residual never exceeds 1
        // At the start layer NAFlow is ReLU(Σ ∂y/∂A ⊙ A): HiResCAM exactly, behind vgg_bn's flatten head.
        "^start_pearson\\.vgg_bn\\.hirescam$": [0.999, 1],
        "^start_pearson\\.vgg_bn\\.gradcam$": [-1, 1],
      }),
      [],
    );
    assert.equal(s.numbers["images.vgg_bn"], CI_CONFIG.images);

    // The Markdown: summary table, the per-layer table with every layer of the flow, the three figures.
    const md = await readFile(s.file, "utf8");
    assert.match(md, /\| model \| layers \| energy NAFlow \(all layers\)/);
    assert.match(md, /\| # \| layer \| op \| shape \| energy NAFlow \| energy Grad-CAM \|/);
    const layers = Object.keys(s.numbers).filter((k) =>
      k.startsWith("energy.vgg_bn.naflow.") && !k.includes("mean")
    )
      .map((k) => k.slice("energy.vgg_bn.naflow.".length));
    assert.equal(layers.length, 22, "vgg_bn's flow: conv/bn/relu/pool nodes from conv1_1 to pool4");
    for (const l of layers) assert.match(md, new RegExp(`\\| \`${l}\``));
    assert.match(md, /CI size/);
    for (const f of ["vgg_bn_energy.svg", "vgg_bn_pointing.svg"]) {
      assert.match(await readFile(join(dir, "naflow", f), "utf8"), /^<svg[\s\S]*<polyline[\s\S]*<\/svg>$/);
      assert.match(md, new RegExp(`\\(naflow/${f}\\)`));
    }
    const png = await readFile(join(dir, "naflow", "vgg_bn_flow.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.ok((await stat(join(dir, "naflow", "vgg_bn_flow.png"))).size > 1000);

    // Independent: the box share, NAFlow's energy at every layer, Grad-CAM's at two layers.
    const samples = Array.from({ length: CI_CONFIG.images }, (_, i) => synthSample("test", i));
    const chance = samples.reduce((a, t) => a + (t.box.x1 - t.box.x0) * (t.box.y1 - t.box.y0) / 4096, 0) /
      samples.length;
    assert.ok(Math.abs(s.numbers["chance.vgg_bn"]! - chance) < 1e-12);

    const model = await loadEvalModel("vgg_bn");
    const sums = new Map<string, number>();
    for (const t of samples) {
      const x = imagesToInput(model, [t.image]);
      const flow = await naflow(model.graph, x, classLogit(t.label));
      x.dispose();
      for (const l of flow.layers) {
        const up = upsampleMap(l.map, l.shape[1], l.shape[2], 64, 64);
        sums.set(l.name, (sums.get(l.name) ?? 0) + energyInBox(up, 64, t.box) / samples.length);
      }
    }
    model.graph.dispose();
    assert.deepEqual([...sums.keys()], layers);
    for (const [l, e] of sums) {
      assert.ok(Math.abs(s.numbers[`energy.vgg_bn.naflow.${l}`]! - e) < 1e-6, `NAFlow energy at ${l}`);
    }
    for (const layer of ["relu2_1", "conv3_2"]) {
      const maps = await gradCamLoop(layer, samples.map((t) => t.label), samples.map((t) => t.index));
      let e = 0, hits = 0;
      maps.forEach((m, i) => {
        const up = upsampleMap(m.map, m.h, m.w, 64, 64);
        e += energyInBox(up, 64, samples[i].box) / samples.length;
        hits += pointingHit(up, 64, samples[i].box) ? 1 / samples.length : 0;
      });
      assert.ok(
        Math.abs(s.numbers[`energy.vgg_bn.gradcam.${layer}`]! - e) < 1e-4,
        `Grad-CAM energy at ${layer}`,
      );
      assert.ok(Math.abs(s.numbers[`pointing.vgg_bn.gradcam.${layer}`]! - hits) < 1e-12);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("pointingHit() takes the first maximum and misses on an empty map", () => {
  const box = { x0: 1, y0: 0, x1: 3, y1: 2 }; // columns 1-2, rows 0-1 of a 4×3 map
  const map = new Float32Array(12);
  map[1 * 4 + 2] = 5; // (x 2, y 1): inside
  assert.equal(pointingHit(map, 4, box), true);
  map[0 * 4 + 0] = 5; // a tie earlier in raster order, outside: it wins
  assert.equal(pointingHit(map, 4, box), false);
  map[0 * 4 + 0] = 0;
  map[2 * 4 + 2] = 6; // row 2 is outside the half-open box
  assert.equal(pointingHit(map, 4, box), false);
  assert.equal(pointingHit(new Float32Array(12), 4, box), false);
  assert.equal(pointingHit(new Float32Array(12).fill(-1), 4, box), false);
  assert.equal(pointingHit(new Float32Array(12).fill(NaN), 4, box), false);
});

Deno.test("scoreMap() upsamples, then scores energy, pointing and emptiness", () => {
  // A 2×2 map upsampled to 4×4 (half-pixel bilinear): the top-left quarter holds value 1, the rest 0, so
  // the upsampled rows are [1, .75, .25, 0], [.75, .5625, .1875, 0], [.25, .1875, .0625, 0], [0, 0, 0, 0].
  const r = scoreMap(new Float32Array([1, 0, 0, 0]), 2, 2, 4, { x0: 0, y0: 0, x1: 2, y1: 2 });
  const inside = 1 + 0.75 + 0.75 + 0.5625;
  const total = inside + 0.25 + 0.1875 + 0.25 + 0.1875 + 0.0625;
  assert.ok(Math.abs(r.energy - inside / total) < 1e-6);
  assert.equal(r.hit, true);
  assert.equal(r.empty, false);
  const z = scoreMap(new Float32Array(4), 2, 2, 4, { x0: 0, y0: 0, x1: 2, y1: 2 });
  assert.deepEqual(z, { energy: 0, hit: false, empty: true });
});

Deno.test("pairedDiff() gives the mean difference and a 1.96·sd/√n half-width", () => {
  const d = pairedDiff([0.5, 0.7, 0.9], [0.4, 0.4, 0.4]); // differences .1 .3 .5: mean .3, sd .2
  assert.ok(Math.abs(d.mean - 0.3) < 1e-12);
  assert.ok(Math.abs(d.half - 1.96 * 0.2 / Math.sqrt(3)) < 1e-12);
  assert.ok(Number.isNaN(pairedDiff([1], [0]).half));
  assert.throws(() => pairedDiff([1, 2], [1]), /Cannot pair 2 values with 1/);
});
