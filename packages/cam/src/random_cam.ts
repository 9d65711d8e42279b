/**
 * The random map: the sanity floor every explanation must beat.
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/**
 * Random CAM (pytorch-grad-cam's `RandomCAM`): channel weights drawn uniformly from [−1, 1), map
 * `ReLU(Σ_k w_k A_k)`. It keeps the layer's spatial statistics and ignores the decision, so a metric that
 * cannot tell it from a real method measures the activations, not the explanation. Seeded: one weight
 * vector per layer from `seed + layer index`, shared by every image of the batch (so a batch gives the
 * same maps as single runs; pytorch-grad-cam draws per image, unseeded).
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision (only its value is reported).
 * @param options Layers, `seed`.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { randomCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const a = await randomCam(g, x, classLogit(0), { seed: 3 });
 * const b = await randomCam(g, x, classLogit(1), { seed: 3 });
 * if (a.map.some((v, i) => v !== b.map[i])) throw new Error("same seed, same map");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const randomCam: CamFunction = defineCam({
  id: "random",
  capture: "activations",
  weights: ({ activations, index, options }) =>
    tf.tidy(() => {
      const [n, , , c] = activations.shape;
      const w = tf.randomUniform([1, c!], -1, 1, "float32", (options.seed ?? 0) + index);
      return tf.tile(w, [n, 1]);
    }),
});
