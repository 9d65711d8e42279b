/**
 * IOM's comparison protocol (section 8.3, Table 1): Avg Area% and Avg Value of the map, Average Drop on
 * the explanation image `E = 0.5·X + 0.5·S` (after Grad-CAM++), %Win across methods, and Confidence Drop
 * on `X̂ = (1 − I(S′)) ∘ X` (after XGrad-CAM).
 * @module
 */
import { averageDropTerm } from "./confidence.ts";
import { blendWithMap, removeAboveMean } from "./masking.ts";
import { type Normalization, normalizeMap } from "./normalize.ts";
import { scoreBatches } from "./score_batches.ts";
import { checkMapForInput, dimsOf, type InputArray, type SaliencyMap, type ScoreFn } from "./types.ts";

/** Area and mean value of a map's affected region. */
export interface MapArea {
  /** Fraction of map entries that are > 0 ("Avg. Area%" before averaging over images). */
  area: number;
  /** Mean of the entries > 0 (0 when there are none) ("Avg. Value"). */
  value: number;
}

/**
 * The region a map affects: its entries > 0 (IOM section 8.3, "the size of the region affected by the
 * heatmap ... and the mean value within the affected region"). Counted over every entry, so a
 * `[C, H, W]` map counts each channel's pixel separately. Pass the map as the protocol uses it
 * (normalised, negatives zeroed).
 *
 * @param map The map.
 * @returns Area fraction and mean value over the affected region.
 * @example
 * ```ts
 * import { mapArea } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(mapArea({ data: new Float32Array([0, 0.5, 1, 0]), shape: [2, 2] }), { area: 0.5, value: 0.75 });
 * ```
 */
export function mapArea(map: SaliencyMap): MapArea {
  dimsOf(map);
  let n = 0, sum = 0;
  for (let i = 0; i < map.data.length; i++) {
    if (map.data[i] > 0) {
      n++;
      sum += map.data[i];
    }
  }
  return { area: n / map.data.length, value: n === 0 ? 0 : sum / n };
}

/**
 * One image's Confidence Drop term, `(Y − O) / Y` with `O` the score on `X̂` (not clipped at 0: a score
 * that rises gives a negative term). `NaN` when `Y ≤ 0` or a score is not finite. Higher means the map's
 * region mattered more.
 *
 * @param y Score on the image.
 * @param o Score on the perturbed image.
 * @returns The relative drop.
 * @example
 * ```ts
 * import { confidenceDropTerm } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(confidenceDropTerm(1, 0.25), 0.75);
 * ```
 */
export function confidenceDropTerm(y: number, o: number): number {
  if (!(y > 0) || !Number.isFinite(y) || !Number.isFinite(o)) return NaN;
  return (y - o) / y;
}

/** Options of {@linkcode iomFaithfulness}. */
export interface IomFaithfulnessOptions {
  /**
   * Map rescaling first: IOM zeroes its map's negatives "as in the 8 baseline methods", whose maps are
   * ReLU'd and min-max scaled. @default "relu-minmax"
   */
  normalize?: Normalization;
  /** Weight of the map in `E = (1 − w)·X + w·S`. @default 0.5 */
  weight?: number;
  /** `Y` when already known (saves one forward pass). */
  baseScore?: number;
}

/** One image's IOM Table 1 terms. */
export interface IomFaithfulness extends MapArea {
  /** `Y`: score on `X`. */
  score: number;
  /** Score on `E = 0.5·X + 0.5·S` (the input of %Win: the method with the highest wins). */
  explanationScore: number;
  /** Score on `X̂ = (1 − I(S′)) ∘ X`. */
  perturbedScore: number;
  /** `max(0, Y − O_E) / Y` ("Avg. Drop%" before averaging). */
  averageDrop: number;
  /** `(Y − O_X̂) / Y` ("Confi. Drop" before averaging). */
  confidenceDrop: number;
}

