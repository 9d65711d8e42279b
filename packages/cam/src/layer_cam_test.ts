import assert from "node:assert/strict";
import { classLogit, tf } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { layerCam } from "./layer_cam.ts";
import { explicitGradients, gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

onBackends("layerCam() equals a plain loop of ReLU(Σ_k ReLU(∂y/∂A_k) ⊙ A_k) at a shallow layer", [
  "cpu",
  "wasm",
], async () => {
  const g = gapNet();
  const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 41);
  const r = await layerCam(g, x, classLogit(3), { layers: ["relu1"], perLayer: true });
  const { a, grad, shape } = await explicitGradients(g, x, classLogit(3), "relu1");
  const map = reluArr(
    sumOverChannels(
      shape,
      (n, k, y, xx) => Math.max(grad[nhwc(shape, n, y, xx, k)], 0) * a[nhwc(shape, n, y, xx, k)],
    ),
  );
  assert.equal(r.height, 10);
  assertAllClose(r.map, map, { rtol: 1e-4, atol: 1e-6 * Math.max(...map) });
  assert.equal(r.perLayer![0].weights, undefined, "Layer-CAM has no channel weights");
  x.dispose();
  g.dispose();
});
