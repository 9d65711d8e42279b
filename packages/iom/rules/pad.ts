/**
 * Excitation rule of `pad` (constant or reflect): every output is one copy of an input value or the pad
 * constant. A copy is a single term with coefficient 1 (excited where the value is non-zero); the constant
 * is bias (no excitation). A reflected input value feeding several outputs gathers their rows.
 * @module
 */
import { padAdjoint, tf, type VjpRule } from "@cnnlens/core";
import { nonZero } from "./pool.ts";

/**
 * Pad: the rows `[B, …out]` mapped back through the padding's adjoint (the core's `padAdjoint`: the centre
 * slice for constant mode — the pad value is bias —, plus the reflected copies folded back for reflect
 * mode), masked by `x ≠ 0`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { padExcitation } from "./pad.ts";
 * const x = tf.tensor4d([1, 0, 3, 4], [1, 2, 2, 1]); // NHWC, one channel
 * const node = {
 *   name: "p", op: "pad" as const, inputs: ["x"], params: {}, shape: [1, 3, 3],
 *   attrs: { padding: [0, 1, 0, 0, 0, 1], value: 5 }, // one row on top, one column on the right
 * };
 * const rows = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
 * const [dx] = padExcitation(node, [x], rows, rows, [true]);
 * if ((await dx!.data()).join() !== "4,0,7,8") throw new Error();
 * ```
 */
export const padExcitation: VjpRule = (n, [x], _o, dy) => [tf.mul(padAdjoint(n, dy), nonZero(x))];
