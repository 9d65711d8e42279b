/**
 * Excitation rules of `add` (the residual sum): a linear layer with coefficient 1 per summand
 * (METHODS.md). The summands that depend on what is being explained form `y'`; a summand that does not
 * (a constant, or a branch that does not reach the target node) is a bias and is excluded. Summand `a`
 * carries positive excitation where `a·y' > 0` and negative excitation where `a·y' < 0`.
 * @module
 */
import { sumToShape, type Tensor, tf, type VjpRule } from "@cnnlens/core";

/**
 * The `add` excitation rule.
 * @param sign `1` for `Exc⁺`, `-1` for `Exc⁻`.
 * @returns The rule.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { addExcitation } from "./add.ts";
 * const a = tf.tensor1d([3, -1]);
 * const b = tf.tensor1d([-1, -1]);
 * const node = { name: "s", op: "add" as const, inputs: ["a", "b"], attrs: {}, params: {}, shape: [2] };
 * const [da, db] = addExcitation(1)(node, [a, b], tf.add(a, b), tf.ones([2]), [true, true]);
 * if ((await da!.data()).join() !== "1,1" || (await db!.data()).join() !== "0,1") throw new Error();
 * ```
 */
export function addExcitation(sign: 1 | -1): VjpRule {
  return (_n, inputs, _o, dy, needed) => {
    const live = inputs.filter((_, i) => needed[i]);
    const yPrime = live.reduce((acc: Tensor | null, t) => acc ? tf.add(acc, t) : t, null);
    return inputs.map((x, i) => {
      if (!needed[i] || !yPrime) return null;
      const hit = (sign === 1 ? tf.greater : tf.less)(tf.mul(x, yPrime), 0);
      return sumToShape(tf.mul(dy, tf.cast(hit, "float32")), [dy.shape[0], ...x.shape.slice(1)]);
    });
  };
}
