/**
 * The order in which perturbation metrics remove or insert pixels.
 * @module
 */
import { normalizeMap, pixelRelevance } from "./normalize.ts";
import type { SaliencyMap } from "./types.ts";

/** Which pixels go first: the most relevant (MoRF) or the least relevant (LeRF). */
export type PixelOrder = "most-first" | "least-first";

/**
 * Pixel indices (`y · W + x`) sorted by relevance. Relevance is the map's value (summed over channels for
 * `[C, H, W]`; non-finite values count as 0). Ties keep raster order, so the order is deterministic.
 *
 * @param map The map at the input's resolution.
 * @param order `"most-first"` (descending) or `"least-first"` (ascending).
 * @returns A permutation of `0..H·W−1`.
 * @example
 * ```ts
 * import { rankPixels } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = { data: new Float32Array([1, 3, 3, 0]), shape: [2, 2] };
 * assert.deepEqual(Array.from(rankPixels(m, "most-first")), [1, 2, 0, 3]);
 * assert.deepEqual(Array.from(rankPixels(m, "least-first")), [3, 0, 1, 2]);
 * ```
 */
export function rankPixels(map: SaliencyMap, order: PixelOrder): Int32Array {
  if (order !== "most-first" && order !== "least-first") {
    throw new RangeError(`Unknown pixel order '${order}': use "most-first" or "least-first"`);
  }
  const rel = pixelRelevance(normalizeMap(map, "none"));
  const idx = new Int32Array(rel.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const sign = order === "most-first" ? -1 : 1;
  idx.sort((a, b) => sign * (rel[a] - rel[b]) || a - b);
  return idx;
}
