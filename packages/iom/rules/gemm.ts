/**
 * Excitation rules of `gemm` (PANE §3.1, the linear layer `Y = w·X + b`; the bias is excluded from the
 * sign test: `Y' = Y − b`).
 * @module
 */
import { type Tensor, tf, type VjpRule } from "@cnnlens/core";
import { type SignSplit, signSplitVjp, type WeightPart } from "./sign_split.ts";
import { keptWeightPart } from "./weight_part.ts";

/**
 * The `gemm` excitation rule (weights `[in, out]`, rows `[B, out]` → `[B, in]`).
 * @param sign `1` for `Exc⁺`, `-1` for `Exc⁻`.
 * @param split Sign-split formulation. @default "sum-difference"
 * @returns A rule with the core's VJP-rule signature.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { gemmExcitation } from "./gemm.ts";
 * const b = new GraphBuilder([2]);
 * const g = b.build(b.linear("fc", "input", 1, false));
 * const node = g.node("fc");
 * const x = tf.tensor2d([[1, 1]]);
 * const t = runForward(g, x);
 * const [pos] = gemmExcitation(1)(node, [x], t.get("fc"), tf.ones([1, 1]), [true]);
 * const [neg] = gemmExcitation(-1)(node, [x], t.get("fc"), tf.ones([1, 1]), [true]);
 * const sum = tf.add(pos!, neg!); // every non-zero term is either positive or negative excitation
 * const w = await node.params.weight.data();
 * const s = await sum.data();
 * if (Math.abs(s[0] - w[0]) > 1e-7 || Math.abs(s[1] - w[1]) > 1e-7) throw new Error("Exc⁺ + Exc⁻ = W");
 * ```
 */
export function gemmExcitation(sign: 1 | -1, split: SignSplit = "sum-difference"): VjpRule {
  return (node, [x], out, dy) => {
    const bias = node.params.bias;
    const yPrime = bias ? tf.sub(out, bias) : out;
    const t = (r: Tensor, part: WeightPart) =>
      tf.matMul(r as tf.Tensor2D, keptWeightPart(node.params.weight, part) as tf.Tensor2D, false, true);
    return [signSplitVjp(sign, x, yPrime, dy, t, split)];
  };
}
