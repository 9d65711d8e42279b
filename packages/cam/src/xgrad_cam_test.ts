import { classLogit, cosineSimilarity, tf } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { xGradCam } from "./xgrad_cam.ts";
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

onBackends(
  "xGradCam() equals a plain loop of Σ_ij A_ij / (Σ A + 1e-7) · ∂y/∂A_ij",
  ["cpu", "wasm"],
  async () => {
    const g = gapNet();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 31);
    for (const d of [classLogit(1), cosineSimilarity(tf.ones([1, 4]))]) {
      const r = await xGradCam(g, x, d, { layers: ["relu1"], perLayer: true });
      const { a, grad, shape } = await explicitGradients(g, x, d, "relu1");
      const w = perChannel(shape, (n, k) => {
        const sumA = spatialSum(shape, (y, xx) => a[nhwc(shape, n, y, xx, k)]);
        return spatialSum(shape, (y, xx) => a[nhwc(shape, n, y, xx, k)] * grad[nhwc(shape, n, y, xx, k)]) /
          (sumA + 1e-7);
      });
      const c = shape[3];
      assertAllClose(r.perLayer![0].weights!, w, { rtol: 1e-3, atol: 1e-5 * Math.max(...w.map(Math.abs)) });
      const map = reluArr(
        sumOverChannels(shape, (n, k, y, xx) => w[n * c + k] * a[nhwc(shape, n, y, xx, k)]),
      );
      assertAllClose(r.map, map, { rtol: 1e-3, atol: 1e-5 * Math.max(...map) });
      (d.similarity?.references)?.dispose();
    }
    x.dispose();
    g.dispose();
  },
);
