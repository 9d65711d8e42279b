import assert from "node:assert/strict";
import { classLogit, runForward, tf, tinyNet } from "@cnnlens/core";
import { perturbationView } from "./perturbation.ts";
import { iom } from "./iom.ts";

Deno.test("perturbationView() computes (1 − M⁺) ∘ X and the outputs before and after", async () => {
  const g = tinyNet();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 8);
  const r = await iom(g, x, classLogit(1));
  const v = await perturbationView(g, x, r.map, { decision: classLogit(1) });
  // Independent: X in CHW from the NHWC tensor, then the product element by element.
  const xs = await x.data();
  const chw = new Float32Array(192);
  for (let y = 0; y < 8; y++) {
    for (let i = 0; i < 8; i++) {
      for (let c = 0; c < 3; c++) chw[(c * 8 + y) * 8 + i] = xs[(y * 8 + i) * 3 + c];
    }
  }
  chw.forEach((xv, i) => assert.ok(Math.abs(v.perturbed[i] - (1 - Math.max(0, r.map[i])) * xv) < 1e-6));
  // The outputs: forward passes of X and of the perturbed input built here.
  const before = runForward(g, x);
  const xp = tf.tidy(() =>
    tf.transpose(tf.tensor4d(chw.map((xv, i) => (1 - Math.max(0, r.map[i])) * xv), [1, 3, 8, 8]), [
      0,
      2,
      3,
      1,
    ])
  );
  const after = runForward(g, xp);
  const ob = await before.get("fc").data();
  const oa = await after.get("fc").data();
  ob.forEach((o, i) => assert.ok(Math.abs(v.outputBefore[i] - o) < 1e-5));
  oa.forEach((o, i) => assert.ok(Math.abs(v.outputAfter[i] - o) < 1e-5));
  assert.ok(Math.abs(v.decisionBefore! - ob[1]) < 1e-5 && Math.abs(v.decisionAfter! - oa[1]) < 1e-5);
  const e = Array.from(ob, (o) => Math.exp(o));
  assert.ok(Math.abs(v.probabilitiesBefore[1] - e[1] / e.reduce((a, b) => a + b)) < 1e-6);
  assert.ok(Math.abs(v.probabilitiesAfter.reduce((a, b) => a + b) - 1) < 1e-6);
  before.dispose();
  after.dispose();
  tf.dispose([x, xp]);
  g.dispose();
});

Deno.test("perturbationView() keeps negative map values when asked and checks shapes", async () => {
  const g = tinyNet();
  const x = tf.ones([1, 8, 8, 3]);
  const v = await perturbationView(g, x, new Float32Array(192).fill(-1), { clampNegative: false });
  assert.ok(v.perturbed.every((p) => p === 2));
  assert.equal(v.decisionBefore, undefined);
  await assert.rejects(() => perturbationView(g, x, new Float32Array(10)), /C×H×W map/);
  const n = tf.memory().numTensors;
  await perturbationView(g, x, new Float32Array(192));
  assert.equal(tf.memory().numTensors, n);
  x.dispose();
  g.dispose();
});
