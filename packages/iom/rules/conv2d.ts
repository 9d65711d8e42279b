/**
 * Excitation rules of `conv2d` (PANE §3.2: a convolution is a linear layer whose rows are the sliding
 * windows): the sign split of {@linkcode signSplitVjp} with the core's transposed convolutions
 * (`convTranspose`: forward convolutions with flipped kernels, any stride/padding/dilation/groups), never a
 * matrix.
 * @module
 */
import { convTranspose, kernelCache, type Tensor, tf, type VjpRule } from "@cnnlens/core";
import { type SignSplit, signSplitVjp, type WeightPart } from "./sign_split.ts";
import { keptWeightPart } from "./weight_part.ts";

/**
 * The `conv2d` excitation rule (any stride, padding, dilation, groups, depthwise).
 * @param sign `1` for `Exc⁺`, `-1` for `Exc⁻`.
 * @param split Sign-split formulation. @default "sum-difference"
 * @returns A rule with the core's VJP-rule signature; rows may have any batch size.
 * @example
 * ```ts
 * import { GraphBuilder, registerRule, runForward, backwardWalk, tf } from "@cnnlens/core";
 * import { conv2dExcitation } from "./conv2d.ts";
 * registerRule("example-exc", "conv2d", conv2dExcitation(1, "four-way"));
 * const b = new GraphBuilder([1, 4, 4]);
 * const g = b.build(b.conv("c", "input", { out: 2, k: 3 }));
 * const trace = runForward(g, tf.ones([1, 4, 4, 1]));
 * const rows = backwardWalk(g, trace, new Map([["c", tf.ones([1, 4, 4, 2])]]), { to: ["input"], kind: "example-exc" });
 * if (rows.get("input")!.shape[3] !== 1) throw new Error("one input channel");
 * ```
 */
export function conv2dExcitation(sign: 1 | -1, split: SignSplit = "sum-difference"): VjpRule {
  return (node, [x], out, dy) => {
    const bias = node.params.bias;
    const yPrime = bias ? tf.sub(out, bias) : out;
    const w = node.params.weight;
    // `Pᵀ r` for one sign part P of the weights; the parts and their transposed kernels are kept.
    const t = (r: Tensor, part: WeightPart) =>
      convTranspose(node, r, x.shape, {
        weight: keptWeightPart(w, part),
        cache: kernelCache,
      });
    return [signSplitVjp(sign, x, yPrime, dy, t, split)];
  };
}
