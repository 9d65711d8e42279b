import assert from "node:assert/strict";
import { classLogit, tf, tinyNet } from "@cnnlens/core";
import { maxRelError } from "../core/src/_testing/assert.ts";
import { iom } from "./iom.ts";
import { image, onBackends, residualNet } from "./_testing/nets.ts";
import {
  readParams,
  referenceForward,
  relativeExcitationMatrices,
  row,
} from "./_testing/excitation_reference.ts";

/** Naive k×k mean over the in-image neighbours, written out independently of smoothing.ts. */
function naiveSmooth(
  v: Float64Array | Float32Array,
  c: number,
  h: number,
  w: number,
  k: number,
): Float64Array {
  const out = new Float64Array(v.length);
  const r = (k - 1) / 2;
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0, n = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            if (y + dy < 0 || y + dy >= h || x + dx < 0 || x + dx >= w) continue;
            s += v[(ch * h + y + dy) * w + x + dx];
            n++;
          }
        }
        out[(ch * h + y) * w + x] = s / n;
      }
    }
  }
  return out;
}

onBackends("iom() returns CHW r-Exc± equal to the explicit matrices and the smoothed, scaled map", [
  "cpu",
  "wasm",
  "webgpu",
], async (b) => {
  const g = residualNet();
  const { chw, x } = image([3, 8, 8], 21);
  const ref = referenceForward(g, await readParams(g), chw);
  const m = relativeExcitationMatrices(g, ref, "fc", g.input, "fc");
  for (const k of b === "webgpu" ? [3] : [1, 3, 5]) {
    const r = await iom(g, x, classLogit(3), { smoothing: k });
    assert.deepEqual(r.shape, [3, 8, 8]);
    assert.equal(r.negativeLayer, "fc");
    assert.equal(r.decisionNode, "fc");
    assert.ok(Math.abs(r.decisionValue - ref.get("fc")!.out[3]) < 1e-5);
    assert.ok(maxRelError(r.rexcPos, row(m.pos, 3, 192)) <= 1e-5);
    assert.ok(maxRelError(r.rexcNeg, row(m.neg, 3, 192)) <= 1e-5);
    // §6.2: Norm(AcgFlt(r-Exc⁺)), from the reference excitation.
    const s = naiveSmooth(row(m.pos, 3, 192), 3, 8, 8, k);
    const top = Math.max(...s.map(Math.abs));
    const expected = s.map((v) => v / top);
    assert.ok(maxRelError(r.map, expected) <= 2e-5, `map error, k = ${k}`);
    assert.ok(Math.abs(Math.max(...r.map.map(Math.abs)) - 1) < 1e-6);
  }
  x.dispose();
  g.dispose();
});

Deno.test("iom() keeps the model's channel order: a zeroed blue channel has zero excitation in channel 2", async () => {
  const g = tinyNet();
  const x = tf.tidy(() => tf.mul(tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 4), tf.tensor1d([1, 1, 0])));
  const r = await iom(g, x, classLogit(0), { smoothing: 1 });
  const plane = (c: number) => r.rexcPos.slice(c * 64, (c + 1) * 64);
  assert.ok(plane(2).every((v) => v === 0));
  assert.ok(plane(0).some((v) => v !== 0) && plane(1).some((v) => v !== 0));
  assert.ok(r.map.slice(128).every((v) => v === 0));
  x.dispose();
  g.dispose();
});

Deno.test("iom() of an all-zero input is an all-zero map without NaN", async () => {
  const g = tinyNet();
  const x = tf.zeros([1, 8, 8, 3]);
  const r = await iom(g, x, classLogit(1));
  for (const a of [r.map, r.rexcPos, r.rexcNeg]) assert.ok(a.every((v) => v === 0));
  x.dispose();
  g.dispose();
});

Deno.test("iom() maps onto a feature map with `to` and rejects vector targets and even windows", async () => {
  const g = tinyNet();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 5);
  const r = await iom(g, x, classLogit(0), { to: "pool1" });
  assert.deepEqual(r.shape, [4, 4, 4]);
  await assert.rejects(() => iom(g, x, classLogit(0), { to: "flatten" }), /has shape \[6\]/);
  await assert.rejects(() => iom(g, x, classLogit(0), { smoothing: 2 }), /odd integer/);
  x.dispose();
  g.dispose();
});

Deno.test("iom() leaves tf.memory() flat over repeated explanations", async () => {
  const g = residualNet();
  const { x } = image([3, 8, 8], 21);
  await iom(g, x, classLogit(0));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 6; i++) await iom(g, x, classLogit(i % 4));
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  g.dispose();
});
