import assert from "node:assert/strict";
import { classLogit, perItem, tf } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { gradCamPlusPlus } from "./grad_cam_plus_plus.ts";
import {
  explicitGradients,
  gapNet,
  nhwc,
  onBackends,
  perChannel,
  reluArr,
  spatialSum,
  sumOverChannels,
} from "./_testing/nets.ts";

for (const layer of ["relu2", "bn2"]) {
  onBackends(`gradCamPlusPlus() equals a plain loop of Eq. 19 with the zero-gradient guard at '${layer}'`, [
    "cpu",
    "wasm",
  ], async () => {
    const g = gapNet();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 21);
    const d = perItem([classLogit(0), classLogit(2)]);
    const r = await gradCamPlusPlus(g, x, d, { layers: [layer], perLayer: true });
    const { a, grad, shape } = await explicitGradients(g, x, d, layer);
    // At the pre-ReLU 'bn2' every position where the ReLU is off has an exactly zero gradient.
    if (layer === "bn2") assert.ok(grad.some((v) => v === 0), "zero gradients present");
    const w = perChannel(shape, (n, k) => {
      const sumA = spatialSum(shape, (y, xx) => a[nhwc(shape, n, y, xx, k)]);
      return spatialSum(shape, (y, xx) => {
        const gi = grad[nhwc(shape, n, y, xx, k)];
        if (gi === 0) return 0;
        const alpha = gi ** 2 / (2 * gi ** 2 + sumA * gi ** 3 + 1e-6);
        return alpha * Math.max(gi, 0);
      });
    });
    const scale = Math.max(...w.map(Math.abs));
    assertAllClose(r.perLayer![0].weights!, w, { rtol: 1e-3, atol: 1e-5 * scale, label: "weights" });
    const c = shape[3];
    const map = reluArr(sumOverChannels(shape, (n, k, y, xx) => w[n * c + k] * a[nhwc(shape, n, y, xx, k)]));
    assertAllClose(r.map, map, { rtol: 1e-3, atol: 1e-5 * Math.max(...map), label: "map" });
    x.dispose();
    g.dispose();
  });
}
