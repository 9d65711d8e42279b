/**
 * @cnnlens/fam: Feature Activation Maps (Liao, Gao & Zhang) — visual explanations for models that decide
 * by similarity instead of a classifier (few-shot episodes, memory-bank kNN, retrieval, face verification).
 *
 * Per-channel contribution weights to a similarity score (Eq. 15 for cosine, averaged over K references by
 * Eq. 11; negative squared Euclidean; any additive score), min-max normalised (Eq. 12) and combined with
 * the layer's activation maps (Eq. 13); a transformation module between the pooled features and the
 * compared embedding is mapped back by Eq. 18. Forward passes only.
 *
 * ```ts
 * import { fam } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const [q, r] = [tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 1), tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2)];
 * const res = await fam(g, q, r, { embedding: "fc" });
 * if (res.contributions.length !== 6 || res.transform !== "fc") throw new Error();
 * ```
 * @module
 */
export * from "./src/metric.ts";
export * from "./src/pooling.ts";
export { FAM_PATH, type FamPathRule, sumPerChannel } from "./src/path_rules.ts";
export { type FamOptions, type FamPlan, famPlan, type Features, forwardFeatures } from "./src/plan.ts";
export type { FamMap, FamResult } from "./src/result.ts";
export { fam } from "./src/fam.ts";
export * from "./src/contribution_weights.ts";
export * from "./src/embed.ts";
export * from "./src/episode.ts";
export * from "./src/knn_explain.ts";
export * from "./src/retrieval_explain.ts";
