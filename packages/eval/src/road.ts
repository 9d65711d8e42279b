/**
 * ROAD — RemOve And Debias (Rong et al., ICML 2022): remove a percentile of the pixels (most or least
 * relevant first), fill them by noisy linear imputation, and follow the model's score. The imputation
 * leaves no sharp mask edges for the model to read, so the score reflects the removed information rather
 * than the removal's shape.
 * @module
 */
import { type PixelOrder, rankPixels } from "./pixel_order.ts";
import { seededRandom } from "./random.ts";
import { scoreBatches } from "./score_batches.ts";
import { conjugateGradient, incompleteLU } from "./sparse.ts";
import { checkMapForInput, dimsOf, type InputArray, type SaliencyMap, type ScoreFn } from "./types.ts";

/** Neighbour offsets `[dy, dx]` and weights of ROAD's linear imputation: 1/6 direct, 1/12 diagonal. */
export const ROAD_NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = Object.freeze(
  [
    [-1, -1, 1 / 12],
    [-1, 0, 1 / 6],
    [-1, 1, 1 / 12],
    [0, -1, 1 / 6],
    [0, 1, 1 / 6],
    [1, -1, 1 / 12],
    [1, 0, 1 / 6],
    [1, 1, 1 / 12],
  ] as const,
);

/** Options of {@linkcode noisyLinearImpute}. */
export interface ImputeOptions {
  /** Standard deviation of the Gaussian noise added to each imputed value (ROAD: 0.01). @default 0.01 */
  noise?: number;
  /** Seed of the noise. @default 0 */
  seed?: number;
  /**
   * Relative residual at which the solver stops (1e-5 leaves errors below 1e-3 of the image's range on
   * 224×224 images with 90 % removed, well under ROAD's noise). @default 1e-5
   */
  tolerance?: number;
  /** Solver iteration cap per channel. @default 10 · unknowns + 100 */
  maxIterations?: number;
}

/** What {@linkcode noisyLinearImpute} returns. */
export interface Imputed {
  /** The image with removed pixels filled, `[C, H, W]` like the input. */
  data: Float32Array;
  /** Largest relative residual of the linear system over the channels (before the noise is added). */
  residual: number;
  /** Most solver iterations over the channels. */
  iterations: number;
}

/**
 * ROAD's noisy linear imputation. Each removed pixel takes the weighted average of its in-image
 * 8-neighbours, `x_u = Σ_v w_uv x_v / Σ_v w_uv` (weights {@linkcode ROAD_NEIGHBOURS}; the sum runs over
 * the neighbours inside the image, so border pixels renormalise), where neighbours that are themselves
 * removed are unknowns. All removed pixels together form the sparse linear system
 * `(Σ_v w_uv) x_u − Σ_{v removed} w_uv x_v = Σ_{v kept} w_uv X_v`, symmetric positive definite as long as
 * one pixel is kept, solved per channel by conjugate gradients preconditioned with one shared modified
 * incomplete LU factorisation (see `sparse.ts`). Gaussian noise of standard deviation `noise` (seeded) is
 * then added to the imputed values. If every pixel is removed, the system has no data and the pixels
 * become `0 + noise`.
 *
 * @param input `[C, H, W]` image.
 * @param removed `H × W` mask, non-zero = removed.
 * @param options Noise, seed, solver settings.
 * @returns The imputed image and the solver's residual.
 * @throws {RangeError} If the mask's size disagrees with the image.
 * @example
 * ```ts
 * import { noisyLinearImpute } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * // A linear ramp: the hole in the middle is filled back exactly.
 * const x = { data: new Float32Array([0, 1, 2, 1, 2, 3, 2, 3, 4]), shape: [1, 3, 3] };
 * const hole = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0]);
 * const r = noisyLinearImpute(x, hole, { noise: 0 });
 * assert.deepEqual(Math.round(r.data[4] * 1e6) / 1e6, 2);
 * ```
 */