/**
 * IOM section 8.3's protocol for one image and one method: scores `X`, `E = 0.5·X + 0.5·S` and
 * `X̂ = (1 − I(S′)) ∘ X` in one batch, and measures the map's affected area and value. `S` is the map
 * after `normalize` (default: negatives zeroed, min-max scaled to [0, 1]).
 *
 * `E` mixes the map into the input as given, so pass the input in the space where that mix is meant
 * (e.g. pixels in [0, 1]) and let the callback apply the model's own normalisation.
 *
 * @param input `X`, `[C, H, W]`.
 * @param map The method's map at the input's resolution, `[H, W]` or `[C, H, W]` (IOM: one per colour).
 * @param score The model's decision for a batch.
 * @param options Normalisation, blend weight, known `Y`.
 * @returns The scores and the per-image terms.
 * @example
 * ```ts
 * import { iomFaithfulness } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const s = { data: new Float32Array([0, 0, 0, 1]), shape: [2, 2] };
 * const sum = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0));
 * const r = await iomFaithfulness(x, s, sum);
 * // E = [.5, .5, .5, 1] → 2.5; X̂ zeroes the one pixel above the mean 0.25 → 3.
 * assert.deepEqual([r.score, r.explanationScore, r.perturbedScore, r.area], [4, 2.5, 3, 0.25]);
 * ```
 */
export async function iomFaithfulness(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: IomFaithfulnessOptions = {},
): Promise<IomFaithfulness> {
  checkMapForInput(input, map);
  const s = normalizeMap(map, options.normalize ?? "relu-minmax");
  const e = blendWithMap(input, s, options.weight ?? 0.5);
  const xHat = removeAboveMean(input, s);
  const known = options.baseScore;
  const batch = known === undefined ? [input.data, e, xHat] : [e, xHat];
  const scores = await scoreBatches(score, batch.length, (i) => batch[i], batch.length);
  const [y, oE, oX] = known === undefined ? scores : [known, ...scores];
  return {
    score: y,
    explanationScore: oE,
    perturbedScore: oX,
    averageDrop: averageDropTerm(y, oE),
    confidenceDrop: confidenceDropTerm(y, oX),
    ...mapArea(s),
  };
}

/**
 * %Win (IOM section 8.3 after Grad-CAM++): for each image, the method whose explanation image `E` keeps
 * the most confidence (highest score on `E`; the same `Y` for every method, so also the least drop)
 * wins. Ties split the win equally. Per image, methods with a non-finite score are left out; images with
 * none are not counted. The fractions sum to 1 over the methods.
 *
 * @param explanationScores Per method, the score on `E` for each image (same image order and count).
 * @returns Per method, the fraction of images it won.
 * @throws {RangeError} If the methods have different numbers of images.
 * @example
 * ```ts
 * import { percentWin } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const w = percentWin({ a: [0.9, 0.1, 0.5], b: [0.2, 0.3, 0.5] });
 * assert.deepEqual(w, { a: 0.5, b: 0.5 }); // a wins image 0, b image 1, image 2 is a tie
 * ```
 */
export function percentWin(explanationScores: Record<string, ArrayLike<number>>): Record<string, number> {
  const methods = Object.keys(explanationScores);
  const out: Record<string, number> = Object.fromEntries(methods.map((m) => [m, 0]));
  if (methods.length === 0) return out;
  const n = explanationScores[methods[0]].length;
  for (const m of methods) {
    if (explanationScores[m].length !== n) {
      throw new RangeError(
        `Cannot compute %Win: method '${m}' has ${explanationScores[m].length} images, '${
          methods[0]
        }' has ${n}`,
      );
    }
  }
  let counted = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    const winners: string[] = [];
    for (const m of methods) {
      const v = explanationScores[m][i];
      if (!Number.isFinite(v)) continue;
      if (v > best) {
        best = v;
        winners.length = 0;
        winners.push(m);
      } else if (v === best) winners.push(m);
    }
    if (winners.length === 0) continue;
    counted++;
    for (const m of winners) out[m] += 1 / winners.length;
  }
  if (counted > 0) { for (const m of methods) out[m] /= counted; }
  return out;
}
