/**
 * @cnnlens/gap: gradient-based activation propagation (gAP) and the hierarchical decomposition of a CNN
 * decision into an evidence tree (Cheng et al., "Deeply Explain CNN via Hierarchical Decomposition").
 *
 * - {@linkcode decompose} / {@linkcode decomposeMany}: a decision → a layer's per-channel activation maps
 *   `A_k = G_k ⊙ F_k`, contributions `α_k` (AA, MA, AG, MG) and peaks, one batched backward pass.
 * - {@linkcode hierarchy}: the tree of the CLI's `tree.json` ({@linkcode treeToJson}); {@linkcode expandNode}
 *   decomposes any node later (the interactive tree); {@linkcode defaultLayers} picks the stage layers.
 * - Sanity (section 4.1): {@linkcode ablationGroundTruth}, {@linkcode pearson}, {@linkcode maskingCurve},
 *   {@linkcode sanityChain}, {@linkcode sparseSurrogate}, {@linkcode discriminativeDegree},
 *   {@linkcode timeGapVsAblation}.
 * @module
 */
export * from "./decompose.ts";
export * from "./hierarchy.ts";
export * from "./stage_layers.ts";
export * from "./nms.ts";
export * from "./receptive_field.ts";
export * from "./backward_rules.ts";
export * from "./ablation.ts";
export * from "./pearson.ts";
export * from "./sanity_chain.ts";
export * from "./sparse_surrogate.ts";
export * from "./discriminative_degree.ts";
export * from "./timing.ts";
