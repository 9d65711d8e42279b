/**
 * Pearson and Spearman correlation, the similarity measures of the sanity checks (Adebayo et al. 2018)
 * and of gAP's section 4.1.
 * @module
 */

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compute ${what}: lengths ${a.length} and ${b.length} differ`);
  }
}

/**
 * Pearson's correlation coefficient `cov(a, b) / (σ_a σ_b)`, computed in float64 around the means.
 * `NaN` when either side is constant (zero variance) or has fewer than two values.
 *
 * @param a First sample.
 * @param b Second sample, same length.
 * @returns r in [−1, 1], or `NaN`.
 * @throws {RangeError} If the lengths differ.
 * @example
 * ```ts
 * import { pearson } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(pearson([1, 2, 3], [2, 4, 6]), 1);
 * ```
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkLengths(a, b, "Pearson correlation");
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Ranks from 1 to n, tied values sharing the average of their ranks ("fractional" ranking, as
 * `scipy.stats.rankdata(method="average")`).
 *
 * @param values The sample (NaN is not allowed).
 * @returns Ranks in float64.
 * @throws {RangeError} If a value is NaN.
 * @example
 * ```ts
 * import { averageRanks } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(averageRanks([10, 20, 10, 30])), [1.5, 3, 1.5, 4]);
 * ```
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`Cannot rank: value ${i} is NaN`);
    idx[i] = i;
  }
  idx.sort((i, j) => values[i] < values[j] ? -1 : values[i] > values[j] ? 1 : i - j);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[idx[end]] === values[idx[start]]) end++;
    const r = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[idx[k]] = r;
    start = end;
  }
  return ranks;
}

/**
 * Spearman's rank correlation: Pearson's correlation of the average ranks ({@linkcode averageRanks}), so
 * ties are handled exactly. `NaN` when either side is constant.
 *
 * @param a First sample.
 * @param b Second sample, same length.
 * @returns ρ in [−1, 1], or `NaN`.
 * @throws {RangeError} If the lengths differ or a value is NaN.
 * @example
 * ```ts
 * import { spearman } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1); // monotone, not linear
 * ```
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkLengths(a, b, "Spearman correlation");
  return pearson(averageRanks(a), averageRanks(b));
}
