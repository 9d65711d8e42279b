/**
 * Excitation rules of the single-term elementwise ops: every output is one input times a local
 * coefficient, so the one term always has the output's sign — positive excitation is that coefficient
 * where the input is non-zero, and there is no negative excitation (PANE §3.3 ReLU, §3.5 BatchNorm).
 * @module
 */
import { type Tensor, tf, type VjpRule } from "@cnnlens/core";
import { nonZero } from "./pool.ts";

/**
 * ReLU: coefficient 1 where `x > 0` (PANE §3.3).
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { reluExcitation } from "./pointwise.ts";
 * const x = tf.tensor1d([-1, 0, 2]);
 * const node = { name: "r", op: "relu" as const, inputs: ["x"], attrs: {}, params: {}, shape: [3] };
 * const [dx] = reluExcitation(node, [x], tf.relu(x), tf.ones([3]), [true]);
 * if ((await dx!.data()).join() !== "0,0,1") throw new Error();
 * ```
 */
export const reluExcitation: VjpRule = (_n, [x], _o, dy) => [tf.mul(dy, tf.step(x, 0))];

/** LeakyReLU: coefficient 1 where `x > 0`, `α` where `x < 0`, nothing at 0. */
export const leakyReluExcitation: VjpRule = (n, [x], _o, dy) => {
  const alpha = n.attrs.alpha ?? 0.01;
  const coef = tf.add(tf.step(x, 0), tf.mul(tf.cast(tf.less(x, 0), "float32"), alpha));
  return [tf.mul(dy, coef)];
};

/** BatchNorm (inference): coefficient `γ/√(σ² + ε)` per channel where `x ≠ 0` (PANE §3.5; β, μ are bias). */
export const batchNormExcitation: VjpRule = (n, [x], _o, dy) => {
  const p = n.params;
  const factor: Tensor = tf.div(p.scale, tf.sqrt(tf.add(p.variance, n.attrs.epsilon ?? 1e-5)));
  return [tf.mul(tf.mul(dy, factor), nonZero(x))];
};

/** Identity: coefficient 1 where `x ≠ 0`. */
export const identityExcitation: VjpRule = (_n, [x], _o, dy) => [tf.mul(dy, nonZero(x))];
