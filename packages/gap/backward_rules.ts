/**
 * The per-op backward rules gAP walks with (`backwardWalk` kind `gap.vjp`): the core's chain-rule `vjp`
 * rules. A convolution's input gradient is the core's: on wasm (and for dilated convolutions on every
 * backend) a forward convolution with the flipped, channel-transposed kernel (`convTranspose`, kernels kept
 * with the weights) instead of tfjs's `Conv2DBackpropInput`, which is a plain loop there (~8× slower than
 * the forward convolution at VGG sizes); elsewhere tfjs's own backprop kernel.
 * @module
 */
import { conv2dVjp, getRule, registeredOps, registerRule, type VjpRule } from "@cnnlens/core";

/** The rule kind gAP's backward passes use. */
export const GAP_VJP = "gap.vjp";

/**
 * The input gradient of a convolution: the core's `conv2dVjp` (any stride, padding, dilation, groups,
 * depthwise), registered under {@linkcode GAP_VJP}.
 * @example
 * ```ts
 * import { conv2dNoBias, GraphBuilder, tf } from "@cnnlens/core";
 * import { convVjp } from "@cnnlens/gap";
 * const b = new GraphBuilder([2, 5, 5]);
 * const g = b.build(b.conv("c", b.inputName, { out: 3, k: 3, bias: false }));
 * const node = g.node("c");
 * const x = tf.randomNormal([1, 5, 5, 2]);
 * const y = conv2dNoBias(node, x, node.params.weight);
 * const dy = tf.randomNormal(y.shape);
 * const [dx] = convVjp(node, [x], y, dy, [true]);
 * // The transpose of the convolution: ⟨conv(x), dy⟩ = ⟨x, dx⟩.
 * const lhs = (await tf.sum(tf.mul(y, dy)).data())[0];
 * const rhs = (await tf.sum(tf.mul(x, dx!)).data())[0];
 * if (Math.abs(lhs - rhs) > 1e-3 * Math.abs(lhs) + 1e-3) throw new Error();
 * g.dispose();
 * ```
 */
export const convVjp: VjpRule = conv2dVjp;

for (const op of registeredOps("vjp")) registerRule(GAP_VJP, op, getRule<VjpRule>("vjp", op, op));
