/**
 * Grad-CAM++ (Chattopadhay et al., WACV 2018).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * Grad-CAM++: `w_k = Σ_ij α_k(i,j) ReLU(∂y/∂A_k(i,j))` with the closed-form
 * `α = g² / (2g² + Σ_ab A_k(a,b) · g³ + 1e-6)` (Eq. 19, Grad-CAM++, exponential-output form with the
 * higher derivatives written as powers of the first), and α = 0 where the gradient is exactly 0 — the
 * zero-gradient guard of pytorch-grad-cam, which also keeps 0/0 out.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { gradCamPlusPlus } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await gradCamPlusPlus(g, x, classLogit(0), { perLayer: true });
 * if (r.perLayer![0].weights!.length !== 6) throw new Error("one weight per channel");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const gradCamPlusPlus: CamFunction = defineCam({
  id: "gradcam++",
  capture: "gradients",
  weights: ({ grads, activations }) =>
    tf.tidy(() => {
      const g = grads!;
      const g2 = tf.square(g);
      const g3 = tf.mul(g2, g);
      const sumA = tf.sum(activations, [1, 2], true);
      // Eq. 19 (Grad-CAM++): alpha.
      const alpha = tf.div(g2, tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), 1e-6));
      // Zero-gradient guard: alpha = 0 where the gradient is exactly 0.
      const guarded = tf.where(tf.notEqual(g, 0), alpha, tf.zerosLike(alpha));
      // Eq. 7 (Grad-CAM++): weights = Σ_ij alpha · ReLU(gradient).
      return tf.sum(tf.mul(tf.relu(g), guarded), [1, 2]);
    }),
});
