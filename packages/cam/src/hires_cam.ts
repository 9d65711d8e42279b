/**
 * HiResCAM (Draelos & Carin, 2020).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * HiResCAM: the element-wise product of gradient and activation, summed over channels,
 * `M = ReLU(Σ_k ∂y/∂A_k ⊙ A_k)`. With a GAP + FC head it is exactly the class's CAM divided by h·w, and
 * summed over positions (before the ReLU) it is the decision's part that flows through the layer.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { hiResCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await hiResCam(g, x, classLogit(0));
 * if (r.width !== 4) throw new Error("4×4 at the last spatial layer");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const hiResCam: CamFunction = defineCam({
  id: "hirescam",
  capture: "gradients",
  image: ({ grads, activations }) => tf.tidy(() => tf.sum(tf.mul(grads!, activations), 3)),
});
