/**
 * Similarity metrics that are sums over embedding entries, so that each entry (channel) has a term of its
 * own: FAM's contribution weights are those terms divided by |score| (FAM Eq. 15 for cosine).
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";

/**
 * A similarity score that is additive over embedding entries: `s(a, b) = Σ_d t_d(a, b)`. FAM needs the
 * terms `t_d`, not the score alone. Implement `terms` with tfjs ops (it runs inside `tf.tidy`).
 */
export interface SimilarityMetric {
  /** Name for reports (`cosine`, `euclidean`, or your own). */
  name: string;
  /**
   * The per-entry terms of the score for P pairs, row p of `a` against row p of `b`.
   * @param a Left embeddings [P, D].
   * @param b Right embeddings [P, D].
   * @returns Terms [P, D]; row sums are the scores.
   */
  terms(a: Tensor, b: Tensor): Tensor;
  /**
   * Optional fast path for all scores between two sets (used for ranking and prediction): [Q, D] × [G, D]
   * → [Q, G]. When absent, the scores are the row sums of {@linkcode SimilarityMetric.terms} over every
   * pair.
   */
  scores?(a: Tensor, b: Tensor): Tensor;
}

/** A metric by name, or your own {@linkcode SimilarityMetric}. */
export type MetricChoice = "cosine" | "euclidean" | SimilarityMetric;

/** Norms below this are treated as this, so a zero embedding gives zero terms instead of NaN. */
const TINY = 1e-12;

function rowNorms(x: Tensor): Tensor {
  return tf.maximum(tf.norm(x, 2, 1, true), TINY);
}

/**
 * Cosine similarity (FAM Eq. 14): terms `a_d b_d / (‖a‖ ‖b‖)`, score in [−1, 1].
 * @example
 * ```ts
 * import { cosineMetric } from "@cnnlens/fam";
 * import { tf } from "@cnnlens/core";
 * const t = cosineMetric.terms(tf.tensor2d([[3, 4]]), tf.tensor2d([[3, 4]]));
 * const v = await t.data();
 * if (Math.abs(v[0] - 0.36) > 1e-6 || Math.abs(v[1] - 0.64) > 1e-6) throw new Error("9/25, 16/25");
 * ```
 */
export const cosineMetric: SimilarityMetric = {
  name: "cosine",
  // Eq. 14 (FAM): s(Z^A, Z^B) = Σ_n z^A_n z^B_n / (‖Z^A‖·‖Z^B‖)
  terms: (a, b) => tf.div(tf.mul(a, b), tf.mul(rowNorms(a), rowNorms(b))),
  scores: (a, b) => tf.matMul(tf.div(a, rowNorms(a)), tf.div(b, rowNorms(b)), false, true),
};

/**
 * Negative squared Euclidean distance: terms `−(a_d − b_d)²`, score ≤ 0 (0 for identical embeddings).
 * @example
 * ```ts
 * import { euclideanMetric } from "@cnnlens/fam";
 * import { tf } from "@cnnlens/core";
 * const t = euclideanMetric.terms(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]]));
 * const v = await t.data();
 * if (v[0] !== -1 || v[1] !== -4) throw new Error("−1, −4");
 * ```
 */
export const euclideanMetric: SimilarityMetric = {
  name: "euclidean",
  terms: (a, b) => tf.neg(tf.square(tf.sub(a, b))),
  scores: (a, b) => {
    // −‖a − b‖² = 2 a·b − ‖a‖² − ‖b‖²
    const aa = tf.sum(tf.square(a), 1, true);
    const bb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    return tf.sub(tf.mul(2, tf.matMul(a, b, false, true)), tf.add(aa, bb));
  },
};

/**
 * Any score that is a sum over embedding entries, from a function giving its per-entry terms (the hook
 * for metrics FAM does not ship). Contributions are then `t_d / |Σ_d t_d|`, averaged over references.
 * @param name Name for reports.
 * @param terms Per-entry terms of P pairs: ([P, D], [P, D]) → [P, D], written with tfjs ops.
 * @returns A metric.
 * @example
 * ```ts
 * import { additiveMetric } from "@cnnlens/fam";
 * import { tf } from "@cnnlens/core";
 * const dot = additiveMetric("dot", (a, b) => tf.mul(a, b));
 * const v = await dot.terms(tf.tensor2d([[1, 2]]), tf.tensor2d([[3, 4]])).data();
 * if (v[0] !== 3 || v[1] !== 8) throw new Error("3, 8");
 * ```
 */
export function additiveMetric(name: string, terms: (a: Tensor, b: Tensor) => Tensor): SimilarityMetric {
  return { name, terms };
}

/**
 * The metric for a choice.
 * @param choice `cosine`, `euclidean` or a metric.
 * @returns The metric.
 * @example
 * ```ts
 * import { resolveMetric } from "@cnnlens/fam";
 * if (resolveMetric("euclidean").name !== "euclidean") throw new Error();
 * ```
 */
export function resolveMetric(choice: MetricChoice = "cosine"): SimilarityMetric {
  if (typeof choice === "object") return choice;
  if (choice === "cosine") return cosineMetric;
  if (choice === "euclidean") return euclideanMetric;
  throw new RangeError(
    `Unknown similarity metric '${choice}': use 'cosine', 'euclidean' or additiveMetric()`,
  );
}

/**
 * All scores between two sets of embeddings, through the metric's fast path or its terms.
 * @param metric The metric.
 * @param a [Q, D].
 * @param b [G, D].
 * @returns [Q, G] (a new tensor).
 */
export function scoreMatrix(metric: SimilarityMetric, a: Tensor, b: Tensor): Tensor {
  return tf.tidy(() => {
    if (metric.scores) return metric.scores(a, b);
    const q = a.shape[0];
    const g = b.shape[0];
    const d = a.shape[1]!;
    const aa = tf.reshape(tf.tile(tf.expandDims(a, 1), [1, g, 1]), [q * g, d]);
    const bb = tf.reshape(tf.tile(tf.expandDims(b, 0), [q, 1, 1]), [q * g, d]);
    return tf.reshape(tf.sum(metric.terms(aa, bb), 1), [q, g]);
  });
}
