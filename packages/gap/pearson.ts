/**
 * The Pearson correlation coefficient (Eq. 12), the sanity check's score between gAP contributions and
 * the ablation ground truth.
 * @module
 */

/**
 * Pearson correlation `ρ = E[(a − μ_a)(b − μ_b)] / (σ_a σ_b)` (Eq. 12), computed in float64. NaN when
 * either input is constant.
 *
 * @param a Values.
 * @param b Values, same length.
 * @returns ρ in [−1, 1].
 * @example
 * ```ts
 * import { pearson } from "@cnnlens/gap";
 * if (Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) > 1e-12) throw new Error();
 * if (Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) > 1e-12) throw new Error();
 * ```
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`pearson(): ${a.length} and ${b.length} values`);
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN;
}
