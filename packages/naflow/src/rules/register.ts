import { registerRule, tf } from "@cnnlens/core";
import { INVERSE_KIND, type InverseRule, only, soleVarying } from "../inverse.ts";
import { batchNormInverse } from "./batchnorm.ts";
import { leakyReluInverse, reluInverse } from "./relu.ts";
import { maxPoolInverse } from "./maxpool.ts";
import { leastSquaresRule } from "./least_squares.ts";
import { concatSplit, productSplit, quotientSplit, ratioInverse, sumSplit } from "./ratio.ts";

/**
 * NA-BP of `identity`: `x = y`.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { identityInverse } from "@cnnlens/naflow";
 * const y = tf.tensor1d([1, 2]);
 * const node: GraphNode = { name: "i", op: "identity", inputs: ["x"], attrs: {}, params: {}, shape: [2] };
 * const r = await identityInverse(node, [y], y, y, [true], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "1,2" || r.inputs[0] === y) throw new Error("a copy of y");
 * ```
 */
export const identityInverse: InverseRule = (node, inputs, _output, target, varying) => {
  const i = soleVarying(node, varying);
  return { inputs: only(inputs.length, i, tf.clone(target)) };
};

/**
 * NAFlow's `inverse` rule table, one entry per core op (all but `input` and `const`). This table is the
 * only place op names meet NAFlow: the flow asks the core registry for `("inverse", op)`.
 * @example
 * ```ts
 * import { getRule } from "@cnnlens/core";
 * import { inverseRules, INVERSE_KIND } from "@cnnlens/naflow";
 * if (getRule(INVERSE_KIND, "conv2d", "n") !== inverseRules.conv2d) throw new Error("registered");
 * ```
 */
export const inverseRules: Readonly<Record<string, InverseRule>> = {
  // Exact rules from the paper.
  batchnorm: batchNormInverse, // Eq. 11
  relu: reluInverse, // Eq. 12
  leakyrelu: leakyReluInverse, // Eq. 13
  maxpool: maxPoolInverse, // Eq. 14
  identity: identityInverse,
  // The one least-squares rule (Eqs. 6-10) for ops linear in their input, and linearised smooth ones.
  conv2d: leastSquaresRule,
  gemm: leastSquaresRule,
  avgpool: leastSquaresRule,
  globalavgpool: leastSquaresRule,
  globalmaxpool: leastSquaresRule,
  reducemean: leastSquaresRule,
  reducemax: leastSquaresRule,
  pad: leastSquaresRule,
  flatten: leastSquaresRule,
  reshape: leastSquaresRule,
  transpose: leastSquaresRule,
  softmax: leastSquaresRule,
  // Joins (where a block's branches meet): the proportional split.
  add: sumSplit,
  sub: sumSplit,
  mul: productSplit,
  div: quotientSplit,
  concat: concatSplit,
  // Smooth element-wise activations: the ratio rule.
  sigmoid: ratioInverse,
  hardsigmoid: ratioInverse,
  hardswish: ratioInverse,
  clip: ratioInverse,
};

for (const [op, rule] of Object.entries(inverseRules)) registerRule(INVERSE_KIND, op, rule);
