/**
 * Excitation rules of `flatten` and `reshape`: a permutation of the values (coefficient 1 where the value
 * is non-zero). The forward ops reshape through NCHW, so the rows are reshaped back through NCHW too,
 * for a batch of rows of any size.
 * @module
 */
import { tf, type VjpRule } from "@cnnlens/core";
import { nonZero } from "./pool.ts";

/**
 * Flatten/Reshape: reshape rows `[B, …out]` back to the input's layout, masked by `x ≠ 0`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { reshapeExcitation } from "./reshape.ts";
 * const x = tf.tensor4d([1, 2, 0, 4, 5, 6], [1, 1, 3, 2]); // NHWC: 2 channels
 * const node = { name: "f", op: "flatten" as const, inputs: ["x"], attrs: {}, params: {}, shape: [6] };
 * const rows = tf.tensor2d([[10, 20, 30, 40, 50, 60]]); // NCHW order: channel 0 first
 * const [dx] = reshapeExcitation(node, [x], rows, rows, [true]);
 * if ((await dx!.data()).join() !== "10,40,0,50,30,60") throw new Error();
 * ```
 */
export const reshapeExcitation: VjpRule = (_n, [x], _o, dy) => {
  const b = dy.shape[0];
  const back = x.rank === 4
    ? tf.transpose(tf.reshape(dy, [b, x.shape[3]!, x.shape[1]!, x.shape[2]!]), [0, 2, 3, 1])
    : tf.reshape(dy, [b, ...x.shape.slice(1)]);
  return [tf.mul(back, nonZero(x))];
};
