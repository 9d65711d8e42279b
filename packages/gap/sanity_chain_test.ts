import assert from "node:assert/strict";
import { classLogit, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../core/src/_testing/assert.ts";
import { ablationGroundTruth } from "./ablation.ts";
import { decompose } from "./decompose.ts";
import { pearson } from "./pearson.ts";
import { sanityChain } from "./sanity_chain.ts";
import { linearHead, vggLike } from "./_testing.ts";

Deno.test("sanityChain(): gAP's AA is exactly the zero-ablation drop for a linear head (PCC 1)", async () => {
  await useBackend("cpu");
  const g = linearHead(10);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 6);
  const [row] = await sanityChain(g, x, classLogit(1), { layers: ["feat"], replace: "zero" });
  assert.ok(Math.abs(row.pcc.AA - 1) < 1e-5, `PCC ${row.pcc.AA}`);
  assertAllClose(Array.from(row.contributions.AA, (a) => a * 36), row.groundTruth, {
    rtol: 1e-4,
    atol: 1e-5,
  });
  x.dispose();
  g.dispose();
});

Deno.test("sanityChain() follows the top channel's peak neuron down the layers", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 7);
  const rows = await sanityChain(g, x, classLogit(2));
  assert.deepEqual(rows.map((r) => r.into), ["s3", "s2", "r3", "s1"]);
  assert.equal(rows[0].decision, "class 2 logit");
  // Row i + 1 decomposes the peak neuron of row i's top channel (AA).
  let target: Parameters<typeof decompose>[2] = classLogit(2);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const d = await decompose(g, x, target, r.into);
    assertAllClose(r.contributions.AA, d.contributions.AA, { rtol: 1e-5, atol: 1e-8 });
    const gt = await ablationGroundTruth(g, x, target, r.into);
    assertAllClose(r.groundTruth, gt, { rtol: 1e-5, atol: 1e-7 });
    for (const m of ["AA", "MA", "AG", "MG"] as const) {
      const p = pearson(d.contributions[m], gt);
      assert.ok(Number.isNaN(p) ? Number.isNaN(r.pcc[m]) : Math.abs(r.pcc[m] - p) < 1e-6);
    }
    const k = d.ranking(1)[0];
    if (i + 1 < rows.length) {
      assert.equal(rows[i + 1].decision, `${r.into}[${k}, ${d.peaks[k][0]}, ${d.peaks[k][1]}]`);
    }
    target = { layer: r.into, channel: k, position: d.peaks[k] };
  }
  x.dispose();
  g.dispose();
});
