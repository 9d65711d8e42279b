/**
 * Excitation rules of the pooling ops (PANE §3.4). Max pooling: a single term, coefficient 1 at the
 * (first) argmax when its value is non-zero, no negative excitation. Average pooling and global average
 * pooling: linear layers with the positive weights `1/n`, so the sign split of {@linkcode signSplitVjp}
 * applies with `W⁻ = 0` and `|W| = W` ("the excitation can then be obtained with the sign of input").
 * @module
 */
import { getRule, maxPoolRouting, maxPoolScatter, type Tensor, tf, type VjpRule } from "@cnnlens/core";
import { type SignSplit, signSplitVjp, type WeightPart } from "./sign_split.ts";

/** `[x ≠ 0]` as float32. */
export function nonZero(x: Tensor): Tensor {
  return tf.abs(tf.sign(x));
}

/** Rows `[B, …]` with the batch of the rows and the per-sample shape of `x`. */
function rowShape(x: Tensor, rows: Tensor): number[] {
  return [rows.shape[0], ...x.shape.slice(1)];
}

/**
 * Positive excitation of `maxpool`: route each row to its window's argmax (the core's tie-safe routing),
 * where the max is non-zero.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { maxPoolExcitation } from "./pool.ts";
 * const b = new GraphBuilder([1, 2, 2]);
 * const g = b.build(b.maxpool("p", "input", 2));
 * const x = tf.tensor4d([0, 3, 1, 2], [1, 2, 2, 1]);
 * const [dx] = maxPoolExcitation(g.node("p"), [x], runForward(g, x).get("p"), tf.ones([1, 1, 1, 1]), [true]);
 * if ((await dx!.data()).join() !== "0,1,0,0") throw new Error("1 at the argmax");
 * ```
 */
export const maxPoolExcitation: VjpRule = (node, [x], out, dy) => {
  const r = maxPoolRouting(node, x);
  try {
    return [maxPoolScatter(r, tf.mul(dy, nonZero(out)), rowShape(x, dy))];
  } finally {
    r.dispose();
  }
};

/**
 * The average-pool excitation rule: the core's `avgpool` VJP (exact window counts, padding and ceil mode)
 * is `Wᵀ`, applied to rows of any batch size.
 * @param sign `1` for `Exc⁺`, `-1` for `Exc⁻`.
 * @param split Sign-split formulation. @default "sum-difference"
 * @returns The rule.
 */
export function avgPoolExcitation(sign: 1 | -1, split: SignSplit = "sum-difference"): VjpRule {
  return (node, [x], out, dy) => {
    const vjp = getRule<VjpRule>("vjp", node.op, node.name);
    const t = (r: Tensor, part: WeightPart) => {
      if (part === "neg") return null;
      const xs = r.shape[0] === x.shape[0] ? x : tf.tile(x, [r.shape[0], 1, 1, 1]);
      return vjp(node, [xs], out, r, [true])[0]!;
    };
    return [signSplitVjp(sign, x, out, dy, t, split)];
  };
}

/**
 * The global-average-pool excitation rule: `Wᵀ r` spreads `r/(H·W)` over the map.
 * @param sign `1` for `Exc⁺`, `-1` for `Exc⁻`.
 * @param split Sign-split formulation. @default "sum-difference"
 * @returns The rule.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { globalAvgPoolExcitation } from "./pool.ts";
 * // mean(2, −1) = 0.5 > 0: Exc⁺ keeps the 2 (weight 1/2), Exc⁻ the −1.
 * const x = tf.tensor4d([2, -1], [1, 1, 2, 1]);
 * const out = tf.mean(x, [1, 2], true);
 * const node = { name: "gap", op: "globalavgpool" as const, inputs: ["x"], attrs: {}, params: {}, shape: [1, 1, 1] };
 * const [p] = globalAvgPoolExcitation(1)(node, [x], out, tf.ones([1, 1, 1, 1]), [true]);
 * const [n] = globalAvgPoolExcitation(-1)(node, [x], out, tf.ones([1, 1, 1, 1]), [true]);
 * if ((await p!.data()).join() !== "0.5,0" || (await n!.data()).join() !== "0,0.5") throw new Error();
 * ```
 */
export function globalAvgPoolExcitation(sign: 1 | -1, split: SignSplit = "sum-difference"): VjpRule {
  return (_node, [x], out, dy) => {
    const [, h, w] = x.shape as number[];
    const t = (r: Tensor, part: WeightPart) =>
      part === "neg" ? null : tf.div(tf.broadcastTo(r, rowShape(x, r)), h * w);
    return [signSplitVjp(sign, x, out, dy, t, split)];
  };
}
