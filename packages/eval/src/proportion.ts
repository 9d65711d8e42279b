/**
 * The energy-based pointing game, FAM's "Proportion" (Eq. 19): the share of a map's energy that falls in
 * the ground-truth box(es).
 * @module
 */
import { type Box, boxMask } from "./box.ts";
import { type Normalization, normalizeMap, pixelRelevance } from "./normalize.ts";
import { dimsOf, type SaliencyMap } from "./types.ts";

/** Options of {@linkcode energyProportion}. */
export interface ProportionOptions {
  /**
   * Rescaling applied to the map first (Eq. 19 sums `norm(up(L))`, a min-max normalised map).
   * @default "minmax"
   */
  normalize?: Normalization;
}

/**
 * Energy-based pointing game (Eq. 19, FAM): `Σ_{(i,j) ∈ bbox} norm(L)_{ij} / Σ_{(i,j)} norm(L)_{ij}`.
 *
 * The map must already be at the image's resolution (upsample it first: Eq. 19's `up`). With several
 * ground-truth boxes, "inside" means inside their union (each pixel counted once). A `[C, H, W]` map is
 * normalised as a whole, then summed over channels per pixel. A map with no energy (all zero after
 * normalisation, e.g. a constant map) scores 0.
 *
 * @param map The map, `[H, W]` or `[C, H, W]`, at the boxes' pixel grid.
 * @param boxes Ground-truth boxes in the map's pixel coordinates (half-open, see `box.ts`).
 * @param options Normalisation.
 * @returns The proportion in [0, 1] (for non-negative maps).
 * @throws {RangeError} If the map shape or a box is invalid.
 * @example
 * ```ts
 * import { energyProportion } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * // 2×2 map, energy 1+2+3+4 = 10 (normalize "none"); the box holds the left column: 1 + 3.
 * const map = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * const p = energyProportion(map, [{ x0: 0, y0: 0, x1: 1, y1: 2 }], { normalize: "none" });
 * assert.deepEqual(p, 0.4);
 * ```
 */
export function energyProportion(
  map: SaliencyMap,
  boxes: readonly Box[],
  options: ProportionOptions = {},
): number {
  const { height, width } = dimsOf(map);
  const energy = pixelRelevance(normalizeMap(map, options.normalize ?? "minmax"));
  const inside = boxMask(boxes, height, width);
  let total = 0, inBox = 0;
  for (let p = 0; p < energy.length; p++) {
    total += energy[p];
    if (inside[p]) inBox += energy[p];
  }
  return total === 0 ? 0 : inBox / total; // Eq. 19 (FAM)
}
