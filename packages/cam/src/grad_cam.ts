/**
 * Grad-CAM (Selvaraju et al., ICCV 2017).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * Grad-CAM: channel weights are the spatial mean of the decision's gradient,
 * `α_k = (1/Z) Σ_ij ∂y/∂A_k(i, j)` (Eq. 1, Grad-CAM), map `ReLU(Σ_k α_k A_k)` (Eq. 2).
 * On a GAP + FC network this is CAM divided by Z = h·w (tested).
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision (class logit, similarity, neuron, `perItem`, …).
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { gradCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await gradCam(g, x, classLogit(2), { layers: ["relu2"] });
 * if (r.map.length !== 16 || r.map.some((v) => v < 0)) throw new Error("a 4×4 map, ReLU applied");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const gradCam: CamFunction = defineCam({
  id: "gradcam",
  capture: "gradients",
  // Eq. 1 (Grad-CAM): global-average-pooled gradients.
  weights: ({ grads }) => tf.tidy(() => tf.mean(grads!, [1, 2])),
});
