/**
 * Deletion and insertion curves with their area under the curve (RISE, Petsiuk et al. 2018): remove (or
 * insert) pixels in order of decreasing relevance and follow the model's score.
 * @module
 */
import { gaussianBlur } from "./blur.ts";
import { rankPixels } from "./pixel_order.ts";
import { scoreBatches } from "./score_batches.ts";
import { checkMapForInput, dimsOf, type InputArray, type SaliencyMap, type ScoreFn } from "./types.ts";

/** What removed pixels become (deletion) or what the image starts as (insertion). */
export type Baseline = "zero" | "blur" | InputArray;

/** Options of {@linkcode deletionCurve} and {@linkcode insertionCurve}. */
export interface CurveOptions {
  /** Pixels changed per step (RISE: 224 on 224×224 images). @default the image width */
  step?: number;
  /**
   * `"zero"` (zeros in the callback's input space), `"blur"` (a Gaussian blur of the input) or an explicit
   * `[C, H, W]` array. @default "zero" for deletion, "blur" for insertion (RISE's choices)
   */
  baseline?: Baseline;
  /** Blur sigma in pixels. @default 5 */
  blurSigma?: number;
  /** Blur kernel width, odd. @default 11 */
  blurKernelSize?: number;
  /** Inputs per callback call. @default 16 */
  batchSize?: number;
}

/** A perturbation curve. */
export interface Curve {
  /** Fraction of pixels changed at each point: `min(k · step, H·W) / (H·W)`, from 0 to 1. */
  fractions: number[];
  /** The model's score at each point. */
  scores: number[];
  /** Trapezoidal area under `scores` over `fractions` (see {@linkcode trapezoidAuc}). */
  auc: number;
}

/**
 * Area under a sampled curve by the trapezoidal rule: `Σ_k (x_{k+1} − x_k)(y_k + y_{k+1}) / 2`. With
 * equal steps on [0, 1] this is RISE's `auc` (`(Σ y − y_0/2 − y_K/2) / K`); a shorter last step is
 * weighted by its true width.
 *
 * @param x Abscissae, non-decreasing.
 * @param y Ordinates, same length.
 * @returns The area (0 for fewer than two points).
 * @throws {RangeError} If lengths differ.
 * @example
 * ```ts
 * import { trapezoidAuc } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(trapezoidAuc([0, 0.5, 1], [1, 0.5, 0]), 0.5);
 * ```
 */
export function trapezoidAuc(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) {
    throw new RangeError(`Cannot integrate: ${x.length} x values, ${y.length} y values`);
  }
  let a = 0;
  for (let k = 0; k + 1 < x.length; k++) a += (x[k + 1] - x[k]) * (y[k] + y[k + 1]) / 2;
  return a;
}

function baselineArray(input: InputArray, baseline: Baseline, options: CurveOptions): Float32Array {
  if (baseline === "zero") return new Float32Array(input.data.length);
  if (baseline === "blur") {
    return gaussianBlur(input, { sigma: options.blurSigma ?? 5, kernelSize: options.blurKernelSize ?? 11 });
  }
  if (typeof baseline === "object" && baseline !== null) {
    dimsOf(baseline, "baseline");
    if (baseline.data.length !== input.data.length || baseline.shape.join() !== input.shape.join()) {
      throw new RangeError(
        `Baseline [${baseline.shape.join(", ")}] does not match input [${input.shape.join(", ")}]`,
      );
    }
    return baseline.data;
  }
  throw new RangeError(`Unknown baseline '${String(baseline)}': use "zero", "blur" or a [C, H, W] array`);
}

async function curve(
  kind: "deletion" | "insertion",
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: CurveOptions,
): Promise<Curve> {
  const { input: d } = checkMapForInput(input, map);
  const hw = d.height * d.width;
  const step = options.step ?? d.width;
  if (!Number.isSafeInteger(step) || step < 1) {
    throw new RangeError(`Invalid step ${step}: must be a positive integer`);
  }
  const base = baselineArray(input, options.baseline ?? (kind === "deletion" ? "zero" : "blur"), options);
  const order = rankPixels(map, "most-first");
  // Deletion moves pixels from the input to the baseline; insertion from the baseline to the input.
  const [from, to] = kind === "deletion" ? [input.data, base] : [base, input.data];
  const current = Float32Array.from(from);
  const steps = Math.ceil(hw / step);
  const fractions: number[] = [];
  let done = 0;
  const scores = await scoreBatches(score, steps + 1, (k) => {
    const target = Math.min(k * step, hw);
    for (; done < target; done++) {
      const p = order[done];
      for (let c = 0; c < d.channels; c++) current[c * hw + p] = to[c * hw + p];
    }
    fractions.push(target / hw);
    return current.slice();
  }, options.batchSize ?? 16);
  return { fractions, scores, auc: trapezoidAuc(fractions, scores) };
}

/**
 * Deletion curve (RISE): starting from the image, replace the most relevant pixels by the baseline,
 * `step` pixels at a time (all channels of a pixel together), scoring after each step. A good map makes
 * the score fall fast: lower AUC is better.
 *
 * @param input `X`, `[C, H, W]`, in the space the callback expects.
 * @param map Relevance at the input's resolution (`[H, W]`, or `[C, H, W]` summed per pixel); ties keep
 *   raster order.
 * @param score The model's decision for a batch.
 * @param options Step, baseline (default zeros), batch size.
 * @returns Fractions removed, scores and AUC; `K = ⌈H·W / step⌉ + 1` points.
 * @example
 * ```ts
 * import { deletionCurve } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const m = { data: new Float32Array([4, 3, 2, 1]), shape: [2, 2] };
 * const w = [0.4, 0.3, 0.2, 0.1];
 * const linear = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b, i) => a + b * w[i], 0));
 * const c = await deletionCurve(x, m, linear, { step: 1 });
 * assert.deepEqual(c.scores.map((s) => Math.round(s * 1e6) / 1e6), [1, 0.6, 0.3, 0.1, 0]);
 * ```
 */
export function deletionCurve(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: CurveOptions = {},
): Promise<Curve> {
  return curve("deletion", input, map, score, options);
}

/**
 * Insertion curve (RISE): starting from the baseline (default: the blurred image), put back the most
 * relevant pixels of the image, `step` at a time, scoring after each step. Higher AUC is better.
 *
 * @param input `X`, `[C, H, W]`.
 * @param map Relevance at the input's resolution.
 * @param score The model's decision for a batch.
 * @param options Step, baseline (default blur, sigma 5, kernel 11), batch size.
 * @returns Fractions inserted, scores and AUC.
 * @example
 * ```ts
 * import { insertionCurve } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const m = { data: new Float32Array([4, 3, 2, 1]), shape: [2, 2] };
 * const mean = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0) / 4);
 * const c = await insertionCurve(x, m, mean, { step: 1, baseline: "zero" });
 * assert.deepEqual(c.auc, 0.5); // the score rises linearly from 0 to 1
 * ```
 */
export function insertionCurve(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: CurveOptions = {},
): Promise<Curve> {
  return curve("insertion", input, map, score, options);
}
