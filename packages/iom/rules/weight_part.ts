import { type Tensor, tf } from "@cnnlens/core";
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
