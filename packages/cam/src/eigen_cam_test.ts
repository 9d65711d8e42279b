import assert from "node:assert/strict";
import { classLogit, type Graph, GraphBuilder, runForward, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { rng } from "../../core/src/_testing/reference.ts";
import { eigenCam, leadingEigenpair } from "./eigen_cam.ts";
import { gapNet, onBackends } from "./_testing/nets.ts";

/** Power iteration on a symmetric PSD matrix (float64), written independently for the tests. */
function powerIteration(m: Float64Array, n: number, iters = 5000): Float64Array {
  let v = Float64Array.from({ length: n }, (_, i) => 1 + i / n);
  for (let it = 0; it < iters; it++) {
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[i] += m[i * n + j] * v[j];
    const norm = Math.hypot(...u);
    v = u.map((x) => x / norm);
  }
  return v;
}

/**
 * Eigen-CAM written out: centre the positions × channels matrix per channel, take the first principal
 * direction by power iteration on the channel covariance, project, fix the sign by the covariance with the
 * total activation, ReLU.
 */
function eigenCamLoop(a: Float32Array, shape: number[]): Float64Array {
  const [N, h, w, c] = shape;
  const p = h * w;
  const out = new Float64Array(N * p);
  for (let n = 0; n < N; n++) {
    const m = new Float64Array(p * c);
    for (let k = 0; k < c; k++) {
      let mean = 0;
      for (let i = 0; i < p; i++) mean += a[(n * p + i) * c + k] / p;
      for (let i = 0; i < p; i++) m[i * c + k] = a[(n * p + i) * c + k] - mean;
    }
    const cov = new Float64Array(c * c);
    for (let k = 0; k < c; k++) {
      for (let l = 0; l < c; l++) for (let i = 0; i < p; i++) cov[k * c + l] += m[i * c + k] * m[i * c + l];
    }
    const v = powerIteration(cov, c);
    const proj = Array.from({ length: p }, (_, i) => v.reduce((s, vk, k) => s + m[i * c + k] * vk, 0));
    let dot = 0;
    for (let i = 0; i < p; i++) {
      let tot = 0;
      for (let k = 0; k < c; k++) tot += a[(n * p + i) * c + k];
      dot += proj[i] * tot;
    }
    proj.forEach((x, i) => out[n * p + i] = Math.max(dot < 0 ? -x : x, 0));
  }
  return out;
}

/** More channels than positions (12 channels at 3 × 3): the implementation takes the Gram-of-positions path. */
function wideNet(): Graph {
  const b = new GraphBuilder([3, 9, 9], 2);
  let x = b.conv("conv", b.inputName, { out: 12, k: 3, stride: 3, pad: 0 });
  x = b.op("relu", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 2);
  return b.build(x);
}

for (
  const [label, make, layer, size] of [
    ["25 positions > 6 channels", gapNet, "relu2", 10],
    ["9 positions ≤ 12 channels", wideNet, "relu", 9],
  ] as const
) {
  onBackends(
    `eigenCam() equals a power-iteration principal component (${label})`,
    ["cpu", "wasm"],
    async () => {
      const g = make();
      const x = tf.randomNormal([2, size, size, 3], 0, 1, "float32", 81);
      const r = await eigenCam(g, x, classLogit(0), { layers: [layer] });
      const tr = runForward(g, x);
      const A = tr.get(layer);
      const expected = eigenCamLoop(await values(A), A.shape as number[]);
      tr.dispose();
      assertAllClose(r.map, expected, { rtol: 1e-3, atol: 1e-4 * Math.max(...expected) });
      assert.ok(expected.some((v) => v > 0));
      x.dispose();
      g.dispose();
    },
  );
}

Deno.test("leadingEigenpair() (subspace iteration above 24) matches power iteration on a 40 × 40 PSD matrix", () => {
  const n = 40;
  const r = rng(3);
  const b = Float64Array.from({ length: n * n }, () => r() - 0.5);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) m[i * n + j] += b[i * n + k] * b[j * n + k];
  }
  const { value, vector } = leadingEigenpair(m, n);
  const v = powerIteration(m, n, 20000);
  const sign = Math.sign(v.reduce((s, x, i) => s + x * vector[i], 0));
  assertAllClose(vector.map((x) => x * sign), v, { rtol: 1e-5, atol: 1e-6 });
  let rayleigh = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rayleigh += v[i] * m[i * n + j] * v[j];
  assertAllClose([value], [rayleigh], { rtol: 1e-9 });
});
