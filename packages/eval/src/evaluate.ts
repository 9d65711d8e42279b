/**
 * One image, one map, a chosen suite of metrics: what `cnnlens eval` runs per manifest item and method.
 * Returns a flat record of named values ready for {@linkcode EvalRecord.metrics}.
 * @module
 */
import type { Box } from "./box.ts";
import { famFaithfulness, type FamFaithfulnessOptions } from "./confidence.ts";
import { iomFaithfulness, type IomFaithfulnessOptions } from "./iom_protocol.ts";
import { localizationIoU, type LocalizationOptions } from "./localization_iou.ts";
import type { Normalization } from "./normalize.ts";
import { type CurveOptions, deletionCurve, insertionCurve } from "./perturbation_curve.ts";
import { energyProportion } from "./proportion.ts";
import { type EvalRecord, metricValue } from "./records.ts";
import { roadCurve, type RoadOptions } from "./road.ts";
import { scoreBatches } from "./score_batches.ts";
import { checkMapForInput, type InputArray, type SaliencyMap, type ScoreFn } from "./types.ts";

/** The metric groups {@linkcode evaluateMap} can run. */
export const METRIC_IDS = ["proportion", "iou", "fam", "iom", "deletion", "insertion", "road"] as const;

/** One metric group. */
export type MetricId = typeof METRIC_IDS[number];

/** Options of {@linkcode evaluateMap}. */
export interface EvaluateOptions {
  /** Groups to run, e.g. `["proportion", "iou", "fam"]`. */
  metrics: readonly MetricId[];
  /** Ground-truth boxes in the input's pixels (needed by `proportion` and `iou`; see `scaleBox`). */
  boxes?: readonly Box[];
  /** `proportion` and `iou` normalisation. @default "minmax" */
  localizationNormalize?: Normalization;
  /** `iou` threshold. @default 0.2 */
  iouThreshold?: number;
  /** `fam` options. */
  fam?: Omit<FamFaithfulnessOptions, "baseScore">;
  /** `iom` options. */
  iom?: Omit<IomFaithfulnessOptions, "baseScore">;
  /** `deletion` options (baseline default zeros). */
  deletion?: CurveOptions;
  /** `insertion` options (baseline default blur). */
  insertion?: CurveOptions;
  /** `road` options; both orders are run. */
  road?: Omit<RoadOptions, "order">;
  /** `Y`, the score on the unperturbed input, when known. */
  baseScore?: number;
}

function pct(p: number): string {
  return String(Math.round(p * 1000) / 10);
}

/**
 * Runs a metric suite on one image and one map. Value names (all per image; average them with
 * `summarize`):
 * - always: `score` (`Y`, the decision on the unperturbed input);
 * - `proportion`: `proportion` (Eq. 19, FAM);
 * - `iou`: `iou` (Eq. 20, FAM; max over ground-truth boxes);
 * - `fam`: `masked_score` (`O` on `X ⊙ norm(S)`), `average_drop` and `increase_in_confidence` (Eqs. 21-22
 *   terms: their means over images are AD and IC, as fractions);
 * - `iom`: `area`, `value`, `explanation_score` (`E = 0.5·X + 0.5·S`; drives %Win), `average_drop_e`,
 *   `perturbed_score`, `confidence_drop` (IOM section 8.3);
 * - `deletion` / `insertion`: `deletion_auc` / `insertion_auc`;
 * - `road`: `road_morf_p<P>` and `road_lerf_p<P>` per percentile (P in percent), `road_morf_mean`,
 *   `road_lerf_mean` (mean score over the percentiles), `road_residual` (largest solver residual).
 *
 * Non-finite values become `null`.
 *
 * @param input `X`, `[C, H, W]`, in the space the callback expects.
 * @param map The method's map at the input's resolution, `[H, W]` or `[C, H, W]`.
 * @param score The model's decision for a batch.
 * @param options Which groups, boxes, and per-group options.
 * @returns Named values.
 * @throws {RangeError} If a group is unknown, or `proportion`/`iou` are asked for without boxes.
 * @example
 * ```ts
 * import { evaluateMap } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const s = { data: new Float32Array([1, 0, 0, 0]), shape: [2, 2] };
 * const sum = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0));
 * const r = await evaluateMap(x, s, sum, { metrics: ["proportion", "fam"], boxes: [{ x0: 0, y0: 0, x1: 1, y1: 1 }] });
 * assert.deepEqual([r.score, r.proportion, r.masked_score, r.average_drop], [4, 1, 1, 0.75]);
 * ```
 */
export async function evaluateMap(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: EvaluateOptions,
): Promise<EvalRecord["metrics"]> {
  checkMapForInput(input, map);
  const want = new Set<MetricId>();
  for (const m of options.metrics) {
    if (!(METRIC_IDS as readonly string[]).includes(m)) {
      throw new RangeError(`Unknown metric '${m}': use ${METRIC_IDS.join(", ")}`);
    }
    want.add(m);
  }
  if ((want.has("proportion") || want.has("iou")) && options.boxes === undefined) {
    throw new RangeError("Metrics 'proportion' and 'iou' need ground-truth boxes (the manifest's \"boxes\")");
  }
  const out: Record<string, number | null> = {};
  const y = options.baseScore ?? (await scoreBatches(score, 1, () => input.data, 1))[0];
  out.score = metricValue(y);
  const loc: LocalizationOptions = {
    normalize: options.localizationNormalize ?? "minmax",
    threshold: options.iouThreshold ?? 0.2,
  };
  if (want.has("proportion")) out.proportion = metricValue(energyProportion(map, options.boxes!, loc));
  if (want.has("iou")) out.iou = metricValue(localizationIoU(map, options.boxes!, loc).iou);
  if (want.has("fam")) {
    const r = await famFaithfulness(input, map, score, { ...options.fam, baseScore: y });
    out.masked_score = metricValue(r.maskedScore);
    out.average_drop = metricValue(r.drop);
    out.increase_in_confidence = metricValue(r.increase);
  }
  if (want.has("iom")) {
    const r = await iomFaithfulness(input, map, score, { ...options.iom, baseScore: y });
    out.area = metricValue(r.area);
    out.value = metricValue(r.value);
    out.explanation_score = metricValue(r.explanationScore);
    out.average_drop_e = metricValue(r.averageDrop);
    out.perturbed_score = metricValue(r.perturbedScore);
    out.confidence_drop = metricValue(r.confidenceDrop);
  }
  if (want.has("deletion")) {
    out.deletion_auc = metricValue((await deletionCurve(input, map, score, options.deletion)).auc);
  }
  if (want.has("insertion")) {
    out.insertion_auc = metricValue((await insertionCurve(input, map, score, options.insertion)).auc);
  }
  if (want.has("road")) {
    let residual = 0;
    for (const order of ["most-first", "least-first"] as const) {
      const tag = order === "most-first" ? "morf" : "lerf";
      const r = await roadCurve(input, map, score, { ...options.road, order });
      r.percentiles.forEach((p, j) => out[`road_${tag}_p${pct(p)}`] = metricValue(r.scores[j]));
      out[`road_${tag}_mean`] = metricValue(r.scores.reduce((a, b) => a + b, 0) / r.scores.length);
      residual = Math.max(residual, ...r.residuals);
    }
    out.road_residual = metricValue(residual);
  }
  return out;
}
