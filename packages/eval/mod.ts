/**
 * @cnnlens/eval: the papers' evaluation metrics as pure functions over plain typed arrays, and protocols
 * on top that take the model as a batch-scoring callback (`(inputs: Float32Array[]) => Promise<number[]>`),
 * so nothing here depends on tfjs or a particular model.
 *
 * - Localisation: {@linkcode energyProportion} (FAM Eq. 19), {@linkcode localizationIoU} (FAM Eq. 20).
 * - Faithfulness: {@linkcode averageDrop} / {@linkcode increaseInConfidence} (FAM Eqs. 21-22) and the
 *   {@linkcode famFaithfulness} protocol; IOM section 8.3 ({@linkcode iomFaithfulness},
 *   {@linkcode percentWin}); {@linkcode deletionCurve} / {@linkcode insertionCurve}; ROAD
 *   ({@linkcode roadCurve}, {@linkcode noisyLinearImpute}).
 * - Sanity: {@linkcode pearson}, {@linkcode spearman}, {@linkcode ssim},
 *   {@linkcode cascadingRandomization}.
 * - Runs: {@linkcode parseManifest}, {@linkcode shard}, {@linkcode evaluateMap}, {@linkcode makeResults},
 *   {@linkcode mergeShards}, JSON / CSV / HTML writers.
 * @module
 */
export * from "./src/types.ts";
export * from "./src/normalize.ts";
export * from "./src/box.ts";
export * from "./src/components.ts";
export * from "./src/proportion.ts";
export * from "./src/localization_iou.ts";
export * from "./src/score_batches.ts";
export * from "./src/masking.ts";
export * from "./src/confidence.ts";
export * from "./src/iom_protocol.ts";
export * from "./src/pixel_order.ts";
export * from "./src/blur.ts";
export * from "./src/perturbation_curve.ts";
export * from "./src/random.ts";
export * from "./src/sparse.ts";
export * from "./src/road.ts";
export * from "./src/correlation.ts";
export * from "./src/ssim.ts";
export * from "./src/randomization.ts";
export * from "./src/manifest.ts";
export * from "./src/shard.ts";
export * from "./src/records.ts";
export * from "./src/merge.ts";
export * from "./src/report.ts";
export * from "./src/evaluate.ts";
