import { tf } from "@cnnlens/core";
import { type InverseRule, only, soleVarying } from "../inverse.ts";

/**
 * NA-BP of ReLU (NAFlow Eq. 12 with METHODS.md's reading): `x = y`, and every position whose forward
 * input was ≤ 0 is abandoned — set to exactly 0 — because the decision never used it.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { reluInverse } from "@cnnlens/naflow";
 * const x = tf.tensor4d([-1, 0, 2, 3], [1, 1, 4, 1]);
 * const target = tf.tensor4d([5, 5, 5, 5], [1, 1, 4, 1]);
 * const node: GraphNode = { name: "r", op: "relu", inputs: ["x"], attrs: {}, params: {}, shape: [1, 1, 4] };
 * const r = await reluInverse(node, [x], x, target, [true], {} as never);
 * const v = await r.inputs[0]!.data();
 * if (v.join() !== "0,0,5,5") throw new Error("abandoned positions must be 0");
 * [x, target, r.inputs[0]!].forEach((t) => t.dispose());
 * ```
 */
export const reluInverse: InverseRule = (node, inputs, _output, target, varying) => {
  const i = soleVarying(node, varying);
  const x = inputs[i];
  // Eq. 12: x = y where the forward input was positive; abandoned (exactly 0) elsewhere.
  const back = tf.tidy(() => tf.where(tf.greater(x, 0), target, tf.zerosLike(target)));
  return { inputs: only(inputs.length, i, back) };
};

/**
 * NA-BP of LeakyReLU (NAFlow Eq. 13): `x = y` where `y ≥ 0`, `x = y/α` where `y < 0`. Every neuron is
 * used by a LeakyReLU, so none is abandoned here.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { leakyReluInverse } from "@cnnlens/naflow";
 * const y = tf.tensor4d([-0.2, 3], [1, 1, 2, 1]);
 * const node: GraphNode = { name: "l", op: "leakyrelu", inputs: ["x"], attrs: { alpha: 0.1 }, params: {}, shape: [1, 1, 2] };
 * const r = await leakyReluInverse(node, [y], y, y, [true], {} as never);
 * const v = await r.inputs[0]!.data();
 * if (Math.abs(v[0] + 2) > 1e-6 || v[1] !== 3) throw new Error("Eq. 13");
 * [y, r.inputs[0]!].forEach((t) => t.dispose());
 * ```
 */
export const leakyReluInverse: InverseRule = (node, inputs, _output, target, varying) => {
  const i = soleVarying(node, varying);
  const alpha = node.attrs.alpha ?? 0.01;
  if (alpha === 0) return reluInverse(node, inputs, _output, target, varying, undefined as never);
  // Eq. 13: x = y (y ≥ 0), y/α (y < 0).
  const back = tf.tidy(() => tf.where(tf.greaterEqual(target, 0), target, tf.div(target, alpha)));
  return { inputs: only(inputs.length, i, back) };
};
