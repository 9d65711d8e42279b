import assert from "node:assert/strict";
import { join } from "node:path";
import { classLogit, tf, useBackend } from "@cnnlens/core";
import { iom } from "@cnnlens/iom";
import { synthSample } from "../src/synth/mod.ts";
import { chw01ToInput, imageToChw01, loadEvalModel, numbersInRange, outputs, softmax } from "./_common.ts";
import {
  IOM_REPORT_LAYERS,
  IOM_REPORT_METHODS,
  IOM_REPORT_SIZES,
  PAPER_NO_HEATMAP_AD,
  PAPER_TABLE_1,
  report,
} from "./iom_report.ts";

/**
 * IOM's Table 1 numbers for the first `n` test images, computed here from `iom()` with plain loops (no
 * @cnnlens/eval code): relu + min-max of the map, area/value of its positive entries, Average Drop of
 * `0.5·X`, and the Confidence Drop with the entries above the map's mean zeroed.
 */
async function independentIom(n: number) {
  const model = await loadEvalModel("iom_cnn6");
  const area: number[] = [], value: number[] = [], cd: number[] = [], half: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const x01 = imageToChw01(synthSample("test", i).image);
      const [row] = await outputs(model, [x01]);
      const c = row.indexOf(Math.max(...row));
      const y = softmax(row)[c];
      const x = chw01ToInput(model, [x01]);
      const r = await iom(model.graph, x, classLogit(c));
      x.dispose();
      const relu = Array.from(r.map, (v) => Math.max(0, v));
      const lo = Math.min(...relu), hi = Math.max(...relu);
      const s = relu.map((v) => (v - lo) / (hi - lo));
      const pos = s.filter((v) => v > 0);
      area.push(pos.length / s.length);
      value.push(pos.reduce((a, b) => a + b, 0) / pos.length);
      const m = s.reduce((a, b) => a + b, 0) / s.length;
      const xHat = x01.map((v, k) => (s[k] > m ? 0 : v));
      const [rowHat, rowHalf] = await outputs(model, [xHat, x01.map((v) => 0.5 * v)]);
      cd.push((y - softmax(rowHat)[c]) / y);
      half.push(Math.max(0, y - softmax(rowHalf)[c]) / y);
    }
  } finally {
    model.graph.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { area: mean(area), value: mean(value), cd: mean(cd), half: mean(half) };
}

Deno.test("iom report (CI size): Table 1 in range, %Win sums to 1, IOM's row equals a direct computation", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const dir = await Deno.makeTempDir({ prefix: "iom_report_" });
  try {
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    const n = IOM_REPORT_SIZES.ci;
    assert.equal(s.numbers.n, n);
    assert.deepEqual(
      numbersInRange(s.numbers, {
        "^(conv6\\.)?(area|value|ad|win|removed)\\.": [0, 1],
        "^(conv6\\.)?confdrop\\.": [-5, 1],
        "^(conv6\\.)?winsum$": [1 - 1e-9, 1 + 1e-9],
        "^(accuracy|confidence|iom\\.signagree)$": [0, 1],
        "^spearman\\.(area|value|ad|win|confdrop)$": [-1, 1],
      }),
      [],
    );
    // Every method has every Table 1 column at both layers.
    for (const { key } of IOM_REPORT_METHODS) {
      for (const col of ["area", "value", "ad", "win", "confdrop"]) {
        for (const layer of IOM_REPORT_LAYERS) {
          const k = layer === IOM_REPORT_LAYERS[0] ? `${col}.${key}` : `${layer.key}.${col}.${key}`;
          assert.ok(typeof s.numbers[k] === "number", `missing ${k}`);
        }
      }
    }
    // IOM and FullGrad use no target layer: their map statistics are the same in both tables.
    for (const key of ["iom", "fullgrad"]) {
      for (const col of ["area", "value", "ad", "confdrop"]) {
        assert.equal(s.numbers[`conv6.${col}.${key}`], s.numbers[`${col}.${key}`]);
      }
    }
    // The IOM row and the no-heatmap drop, recomputed from iom() and the model without @cnnlens/eval.
    const ref = await independentIom(n);
    const close = (a: number | null, b: number, what: string) =>
      assert.ok(a !== null && Math.abs(a - b) <= 1e-5, `${what}: report ${a}, direct ${b}`);
    close(s.numbers["area.iom"], ref.area, "area.iom");
    close(s.numbers["value.iom"], ref.value, "value.iom");
    close(s.numbers["confdrop.iom"], ref.cd, "confdrop.iom");
    close(s.numbers["ad.noheatmap"], ref.half, "ad.noheatmap");

    const md = await Deno.readTextFile(s.file);
    assert.equal(s.file, join(dir, "iom.md"));
    for (const text of ["## Table 1", "| **IOM** |", "## What differs", "No heatmap", `**${n} images**`]) {
      assert.ok(md.includes(text), `missing ${text}`);
    }
    for (const { key, name } of IOM_REPORT_METHODS) {
      if (key !== "iom") assert.ok(md.includes(`| ${name} |`), `no row for ${name}`);
      const p = PAPER_TABLE_1[key];
      for (const v of [p.area, p.value, p.ad, p.win, p.cd]) {
        assert.ok(md.includes(`| ${v.toFixed(4)} |`), `paper's ${v} missing (${name})`);
      }
    }
    assert.ok(md.includes(PAPER_NO_HEATMAP_AD.toFixed(4)));
    const png = await Deno.readFile(join(dir, "iom", "maps.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    const svg = await Deno.readTextFile(join(dir, "iom", "drops.svg"));
    assert.ok(svg.startsWith("<svg") && svg.includes("Confi. Drop (paper)"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
