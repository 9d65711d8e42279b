/**
 * Average Drop and Increase in Confidence (FAM Eqs. 21-22, after Grad-CAM++): how the model's score
 * changes when the image is masked by its explanation.
 * @module
 */
import { multiplyByMap } from "./masking.ts";
import { type Normalization, normalizeMap } from "./normalize.ts";
import { scoreBatches } from "./score_batches.ts";
import { checkMapForInput, type InputArray, type SaliencyMap, type ScoreFn } from "./types.ts";

/**
 * One image's Average Drop term, `max(0, Y − O) / Y` (Eq. 21 before the mean). Undefined (`NaN`) when
 * `Y ≤ 0` or a score is not finite: relative drops need a positive score (a probability, or a positive
 * similarity), and such images are left out of the mean.
 *
 * @param y Score on the image.
 * @param o Score on the masked image.
 * @returns The term in [0, 1], or `NaN`.
 * @example
 * ```ts
 * import { averageDropTerm } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(averageDropTerm(1, 0.75), 0.25);
 * assert.deepEqual(averageDropTerm(0.8, 0.9), 0);
 * ```
 */
export function averageDropTerm(y: number, o: number): number {
  if (!(y > 0) || !Number.isFinite(y) || !Number.isFinite(o)) return NaN;
  return Math.max(0, y - o) / y;
}

function checkPairs(ys: ArrayLike<number>, os: ArrayLike<number>, what: string): void {
  if (ys.length !== os.length) {
    throw new RangeError(`Cannot compute ${what}: ${ys.length} scores but ${os.length} masked scores`);
  }
}

/**
 * Average Drop (Eq. 21, FAM): `(1/N) Σ_i max(0, Y_i − O_i) / Y_i`, as a fraction (the paper's `× 100`
 * gives percent). Images with `Y_i ≤ 0` are left out ({@linkcode averageDropTerm}); `NaN` if none is left.
 * Lower is better.
 *
 * @param scores `Y_i`: scores on the images.
 * @param masked `O_i`: scores on the masked images.
 * @returns The mean drop in [0, 1].
 * @throws {RangeError} If the lengths differ.
 * @example
 * ```ts
 * import { averageDrop } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(averageDrop([1, 0.5], [0.5, 0.75]), 0.25); // (0.5 + 0) / 2
 * ```
 */
export function averageDrop(scores: ArrayLike<number>, masked: ArrayLike<number>): number {
  checkPairs(scores, masked, "Average Drop");
  let sum = 0, n = 0;
  for (let i = 0; i < scores.length; i++) {
    const t = averageDropTerm(scores[i], masked[i]); // Eq. 21 (FAM)
    if (Number.isFinite(t)) {
      sum += t;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

/**
 * Increase in Confidence (Eq. 22, FAM): `(1/N) Σ_i 1[Y_i < O_i]`, as a fraction. Pairs with a non-finite
 * score are left out; `NaN` for no pairs. Higher is better.
 *
 * @param scores `Y_i`.
 * @param masked `O_i`.
 * @returns The fraction of images whose score rose when masked.
 * @throws {RangeError} If the lengths differ.
 * @example
 * ```ts
 * import { increaseInConfidence } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(increaseInConfidence([1, 0.5, 0.2], [0.5, 0.75, 0.2]), 1 / 3); // ties do not count
 * ```
 */
export function increaseInConfidence(scores: ArrayLike<number>, masked: ArrayLike<number>): number {
  checkPairs(scores, masked, "Increase in Confidence");
  let sum = 0, n = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]) || !Number.isFinite(masked[i])) continue;
    sum += scores[i] < masked[i] ? 1 : 0; // Eq. 22 (FAM)
    n++;
  }
  return n === 0 ? NaN : sum / n;
}

/** Options of {@linkcode famFaithfulness}. */
export interface FamFaithfulnessOptions {
  /** Map rescaling before masking (FAM masks with the min-max normalised map). @default "minmax" */
  normalize?: Normalization;
  /** `Y` when already known (saves one forward pass). */
  baseScore?: number;
}

/** One image's FAM faithfulness terms. */
export interface FamFaithfulness {
  /** `Y`: score on the image. */
  score: number;
  /** `O`: score on `X ⊙ norm(S)`. */
  maskedScore: number;
  /** `max(0, Y − O) / Y` (NaN when `Y ≤ 0`). */
  drop: number;
  /** `1` if `Y < O`, else `0`. */
  increase: number;
}

/**
 * Protocol of FAM Eqs. 21-22 for one image: scores the image and the image masked by its normalised
 * map, `X ⊙ norm(S)`, in one batch. Average the terms over images with {@linkcode averageDrop} /
 * {@linkcode increaseInConfidence} (or the record summary).
 *
 * @param input `X`, `[C, H, W]`, in the space the callback expects.
 * @param map `S` at the input's resolution, `[H, W]` or `[C, H, W]`.
 * @param score The model's decision for a batch.
 * @param options Normalisation and a known `Y`.
 * @returns `Y`, `O` and the two terms.
 * @example
 * ```ts
 * import { famFaithfulness } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const s = { data: new Float32Array([0, 1, 0, 1]), shape: [2, 2] };
 * const sum = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0));
 * const r = await famFaithfulness(x, s, sum);
 * assert.deepEqual([r.score, r.maskedScore, r.drop, r.increase], [4, 2, 0.5, 0]);
 * ```
 */
export async function famFaithfulness(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: FamFaithfulnessOptions = {},
): Promise<FamFaithfulness> {
  checkMapForInput(input, map);
  const s = normalizeMap(map, options.normalize ?? "minmax");
  const masked = multiplyByMap(input, s);
  let y = options.baseScore, o: number;
  if (y === undefined) [y, o] = await scoreBatches(score, 2, (i) => i === 0 ? input.data : masked, 2);
  else [o] = await scoreBatches(score, 1, () => masked, 1);
  return { score: y, maskedScore: o, drop: averageDropTerm(y, o), increase: y < o ? 1 : 0 };
}
