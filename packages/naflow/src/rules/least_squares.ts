import { leastSquaresInverse } from "../least_squares.ts";
import { type InverseRule, only, soleVarying } from "../inverse.ts";

/**
 * The one least-squares NA-BP rule (NAFlow Eqs. 6-10), registered for every op that is linear in its
 * input — convolution (any stride, padding, dilation, groups), linear layers, average and global pools,
 * pads, reshapes — and for the few smooth non-element-wise ops (softmax, reduce-max, which it linearises):
 * `x = A + J⁺(y' − y)` solved matrix-free by {@linkcode leastSquaresInverse} over the single node.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { leastSquaresRule } from "@cnnlens/naflow";
 * const b = new GraphBuilder([2, 3, 3], 1);
 * const g = b.build(b.conv("conv", b.inputName, { out: 2, k: 3 }));
 * const x = tf.randomNormal([1, 3, 3, 2], 0, 1, "float32", 1);
 * const tr = runForward(g, x);
 * const ctx = { graph: g, trace: tr, solver: {} };
 * const r = await leastSquaresRule(g.node("conv"), [x], tr.get("conv"), tr.get("conv"), [true], ctx);
 * if (r.stats?.iterations !== 0) throw new Error("y' = y: nothing to solve, x = A");
 * tr.dispose();
 * g.dispose();
 * ```
 */
export const leastSquaresRule: InverseRule = async (node, inputs, _output, target, varying, ctx) => {
  const i = soleVarying(node, varying);
  const r = await leastSquaresInverse(ctx.graph, ctx.trace, node.inputs[i], node.name, target, ctx.solver);
  return { inputs: only(inputs.length, i, r.value), stats: r.stats };
};
