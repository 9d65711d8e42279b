/**
 * The cascading model-parameter randomisation test (Adebayo et al., "Sanity Checks for Saliency Maps",
 * 2018): randomise the layers from the top (logits) down, one more at a time, and measure how similar
 * each map stays to the original. A method that explains the model should lose similarity quickly.
 * @module
 */
import { pearson, spearman } from "./correlation.ts";
import { normalizeMap, pixelRelevance } from "./normalize.ts";
import { ssim } from "./ssim.ts";
import { dimsOf, type SaliencyMap } from "./types.ts";

/** Options of {@linkcode cascadingRandomization}. */
export interface RandomizationOptions {
  /** Compare absolute values of the maps (the paper reports both). @default false */
  absolute?: boolean;
  /** Also compute SSIM of the min-max normalised maps (needs maps of at least 7×7). @default true */
  ssim?: boolean;
}

/** Similarity after randomising the top `k` layers. */
export interface RandomizationStep {
  /** Number of layers randomised (1 = only `layers[0]`). */
  k: number;
  /** The layer randomised at this step (`layers[k − 1]`). */
  layer: string;
  /** Spearman rank correlation with the original map (per pixel). */
  spearman: number;
  /** Pearson correlation with the original map. */
  pearson: number;
  /** SSIM of the min-max normalised maps (when requested). */
  ssim?: number;
}

/**
 * Runs the cascade: `mapFor(0)` must give the original model's map, `mapFor(k)` the map of the same
 * input and decision with the top `k` layers of `layers` (ordered top-down: `layers[0]` is the layer
 * nearest the output) re-initialised. Maps are compared per pixel (`[C, H, W]` maps summed over
 * channels), optionally in absolute value.
 *
 * @param mapFor Produces the map with the top `k` layers randomised (`k = 0..layers.length`), called in
 *   increasing `k` so the caller can randomise cumulatively.
 * @param layers Names of the layers, top-down.
 * @param options Absolute values, SSIM.
 * @returns One step per layer.
 * @throws {RangeError} If a map's shape differs from the original's.
 * @example
 * ```ts
 * import { cascadingRandomization } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const base = [1, 2, 3, 4];
 * const maps = [base, [1, 2, 4, 3], [4, 3, 2, 1]];
 * const steps = await cascadingRandomization(
 *   (k) => ({ data: new Float32Array(maps[k]), shape: [2, 2] }), ["fc", "conv2"], { ssim: false });
 * assert.deepEqual(steps.map((s) => s.spearman), [0.8, -1]);
 * ```
 */
export async function cascadingRandomization(
  mapFor: (k: number) => Promise<SaliencyMap> | SaliencyMap,
  layers: readonly string[],
  options: RandomizationOptions = {},
): Promise<RandomizationStep[]> {
  const prep = (m: SaliencyMap) => {
    const { height, width } = dimsOf(m);
    const rel = pixelRelevance(normalizeMap(m, "none"));
    if (options.absolute) { for (let i = 0; i < rel.length; i++) rel[i] = Math.abs(rel[i]); }
    return { data: rel, shape: [height, width] };
  };
  const original = await mapFor(0);
  const ref = prep(original);
  const wantSsim = options.ssim ?? true;
  const refNorm = wantSsim ? normalizeMap(ref, "minmax") : ref;
  const steps: RandomizationStep[] = [];
  for (let k = 1; k <= layers.length; k++) {
    const m = await mapFor(k);
    if (m.shape.join() !== original.shape.join()) {
      throw new RangeError(
        `Randomised map ${k} has shape [${m.shape.join(", ")}], the original [${original.shape.join(", ")}]`,
      );
    }
    const cur = prep(m);
    const step: RandomizationStep = {
      k,
      layer: layers[k - 1],
      spearman: spearman(ref.data, cur.data),
      pearson: pearson(ref.data, cur.data),
    };
    if (wantSsim) step.ssim = ssim(refNorm, normalizeMap(cur, "minmax"), { dataRange: 1 });
    steps.push(step);
  }
  return steps;
}
