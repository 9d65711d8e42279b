/**
 * Layer-CAM (Jiang et al., IEEE TIP 2021).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * Layer-CAM: a spatial weight per activation, `M = ReLU(Σ_k ReLU(∂y/∂A_k) ⊙ A_k)`, as pytorch-grad-cam
 * computes it.
 * Being spatial, it has no per-channel weights.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options Layers and combination (Layer-CAM is meant for shallow layers too).
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { layerCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await layerCam(g, x, classLogit(0), { layers: ["relu1", "relu2"] });
 * if (r.height !== 8) throw new Error("combined at the largest layer's resolution");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const layerCam: CamFunction = defineCam({
  id: "layercam",
  capture: "gradients",
  // Layer-CAM: positive gradients as spatial weights.
  image: ({ grads, activations }) => tf.tidy(() => tf.sum(tf.mul(tf.relu(grads!), activations), 3)),
});
