import {
  classLogit,
  cosineSimilarity,
  type Decision,
  type Graph,
  neuron,
  perItem,
  runForward,
  type Tensor,
  tf,
} from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { gradCam } from "./grad_cam.ts";
import { gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

/** ∂decision/∂A by central differences, A overridden at `layer` (only the layer's descendants re-run). */
async function finiteDifferenceGrad(
  g: Graph,
  x: Tensor,
  layer: string,
  d: Decision,
  eps = 1e-2,
): Promise<{ a: Float32Array; grad: Float64Array; shape: number[] }> {
  const base = runForward(g, x);
  const A = base.get(layer);
  const a = await values(A);
  const shape = A.shape as number[];
  const n = shape[0];
  const score = async (v: Float32Array) => {
    const t = tf.tensor(v, shape);
    const tr = runForward(g, x, { overrides: new Map([[layer, t]]), base });
    const s = tf.tidy(() => d.read(tr.get(d.node ?? g.output)));
    const out = await values(s);
    s.dispose();
    tr.dispose();
    t.dispose();
    return out;
  };
  const grad = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const item = Math.floor(i / (a.length / n));
    const p = a.slice();
    p[i] += eps;
    const m = a.slice();
    m[i] -= eps;
    grad[i] = ((await score(p))[item] - (await score(m))[item]) / (2 * eps);
  }
  base.dispose();
  return { a, grad, shape };
}

const refs = tf.tidy(() => tf.randomNormal([2, 6], 0, 1, "float32", 9));
const decisions: [string, () => Decision][] = [
  ["classLogit(2)", () => classLogit(2)],
  ["perItem(classLogit(3), classLogit(0))", () => perItem([classLogit(3), classLogit(0)])],
  ["cosineSimilarity(refs, 'flatten')", () => cosineSimilarity(refs, "flatten")],
  ["neuron('conv2', 1, 2, 3)", () => neuron("conv2", 1, 2, 3)],
];

for (const [label, make] of decisions) {
  onBackends(
    `gradCam() weights are the spatial mean of finite-difference gradients: ${label}`,
    ["cpu"],
    async () => {
      const g = gapNet();
      const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 4);
      const d = make();
      const layer = label.startsWith("neuron") ? "pool1" : "relu2";
      const r = await gradCam(g, x, d, { layers: [layer], perLayer: true });
      const { a, grad, shape } = await finiteDifferenceGrad(g, x, layer, d);
      const [n, h, w, c] = shape;
      const alpha = new Float64Array(n * c);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < c; k++) {
          let s = 0;
          for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) s += grad[nhwc(shape, i, y, xx, k)];
          alpha[i * c + k] = s / (h * w); // Eq. 1 (Grad-CAM)
        }
      }
      const scale = Math.max(...alpha.map(Math.abs));
      assertAllClose(r.perLayer![0].weights!, alpha, { rtol: 2e-2, atol: 2e-3 * scale, label: "weights" });
      const map = reluArr(
        sumOverChannels(shape, (i, k, y, xx) => alpha[i * c + k] * a[nhwc(shape, i, y, xx, k)]),
      );
      const mscale = Math.max(...map);
      assertAllClose(r.map, map, { rtol: 2e-2, atol: 2e-3 * mscale + 1e-7, label: "map" });
      x.dispose();
      g.dispose();
    },
  );
}

onBackends("gradCam() weights of a class logit match finite differences on every backend", [
  "cpu",
  "wasm",
  "webgpu",
], async () => {
  const g = gapNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 5);
  const r = await gradCam(g, x, classLogit(1), { perLayer: true });
  // Through GAP and FC the logit is linear in relu2: a difference quotient with a large step is exact.
  const { grad, shape } = await finiteDifferenceGrad(g, x, "relu2", classLogit(1), 0.5);
  const [, h, w, c] = shape;
  const alpha = Array.from({ length: c }, (_, k) => {
    let s = 0;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) s += grad[nhwc(shape, 0, y, xx, k)];
    return s / (h * w);
  });
  assertAllClose(r.perLayer![0].weights!, alpha, { rtol: 1e-3, atol: 1e-5 });
  x.dispose();
  g.dispose();
});
