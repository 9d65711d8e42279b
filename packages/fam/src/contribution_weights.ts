/**
 * FAM's contribution weights on embeddings alone (no model): Eq. 15 for cosine, averaged over K references
 * (Eq. 11), or the per-entry terms over |score| of any additive metric.
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";
import { type MetricChoice, resolveMetric } from "./metric.ts";
import { pairContributions } from "./_jobs.ts";

/** Contribution weights of one embedding against K references. */
export interface ContributionWeights {
  /** `c_d` per embedding entry (length D), before normalisation. */
  contributions: Float32Array;
  /** Score against each reference, and their mean (Eq. 11). */
  similarity: { perReference: number[]; mean: number };
}

/**
 * Contribution weights of an embedding's entries to its similarity with K references:
 * `c_d = (1/K) Σ_k t_d(Z, Z^k) / |s(Z, Z^k)|`, which for cosine is Eq. 15,
 * `c_n = (1/K) Σ_k z_n z^k_n / (|s(Z, Z^k)| ‖Z‖ ‖Z^k‖)`. With one reference they sum to sign(s).
 * @param z The embedding [D] or [1, D].
 * @param references Reference embeddings [K, D] or [D].
 * @param options The metric. @default { metric: "cosine" }
 * @returns Contributions and similarities.
 * @example
 * ```ts
 * import { contributionWeights } from "@cnnlens/fam";
 * import { tf } from "@cnnlens/core";
 * const w = await contributionWeights(tf.tensor1d([1, 1]), tf.tensor2d([[1, 0]]));
 * // cos = 1/√2; c = [1·1/(cos·√2·1), 0] = [1, 0]
 * if (Math.abs(w.contributions[0] - 1) > 1e-6 || w.contributions[1] !== 0) throw new Error();
 * ```
 */
export async function contributionWeights(
  z: Tensor,
  references: Tensor,
  options: { metric?: MetricChoice } = {},
): Promise<ContributionWeights> {
  const metric = resolveMetric(options.metric ?? "cosine");
  const d = z.shape[z.rank - 1];
  const rd = references.shape[references.rank - 1];
  if (z.size !== d || rd !== d || references.rank > 2) {
    throw new RangeError(
      `Need an embedding [D] and references [K, D], got [${z.shape}] and [${references.shape}]`,
    );
  }
  const k = references.rank === 1 ? 1 : references.shape[0];
  if (k < 1) throw new RangeError("contributionWeights() needs at least one reference");
  const packed = tf.tidy(() => {
    const table = tf.concat([tf.reshape(z, [1, d]), tf.reshape(references, [k, d])]);
    const { cPrime, scores } = pairContributions(metric, table, [
      { subject: 0, refs: Array.from({ length: k }, (_, i) => i + 1) },
    ]);
    return tf.concat([tf.reshape(cPrime, [-1]), scores]);
  });
  let v: Float32Array;
  try {
    v = await packed.data() as Float32Array;
  } finally {
    packed.dispose();
  }
  const perReference = Array.from(v.subarray(d));
  return {
    contributions: v.slice(0, d),
    similarity: { perReference, mean: perReference.reduce((a, b) => a + b, 0) / k },
  };
}
