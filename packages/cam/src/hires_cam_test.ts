import { neuron, tf } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { hiResCam } from "./hires_cam.ts";
import { explicitGradients, gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

onBackends("hiResCam() equals a plain loop of ReLU(Σ_k ∂y/∂A_k ⊙ A_k)", ["cpu", "wasm"], async () => {
  const g = gapNet();
  const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 51);
  const d = neuron("conv2", 2, 1, 3);
  const r = await hiResCam(g, x, d, { layers: ["pool1"] });
  const { a, grad, shape } = await explicitGradients(g, x, d, "pool1");
  const map = reluArr(
    sumOverChannels(shape, (n, k, y, xx) => grad[nhwc(shape, n, y, xx, k)] * a[nhwc(shape, n, y, xx, k)]),
  );
  assertAllClose(r.map, map, { rtol: 1e-4, atol: 1e-6 * Math.max(...map) });
  x.dispose();
  g.dispose();
});
