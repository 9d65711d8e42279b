/**
 * XGrad-CAM (Fu et al., BMVC 2020).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * XGrad-CAM: gradients averaged with the activations as weights,
 * `w_k = Σ_ij (A_k(i,j) / (Σ_ab A_k(a,b) + 1e-7)) · ∂y/∂A_k(i,j)` (the 1e-7 as in
 * pytorch-grad-cam).
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { xGradCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await xGradCam(g, x, classLogit(1));
 * if (r.method !== "xgradcam" || r.value.length !== 1) throw new Error("one decision value");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const xGradCam: CamFunction = defineCam({
  id: "xgradcam",
  capture: "gradients",
  // XGrad-CAM weights: activation-weighted gradient average.
  weights: ({ grads, activations }) =>
    tf.tidy(() =>
      tf.sum(tf.div(tf.mul(grads!, activations), tf.add(tf.sum(activations, [1, 2], true), 1e-7)), [1, 2])
    ),
});
