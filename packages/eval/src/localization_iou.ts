/**
 * Localisation IoU (FAM Eq. 20, following CAM): threshold the map at a fraction of its maximum, box the
 * largest connected component, and compare that box with the ground truth.
 * @module
 */
import { type Box, boxIoU, rasterizeBox } from "./box.ts";
import { largestComponentBox } from "./components.ts";
import { type Normalization, normalizeMap, pixelRelevance } from "./normalize.ts";
import { dimsOf, type SaliencyMap } from "./types.ts";

/** Options of {@linkcode estimateBox} and {@linkcode localizationIoU}. */
export interface LocalizationOptions {
  /** Foreground = pixels strictly above `threshold × max` (FAM/CAM use 0.2). @default 0.2 */
  threshold?: number;
  /** Rescaling applied to the map first (FAM's maps are min-max normalised). @default "minmax" */
  normalize?: Normalization;
}

/** What {@linkcode localizationIoU} returns. */
export interface LocalizationResult {
  /** Eq. 20 IoU with the best-matching ground-truth box (0 when no box could be estimated). */
  iou: number;
  /** The estimated box (half-open, integer), or `null` when the map has no foreground. */
  box: Box | null;
  /** Index of the ground-truth box that gave `iou` (-1 when there is no estimate or no box). */
  matched: number;
}

/**
 * The box around the largest 8-connected component of `{p : m_p > threshold · max m}`.
 *
 * The map is normalised (default min-max), reduced to one value per pixel (sum over channels for
 * `[C, H, W]`), then binarised with a strict `>`; a map whose maximum is ≤ 0 (e.g. all zeros or constant
 * after min-max) has no foreground and gives `null`.
 *
 * @param map The map, `[H, W]` or `[C, H, W]`.
 * @param options Threshold and normalisation.
 * @returns The half-open integer box, or `null`.
 * @throws {RangeError} If the map shape or the threshold is invalid.
 * @example
 * ```ts
 * import { estimateBox } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const map = { data: new Float32Array([0, 0, 0, 0, 9, 5, 0, 3, 0.1]), shape: [3, 3] };
 * // 0.2 × 9 = 1.8: foreground {9, 5, 3}, one component.
 * assert.deepEqual(estimateBox(map, { normalize: "none" }), { x0: 1, y0: 1, x1: 3, y1: 3 });
 * ```
 */
export function estimateBox(map: SaliencyMap, options: LocalizationOptions = {}): Box | null {
  const { height, width } = dimsOf(map);
  const threshold = options.threshold ?? 0.2;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new RangeError(`Invalid threshold ${threshold}: must be a finite number ≥ 0`);
  }
  const m = pixelRelevance(normalizeMap(map, options.normalize ?? "minmax"));
  let max = -Infinity;
  for (let p = 0; p < m.length; p++) if (m[p] > max) max = m[p];
  if (!(max > 0)) return null;
  const t = threshold * max;
  const fg = new Uint8Array(m.length);
  for (let p = 0; p < m.length; p++) fg[p] = m[p] > t ? 1 : 0;
  return largestComponentBox(fg, height, width);
}

/**
 * Localisation IoU (Eq. 20, FAM): `|bbox_e ∩ bbox_g| / |bbox_e ∪ bbox_g|` counted in pixels, where
 * `bbox_e` = {@linkcode estimateBox}. With several ground-truth boxes (several objects of the class) the
 * result is the maximum over them. No estimate (empty foreground) or no ground truth gives 0.
 *
 * @param map The map at the image's resolution, `[H, W]` or `[C, H, W]`.
 * @param boxes Ground-truth boxes in the map's pixel coordinates (clipped to the image).
 * @param options Threshold (default 0.2) and normalisation (default min-max).
 * @returns IoU, the estimated box, and which ground-truth box matched.
 * @example
 * ```ts
 * import { localizationIoU } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const map = { data: new Float32Array([1, 1, 0, 0]), shape: [2, 2] };   // estimate: top row
 * const r = localizationIoU(map, [{ x0: 0, y0: 0, x1: 1, y1: 2 }]);       // ground truth: left column
 * assert.deepEqual(r.iou, 1 / 3);
 * ```
 */
export function localizationIoU(
  map: SaliencyMap,
  boxes: readonly Box[],
  options: LocalizationOptions = {},
): LocalizationResult {
  const { height, width } = dimsOf(map);
  const box = estimateBox(map, options);
  let iou = 0, matched = -1;
  if (box !== null) {
    for (let k = 0; k < boxes.length; k++) {
      const v = boxIoU(box, rasterizeBox(boxes[k], height, width)); // Eq. 20 (FAM), in pixel counts
      if (v > iou || matched < 0) {
        iou = v;
        matched = k;
      }
    }
  }
  return { iou, box, matched };
}
