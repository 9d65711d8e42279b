/**
 * The compared embeddings of images, exactly as FAM computes them: for building galleries, memory banks
 * and precomputed references.
 * @module
 */
import type { Graph, Tensor } from "@cnnlens/core";
import { type FamOptions, famPlan, forwardFeatures } from "./plan.ts";

/**
 * Embed images the way FAM compares them (forward passes only, `batchSize` at a time): the layer pooled
 * with `pooling` (times `transform` if given), or the `embedding` node's value.
 * @param graph The model.
 * @param images Images [B, H, W, C] (backend layout).
 * @param options The same options as the explanation that will use the embeddings.
 * @returns Embeddings [B, D]; the caller disposes them.
 * @example
 * ```ts
 * import { embed } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const x = tf.ones([2, 8, 8, 3]);
 * const z = embed(g, x, { embedding: "fc" });
 * if (z.shape.join() !== "2,3") throw new Error(`${z.shape}`);
 * tf.dispose([x, z]);
 * g.dispose();
 * ```
 */
export function embed(graph: Graph, images: Tensor, options: FamOptions = {}): Tensor {
  return forwardFeatures(famPlan(graph, options), images, false).embeddings;
}
