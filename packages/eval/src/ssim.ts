/**
 * Structural similarity (Wang et al. 2004) between two maps, as the sanity checks paper reports it
 * through scikit-image's `structural_similarity` defaults.
 * @module
 */
import { dimsOf, type SaliencyMap } from "./types.ts";

/** Options of {@linkcode ssim}. */
export interface SsimOptions {
  /** Side of the square uniform window, odd. @default 7 */
  windowSize?: number;
  /** Dynamic range `L` of the values. @default max − min over both maps (1 if that is 0) */
  dataRange?: number;
  /** Stability constants' factors. @default 0.01 */
  k1?: number;
  /** @default 0.03 */
  k2?: number;
}

/**
 * Mean SSIM over all `windowSize × windowSize` windows that lie fully inside the map (scikit-image's
 * `structural_similarity(a, b, win_size=7, data_range=L)` with its defaults: uniform window, sample
 * covariances with the `N/(N−1)` correction, `C1 = (k1 L)²`, `C2 = (k2 L)²`, border windows cropped). A
 * `[C, H, W]` map gives the mean over channels.
 *
 * @param a First map.
 * @param b Second map, same shape.
 * @param options Window, data range, constants.
 * @returns SSIM in [−1, 1]; 1 for identical maps.
 * @throws {RangeError} If shapes differ or the map is smaller than the window.
 * @example
 * ```ts
 * import { ssim } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = { data: Float32Array.from({ length: 64 }, (_, i) => i % 7), shape: [8, 8] };
 * assert.deepEqual(ssim(m, m), 1);
 * ```
 */
export function ssim(a: SaliencyMap, b: SaliencyMap, options: SsimOptions = {}): number {
  const da = dimsOf(a, "first map"), db = dimsOf(b, "second map");
  if (da.channels !== db.channels || da.height !== db.height || da.width !== db.width) {
    throw new RangeError(
      `Cannot compute SSIM: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] differ`,
    );
  }
  const win = options.windowSize ?? 7;
  if (!Number.isSafeInteger(win) || win < 2 || win % 2 === 0) {
    throw new RangeError(`Invalid SSIM windowSize ${win}: must be an odd integer ≥ 3`);
  }
  if (da.height < win || da.width < win) {
    throw new RangeError(
      `Cannot compute SSIM: map ${da.height}×${da.width} is smaller than the ${win}×${win} window`,
    );
  }
  let range = options.dataRange;
  if (range === undefined) {
    let lo = Infinity, hi = -Infinity;
    for (const m of [a.data, b.data]) {
      for (let i = 0; i < m.length; i++) lo = Math.min(lo, m[i]), hi = Math.max(hi, m[i]);
    }
    range = hi - lo > 0 ? hi - lo : 1;
  }
  const c1 = ((options.k1 ?? 0.01) * range) ** 2, c2 = ((options.k2 ?? 0.03) * range) ** 2;
  const np = win * win, cov = np / (np - 1);
  const { channels, height, width } = da;
  const hw = height * width;
  let total = 0, count = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y + win <= height; y++) {
      for (let x = 0; x + win <= width; x++) {
        let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (let dy = 0; dy < win; dy++) {
          const row = c * hw + (y + dy) * width + x;
          for (let dx = 0; dx < win; dx++) {
            const va = a.data[row + dx], vb = b.data[row + dx];
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
          }
        }
        const ma = sa / np, mb = sb / np;
        const vara = cov * (saa / np - ma * ma), varb = cov * (sbb / np - mb * mb);
        const covab = cov * (sab / np - ma * mb);
        total += ((2 * ma * mb + c1) * (2 * covab + c2)) / ((ma * ma + mb * mb + c1) * (vara + varb + c2));
        count++;
      }
    }
  }
  return total / count;
}
