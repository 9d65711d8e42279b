import { kernelCache, type Tensor, tf } from "@cnnlens/core";
import type { WeightPart } from "./sign_split.ts";

/**
 * One sign part of a weight tensor: `W`, `|W|`, `W⁺ = max(W, 0)` or `W⁻ = min(W, 0)`.
 * @param w Weights.
 * @param part Which part.
 * @returns The part (`w` itself for `"w"`).
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { weightPart } from "./weight_part.ts";
 * const neg = await weightPart(tf.tensor1d([2, -3]), "neg").data();
 * if (neg[0] !== 0 || neg[1] !== -3) throw new Error("W⁻ keeps the negative weights");
 * ```
 */
export function weightPart(w: Tensor, part: WeightPart): Tensor {
  switch (part) {
    case "w":
      return w;
    case "abs":
      return tf.abs(w);
    case "pos":
      return tf.relu(w);
    case "neg":
      return tf.minimum(w, 0);
  }
}

/**
 * {@linkcode weightPart}, made once per weight tensor and kept in the core's shared `kernelCache` (released
 * with the weights, by `graph.dispose()`, or by `clearExcitationCache()`).
 * @param w Weights.
 * @param part Which part.
 * @returns The kept part (`w` itself for `"w"`): do not dispose it.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { keptWeightPart } from "./weight_part.ts";
 * import { clearExcitationCache } from "./kernel_cache.ts";
 * const w = tf.tensor1d([1, -2]);
 * if (keptWeightPart(w, "abs") !== keptWeightPart(w, "abs")) throw new Error("made once");
 * clearExcitationCache();
 * ```
 */
export function keptWeightPart(w: Tensor, part: WeightPart): Tensor {
  return part === "w" ? w : kernelCache.get(w, `part:${part}`, () => [weightPart(w, part)])[0];
}
