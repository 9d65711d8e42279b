/**
 * The masked VJP shared by every layer with signed local weights (convolution, linear, average pooling):
 * a row `r` at the output is pulled back through the positive or negative excitation matrix without
 * building it.
 *
 * For `y'_i = Σ_j w_ij x_j` (biases excluded), PANE §3.1 keeps `w_ij` in `Exc⁺` where `w_ij x_j ≠ 0` has
 * the sign of `y'_i`, and in `Exc⁻` where it has the opposite sign. With `W⁺ = max(W, 0)`,
 * `W⁻ = min(W, 0)`, `r_P = r·[y' > 0]`, `r_N = r·[y' < 0]` (METHODS.md, IOM):
 *
 * ```
 * A = W⁺ᵀ r_P + W⁻ᵀ r_N          (terms with w·x of the sign of y' where x > 0)
 * B = W⁻ᵀ r_P + W⁺ᵀ r_N          (… where x < 0)
 * rᵀExc⁺ = [x > 0]·A + [x < 0]·B,   rᵀExc⁻ = [x > 0]·B + [x < 0]·A
 * ```
 *
 * `four-way` computes exactly that (four transposes, batched as two). `sum-difference` (the default) uses
 * `A + B = Wᵀ(r·[y' ≠ 0])` and `A − B = |W|ᵀ(r·sign y')`, so
 * `rᵀExc^± = ½([x ≠ 0]·Wᵀ(r·[y'≠0]) ± sign(x)·|W|ᵀ(r·sign y'))`: the same numbers from two transposes.
 * An output with `y' = 0` selects nothing (sign 0 matches no non-zero term), and an input `x = 0` gets
 * nothing.
 * @module
 */
import { type Tensor, tf } from "@cnnlens/core";

/** How the sign split is computed: two transposes (`sum-difference`) or the literal four (`four-way`). */
export type SignSplit = "sum-difference" | "four-way";

/** Which kernel a transpose uses: `W`, `|W|`, `W⁺ = max(W, 0)` or `W⁻ = min(W, 0)`. */
export type WeightPart = "w" | "abs" | "pos" | "neg";

/**
 * `Wᵀ r` for one part of the layer's weights; rows `r` have any batch size.
 * Return `null` for a part that is identically zero (e.g. `W⁻` of an average pool).
 */
export type PartTranspose = (r: Tensor, part: WeightPart) => Tensor | null;

/**
 * Pull rows back through `Exc⁺` (`sign = 1`) or `Exc⁻` (`sign = −1`) of a locally linear layer.
 * @param sign `1` for the positive excitation, `-1` for the negative one.
 * @param x The layer input (batch 1, backend layout).
 * @param yPrime The layer output without bias, `y' = W x` (batch 1).
 * @param dy Rows at the output, `[B, …]`.
 * @param transpose `Wᵀ r` per weight part.
 * @param split The formulation (same numbers). @default "sum-difference"
 * @returns Rows at the input, `[B, …]`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { signSplitVjp } from "./sign_split.ts";
 * // y' = 2·x0 − 3·x1 at x = (1, 1): y' = −1, so Exc⁺ keeps −3 (the term of y's sign), Exc⁻ keeps 2.
 * const w = tf.tensor2d([[2], [-3]]);
 * const t = (r: tf.Tensor, p: string) =>
 *   tf.matMul(r, p === "abs" ? tf.abs(w) : p === "pos" ? tf.relu(w) : p === "neg" ? tf.neg(tf.relu(tf.neg(w))) : w, false, true);
 * const x = tf.tensor2d([[1, 1]]);
 * const pos = signSplitVjp(1, x, tf.tensor2d([[-1]]), tf.tensor2d([[1]]), t);
 * const neg = signSplitVjp(-1, x, tf.tensor2d([[-1]]), tf.tensor2d([[1]]), t);
 * const [p, n] = [await pos.data(), await neg.data()];
 * if (p[0] !== 0 || p[1] !== -3 || n[0] !== 2 || n[1] !== 0) throw new Error("wrong split");
 * ```
 */
export function signSplitVjp(
  sign: 1 | -1,
  x: Tensor,
  yPrime: Tensor,
  dy: Tensor,
  transpose: PartTranspose,
  split: SignSplit = "sum-difference",
): Tensor {
  return tf.tidy(() => {
    if (split === "sum-difference") {
      const sy = tf.sign(yPrime);
      const g = transpose(tf.mul(dy, tf.abs(sy)), "w")!;
      const h = transpose(tf.mul(dy, sy), "abs")!;
      const sx = tf.sign(x);
      const gx = tf.mul(g, tf.abs(sx));
      const hx = tf.mul(h, sx);
      return tf.mul(sign === 1 ? tf.add(gx, hx) : tf.sub(gx, hx), 0.5);
    }
    const b = dy.shape[0];
    const rows = tf.concat([
      tf.mul(dy, tf.cast(tf.greater(yPrime, 0), "float32")),
      tf.mul(dy, tf.cast(tf.less(yPrime, 0), "float32")),
    ], 0);
    const p = transpose(rows, "pos");
    const n = transpose(rows, "neg");
    const half = (t: Tensor | null, i: number) => t ? tf.slice(t, [i * b], [b]) : null;
    const sum = (u: Tensor | null, v: Tensor | null) => u && v ? tf.add(u, v) : (u ?? v);
    const a = sum(half(p, 0), half(n, 1));
    const bb = sum(half(n, 0), half(p, 1));
    const xp = tf.cast(tf.greater(x, 0), "float32");
    const xn = tf.cast(tf.less(x, 0), "float32");
    const [onPos, onNeg] = sign === 1 ? [a, bb] : [bb, a];
    const parts = [onPos ? tf.mul(onPos, xp) : null, onNeg ? tf.mul(onNeg, xn) : null];
    const out = sum(parts[0], parts[1]);
    return out ?? tf.zeros([b, ...x.shape.slice(1)]);
  });
}
