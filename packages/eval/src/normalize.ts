/**
 * Map normalisations used by the metrics (the papers' `norm(·)`), and the reduction of a multi-channel
 * map to one relevance value per pixel.
 * @module
 */
import { dimsOf, type SaliencyMap } from "./types.ts";

/**
 * How a metric rescales a map before using it.
 * - `"minmax"`: `(m − min) / (max − min)` over the whole map (FAM's `norm`, Eqs. 19 and the masking of
 *   Eq. 21); a constant map becomes all zeros.
 * - `"relu-minmax"`: negatives set to 0 first, then `"minmax"` (pytorch-grad-cam's `scale_cam_image` after
 *   the CAM's ReLU; IOM section 8.3 zeroes IOM's negatives "as in the 8 baseline methods").
 * - `"none"`: used as given.
 */
export type Normalization = "minmax" | "relu-minmax" | "none";

/**
 * Rescales a map (all channels together). Non-finite values count as 0.
 *
 * @param map The map, `[H, W]` or `[C, H, W]`.
 * @param mode See {@linkcode Normalization}.
 * @returns A new map of the same shape (the input is never modified).
 * @throws {RangeError} If the map's shape is invalid or the mode unknown.
 * @example
 * ```ts
 * import { normalizeMap } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = { data: new Float32Array([-1, 0, 1, 3]), shape: [2, 2] };
 * assert.deepEqual(Array.from(normalizeMap(m, "minmax").data), [0, 0.25, 0.5, 1]);
 * assert.deepEqual(Array.from(normalizeMap(m, "relu-minmax").data), [0, 0, 1 / 3, 1].map(Math.fround));
 * ```
 */
export function normalizeMap(map: SaliencyMap, mode: Normalization): SaliencyMap {
  dimsOf(map);
  const src = map.data;
  const out = new Float32Array(src.length);
  if (mode === "none") {
    for (let i = 0; i < src.length; i++) out[i] = Number.isFinite(src[i]) ? src[i] : 0;
    return { data: out, shape: [...map.shape] };
  }
  if (mode !== "minmax" && mode !== "relu-minmax") {
    throw new RangeError(`Unknown normalization '${mode}': use "minmax", "relu-minmax" or "none"`);
  }
  const relu = mode === "relu-minmax";
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    let v = Number.isFinite(src[i]) ? src[i] : 0;
    if (relu && v < 0) v = 0;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  if (range > 0) {
    for (let i = 0; i < src.length; i++) {
      let v = Number.isFinite(src[i]) ? src[i] : 0;
      if (relu && v < 0) v = 0;
      out[i] = (v - min) / range;
    }
  }
  return { data: out, shape: [...map.shape] };
}

/**
 * One relevance value per pixel: the map itself for `[H, W]`, the sum over channels for `[C, H, W]`
 * (IOM's per-colour-channel maps rank pixels by their total relevance).
 *
 * @param map The map.
 * @returns `H × W` values, row-major.
 * @example
 * ```ts
 * import { pixelRelevance } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = { data: new Float32Array([1, 2, 10, 20]), shape: [2, 1, 2] };
 * assert.deepEqual(Array.from(pixelRelevance(m)), [11, 22]);
 * ```
 */
export function pixelRelevance(map: SaliencyMap): Float32Array {
  const { channels, height, width } = dimsOf(map);
  const hw = height * width;
  if (channels === 1) return Float32Array.from(map.data);
  const out = new Float32Array(hw);
  for (let c = 0; c < channels; c++) {
    const base = c * hw;
    for (let p = 0; p < hw; p++) out[p] += map.data[base + p];
  }
  return out;
}
