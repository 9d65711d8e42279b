import { tf } from "@cnnlens/core";
import { type InverseRule, only, soleVarying } from "../inverse.ts";

/**
 * NA-BP of inference batch normalisation (NAFlow Eq. 11), the exact element-wise inverse of
 * `y = scale·(x − mean)/√(var + ε) + shift`, with the layer's real parameters (the paper's Eq. 11 swaps
 * the names of scale and shift): `x = (y − shift)·√(var + ε)/scale + mean`. A channel with `scale = 0`
 * ignores its input (the network abandoned it), so its back-propagated map is 0.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { batchNormInverse } from "@cnnlens/naflow";
 * const b = new GraphBuilder([2, 3, 3], 4);
 * const g = b.build(b.bn("bn", b.inputName, true));
 * const x = tf.randomNormal([1, 3, 3, 2], 0, 1, "float32", 1);
 * const tr = runForward(g, x);
 * const n = g.node("bn");
 * const back = await batchNormInverse(n, [x], tr.get("bn"), tr.get("bn"), [true], {} as never);
 * const err = tf.max(tf.abs(tf.sub(back.inputs[0]!, x)));
 * if ((await err.data())[0] > 1e-5) throw new Error("BN inverse must recover x");
 * [x, err, back.inputs[0]!].forEach((t) => t.dispose());
 * tr.dispose();
 * g.dispose();
 * ```
 */
export const batchNormInverse: InverseRule = (node, inputs, _output, target, varying) => {
  const i = soleVarying(node, varying);
  const p = node.params;
  const x = tf.tidy(() => {
    const std = tf.sqrt(tf.add(p.variance, node.attrs.epsilon ?? 1e-5));
    const zero = tf.equal(p.scale, 0);
    const factor = tf.where(zero, tf.zerosLike(std), tf.div(std, tf.where(zero, tf.onesLike(std), p.scale)));
    const mean = tf.where(zero, tf.zerosLike(p.mean), p.mean);
    // Eq. 11 with the real names: x = (y − shift)·√(var + ε)/scale + mean.
    return tf.add(tf.mul(tf.sub(target, p.shift), factor), mean);
  });
  return { inputs: only(inputs.length, i, x) };
};
