import assert from "node:assert/strict";
import { classLogit, neuron, perItem, runForward, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { ablationCam } from "./ablation_cam.ts";
import { gapNet, nhwc, onBackends, reluArr, residualNet, sumOverChannels } from "./_testing/nets.ts";

/** Ablation-CAM written out: zero channel k in a copy of A, run the whole network again, one image at a time. */
async function ablationLoop(
  g: ReturnType<typeof gapNet>,
  x: tf.Tensor,
  layer: string,
  read: (n: number, out: tf.Tensor) => tf.Tensor,
  decisionNode: string,
) {
  const tr = runForward(g, x);
  const A = tr.get(layer);
  const shape = A.shape as number[];
  const a = await values(A);
  const [N, h, w, c] = shape;
  const per = h * w * c;
  const weights = new Float64Array(N * c);
  for (let n = 0; n < N; n++) {
    const xi = tf.slice(x, [n], [1]);
    const y0 = tf.tidy(() => read(n, runForward(g, xi).get(decisionNode)));
    const y = (await values(y0))[0];
    y0.dispose();
    for (let k = 0; k < c; k++) {
      const copy = a.slice(n * per, (n + 1) * per);
      for (let p = 0; p < h * w; p++) copy[p * c + k] = 0;
      const t = tf.tensor4d(copy, [1, h, w, c]);
      const out = runForward(g, xi, { overrides: new Map([[layer, t]]) });
      const s = tf.tidy(() => read(n, out.get(decisionNode)));
      const yk = (await values(s))[0];
      s.dispose();
      out.dispose();
      t.dispose();
      weights[n * c + k] = (y - yk) / y;
    }
    xi.dispose();
  }
  tr.dispose();
  return { a, shape, weights };
}

onBackends("ablationCam() equals explicit zeroing loops through a residual block, batch of 2", [
  "cpu",
  "wasm",
], async () => {
  const g = residualNet();
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 71);
  const ds = [classLogit(2), classLogit(0)];
  // relu1 feeds the block's conv and its shortcut: the shortcut value must be stacked with the ablations.
  for (const batchSize of [3, 32]) {
    const r = await ablationCam(g, x, perItem(ds), { layers: ["relu1"], batchSize, perLayer: true });
    const { a, shape, weights } = await ablationLoop(g, x, "relu1", (n, v) => ds[n].read(v), g.output);
    assertAllClose(r.perLayer![0].weights!, weights, {
      rtol: 1e-4,
      atol: 1e-5,
      label: `weights, batch ${batchSize}`,
    });
    const c = shape[3];
    const map = reluArr(
      sumOverChannels(shape, (n, k, y, xx) => weights[n * c + k] * a[nhwc(shape, n, y, xx, k)]),
    );
    assertAllClose(r.map, map, { rtol: 1e-4, atol: 1e-6 * Math.max(...map), label: "map" });
  }
  x.dispose();
  g.dispose();
});

onBackends("ablationCam() explains a neuron decision read inside the network", ["cpu"], async () => {
  const g = gapNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 72);
  const d = neuron("conv2", 0, 2, 2);
  const r = await ablationCam(g, x, d, { layers: ["pool1"], perLayer: true });
  const { weights } = await ablationLoop(g, x, "pool1", (_n, v) => d.read(v), "conv2");
  assertAllClose(r.perLayer![0].weights!, weights, { rtol: 1e-4, atol: 1e-5 });
  assert.ok(weights.some((w) => w !== 0));
  x.dispose();
  g.dispose();
});