export function noisyLinearImpute(
  input: InputArray,
  removed: ArrayLike<number>,
  options: ImputeOptions = {},
): Imputed {
  const { channels, height, width } = dimsOf(input, "input");
  const hw = height * width;
  if (removed.length !== hw) {
    throw new RangeError(`Cannot impute: mask has ${removed.length} values, image is ${height}×${width}`);
  }
  const noise = options.noise ?? 0.01;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`Invalid noise ${noise}: must be ≥ 0`);
  const vid = new Int32Array(hw).fill(-1);
  const unknowns: number[] = [];
  for (let p = 0; p < hw; p++) if (removed[p]) vid[p] = unknowns.push(p) - 1;
  const n = unknowns.length;
  const out = Float32Array.from(input.data);
  if (n === 0) return { data: out, residual: 0, iterations: 0 };

  // The system's rows in raster order; neighbours enumerated in raster order keep columns sorted.
  const rowPtr = new Int32Array(n + 1);
  const colIdx = new Int32Array(9 * n), vals = new Float64Array(9 * n);
  const rhs = Array.from({ length: channels }, () => new Float64Array(n));
  let nnz = 0;
  for (let u = 0; u < n; u++) {
    const p = unknowns[u], y = (p / width) | 0, x = p - y * width;
    let diag = 0, diagAt = -1;
    for (let k = 0; k < ROAD_NEIGHBOURS.length; k++) {
      const [dy, dx, w] = ROAD_NEIGHBOURS[k];
      if (k === 4) { // the pixel itself comes between (0, −1) and (0, 1) in raster order
        diagAt = nnz;
        colIdx[nnz++] = u;
      }
      const ny = y + dy, nx = x + dx;
      if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
      const q = ny * width + nx;
      diag += w;
      if (vid[q] >= 0) {
        colIdx[nnz] = vid[q];
        vals[nnz++] = -w;
      } else {
        for (let c = 0; c < channels; c++) rhs[c][u] += w * input.data[c * hw + q];
      }
    }
    vals[diagAt] = diag;
    rowPtr[u + 1] = nnz;
  }
  const rng = seededRandom(options.seed ?? 0);
  let residual = 0, iterations = 0;
  const allRemoved = n === hw;
  const a = allRemoved ? null : { n, rowPtr, colIdx: colIdx.subarray(0, nnz), values: vals.subarray(0, nnz) };
  const precond = a === null ? null : incompleteLU(a); // one factor serves every channel
  for (let c = 0; c < channels; c++) {
    let sol: Float64Array;
    if (a === null) sol = new Float64Array(n);
    else {
      // Start from the mean of the kept pixels.
      let mean = 0;
      for (let p = 0; p < hw; p++) if (vid[p] < 0) mean += input.data[c * hw + p];
      mean /= hw - n;
      const r = conjugateGradient(a, rhs[c], {
        tolerance: options.tolerance ?? 1e-5,
        maxIterations: options.maxIterations,
        x0: new Float64Array(n).fill(mean),
        preconditioner: precond!,
      });
      sol = r.x;
      residual = Math.max(residual, r.residual);
      iterations = Math.max(iterations, r.iterations);
    }
    for (let u = 0; u < n; u++) out[c * hw + unknowns[u]] = sol[u] + (noise > 0 ? noise * rng.normal() : 0);
  }
  return { data: out, residual, iterations };
}

/** Options of {@linkcode roadCurve}. */
export interface RoadOptions extends Omit<ImputeOptions, "seed"> {
  /** Remove the most relevant pixels first (MoRF) or the least relevant (LeRF). @default "most-first" */
  order?: PixelOrder;
  /** Fractions of pixels removed, each in [0, 1]. @default [0.1, 0.2, …, 0.9] */
  percentiles?: readonly number[];
  /** Seed of the imputation noise; percentile `j` uses its own stream. @default 0 */
  seed?: number;
  /** Inputs per callback call. @default 16 */
  batchSize?: number;
}

/** A ROAD curve. */
export interface RoadCurve {
  /** The order used. */
  order: PixelOrder;
  /** Fractions removed. */
  percentiles: number[];
  /** Score on the imputed image at each percentile. */
  scores: number[];
  /** The imputation system's relative residual at each percentile. */
  residuals: number[];
}

/**
 * ROAD for one image: for each percentile `p`, remove the `round(p · H · W)` first pixels in the chosen
 * order (ties in raster order), impute them with {@linkcode noisyLinearImpute}, and score the result. MoRF:
 * a faithful map makes the score fall fast; LeRF: slowly.
 *
 * @param input `X`, `[C, H, W]`, in the space the callback expects (ROAD imputes normalised images; the
 *   noise σ is in that space).
 * @param map Relevance at the input's resolution.
 * @param score The model's decision for a batch.
 * @param options Order, percentiles, noise, seed, solver and batch settings.
 * @returns Scores and solver residuals per percentile.
 * @example
 * ```ts
 * import { roadCurve } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([0, 1, 2, 1, 9, 3, 2, 3, 4]), shape: [1, 3, 3] };
 * const m = { data: new Float32Array([0, 0, 0, 0, 1, 0, 0, 0, 0]), shape: [3, 3] };
 * const centre = (xs: Float32Array[]) => xs.map((v) => v[4]);
 * const r = await roadCurve(x, m, centre, { percentiles: [1 / 9], noise: 0 });
 * assert.deepEqual(Math.round(r.scores[0] * 1e6) / 1e6, 2); // the outlier 9 is replaced by the ramp's 2
 * ```
 */
export async function roadCurve(
  input: InputArray,
  map: SaliencyMap,
  score: ScoreFn,
  options: RoadOptions = {},
): Promise<RoadCurve> {
  const { input: d } = checkMapForInput(input, map);
  const hw = d.height * d.width;
  const order = options.order ?? "most-first";
  const percentiles = [...(options.percentiles ?? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])];
  for (const p of percentiles) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Invalid ROAD percentile ${p}: must be in [0, 1]`);
  }
  const ranked = rankPixels(map, order);
  const seed = options.seed ?? 0;
  const residuals: number[] = [];
  const scores = await scoreBatches(score, percentiles.length, (j) => {
    const removed = new Uint8Array(hw);
    const count = Math.round(percentiles[j] * hw);
    for (let k = 0; k < count; k++) removed[ranked[k]] = 1;
    const r = noisyLinearImpute(input, removed, {
      noise: options.noise,
      tolerance: options.tolerance,
      maxIterations: options.maxIterations,
      seed: (seed + Math.imul(j + 1, 0x9e3779b1)) >>> 0,
    });
    residuals.push(r.residual);
    return r.data;
  }, options.batchSize ?? 16);
  return { order, percentiles, scores, residuals };
}
