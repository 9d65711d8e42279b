import assert from "node:assert/strict";
import { join } from "node:path";
import { createImage, tf, useBackend } from "@cnnlens/core";
import { synthSamples } from "../src/synth/mod.ts";
import { imageToChw01, loadEvalModel, numbersInRange, outputs, softmax } from "./_common.ts";
import {
  aggregate,
  BatchedEmbedder,
  cosine,
  drawBox,
  episodeScore,
  FAM_REPORT_METHODS,
  magnify,
  meanCi,
  PAPER_FAM,
  report,
} from "./fam_report.ts";

Deno.test("fam report (CI size): numbers in range, tables beside the paper's, figure written, no leak", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const dir = await Deno.makeTempDir({ prefix: "fam_report_" });
  try {
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.deepEqual(
      numbersInRange(s.numbers, {
        "^(proportion|iou|ad|ic|ad_prob|ic_prob)\\.": [0, 1],
        "^accuracy\\.5w[15]s$": [0.2, 1],
        "^box_fraction$": [0.05, 0.35],
        "^check\\.max_score_diff$": [0, 1e-5],
      }),
      [],
    );
    // Every method × metric × setting is reported.
    for (const { id } of FAM_REPORT_METHODS) {
      for (const k of ["proportion", "iou", "ad", "ic"]) {
        for (const st of ["5w1s", "5w5s"]) assert.ok(`${k}.${id}.${st}` in s.numbers, `${k}.${id}.${st}`);
      }
    }
    // The oracle (the object's own mask) localises perfectly; a random map puts about the box's share in it.
    assert.equal(s.numbers["proportion.mask.5w1s"], 1);
    assert.ok(Math.abs(s.numbers["proportion.random.5w1s"]! - s.numbers["box_fraction"]!) < 0.1);
    const md = await Deno.readTextFile(s.file);
    assert.equal(s.file, join(dir, "fam.md"));
    for (const text of ["## Table I", "## Table II", "| **FAM** |", "Grad-CAM (cosine)", "## What differs"]) {
      assert.ok(md.includes(text), `missing ${text}`);
    }
    for (const p of PAPER_FAM) assert.ok(md.includes(`| ${p.model} |`) && md.includes(p.iou.toFixed(2)));
    const png = await Deno.readFile(join(dir, "fam", "fam_examples.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("episodeScore() is Eq. 11's class score, or softmax(10 · S) over the classes", () => {
  const z = [1, 0, 1];
  const refs = [[[1, 0, 1], [0, 1, 0]], [[1, 1, 0], [1, 0, 0]]]; // two classes, K = 2
  // Class 0: (cos 1 + cos 0)/2 = 0.5; class 1: (1/2 + 1/√2)/2.
  const s1 = (0.5 + Math.SQRT1_2) / 2;
  assert.ok(Math.abs(episodeScore(z, refs, 0, "cosine") - 0.5) < 1e-12);
  assert.ok(Math.abs(episodeScore(z, refs, 1, "cosine") - s1) < 1e-12);
  const p0 = Math.exp(5) / (Math.exp(5) + Math.exp(10 * s1));
  assert.ok(Math.abs(episodeScore(z, refs, 0, "prob") - p0) < 1e-12);
  assert.ok(Math.abs(episodeScore(z, refs, 1, "prob", 2) - softmax([1, 2 * s1])[1]) < 1e-12);
  assert.ok(Math.abs(cosine([3, 4], [4, 3]) - 24 / 25) < 1e-12);
});

Deno.test("BatchedEmbedder: equals one forward pass per image, in few passes, identical inputs once", async () => {
  await useBackend("wasm");
  const model = await loadEvalModel("fewshot_resnet");
  try {
    const xs = synthSamples("fewshot", 5).map((s) => imageToChw01(s.image));
    const direct = await outputs(model, xs);
    const e = new BatchedEmbedder(model, 4);
    // Seven requests, two of them copies of earlier inputs: five distinct images, two passes of ≤ 4.
    const got = await Promise.all([...xs, xs[0].slice(), xs[3]].map((x) => e.embed(x)));
    assert.equal(e.images, 5);
    assert.equal(e.passes, 2);
    got.forEach((z, i) => {
      const want = direct[[0, 1, 2, 3, 4, 0, 3][i]];
      assert.ok(z.every((v, j) => Math.abs(v - want[j]) < 1e-5), `image ${i}`);
    });
  } finally {
    model.graph.dispose();
  }
});

Deno.test("aggregate() averages per episode first, then over episodes; meanCi() is 1.96 · sd / √n", () => {
  const vals = (p: number) =>
    Object.fromEntries(
      FAM_REPORT_METHODS.map(({ id }) => [id, {
        proportion: p,
        iou: p,
        ad: p,
        ic: p,
        ad_prob: p,
        ic_prob: p,
      }]),
    ) as Parameters<typeof aggregate>[0][number]["values"];
  const records = [
    { episode: 0, correct: true, values: vals(0.2) },
    { episode: 0, correct: true, values: vals(0.4) },
    { episode: 0, correct: false, values: vals(1) },
    { episode: 1, correct: true, values: vals(0.9) },
    { episode: 2, correct: false, values: vals(0.5) }, // no correct query: left out of the correct-only mean
  ];
  const c = aggregate(records, "fam", "proportion", true);
  assert.equal(c.n, 2);
  assert.ok(Math.abs(c.mean - (0.3 + 0.9) / 2) < 1e-12); // not (0.2 + 0.4 + 0.9)/3
  const a = aggregate(records, "gradcam", "iou", false);
  assert.ok(Math.abs(a.mean - ((0.2 + 0.4 + 1) / 3 + 0.9 + 0.5) / 3) < 1e-12);
  const m = meanCi([1, 2, 3, 4]);
  assert.ok(Math.abs(m.mean - 2.5) < 1e-12);
  assert.ok(Math.abs(m.ci - 1.96 * Math.sqrt(5 / 3) / 2) < 1e-12);
  assert.ok(Number.isNaN(meanCi([NaN]).mean));
});

Deno.test("drawBox() outlines the half-open box; magnify() repeats pixels", () => {
  const img = createImage(6, 5, [0, 0, 0]);
  drawBox(img, { x0: 1, y0: 1, x1: 4, y1: 3 }, [255, 0, 0]);
  const red = (x: number, y: number) => img.data[(y * 6 + x) * 3] === 255;
  assert.ok(red(1, 1) && red(3, 1) && red(1, 2) && red(3, 2)); // corners: columns 1..3, rows 1..2
  assert.ok(!red(4, 1) && !red(1, 3) && !red(0, 0));
  const big = magnify(img, 2);
  assert.equal(big.width, 12);
  assert.equal(big.height, 10);
  assert.deepEqual([...big.data.subarray((3 * 12 + 2) * 3, (3 * 12 + 2) * 3 + 3)], [255, 0, 0]); // (2,3) ← (1,1)
});
