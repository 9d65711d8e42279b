/**
 * Excitation rule of `pad` (constant or reflect): every output is one copy of an input value or the pad
 * constant. A copy is a single term with coefficient 1 (excited where the value is non-zero); the constant
 * is bias (no excitation). A reflected input value feeding several outputs gathers their rows.
 * @module
 */
import { type Tensor, tf, type VjpRule } from "@cnnlens/core";
import { nonZero } from "./pool.ts";

/**
 * Pad: the rows `[B, …out]` mapped back through the padding's adjoint (the centre slice for constant mode —
 * the pad value is bias —, plus the reflected copies folded back for reflect mode), masked by `x ≠ 0`.
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
export const padExcitation: VjpRule = (n, [x], _o, dy) => {
  const p = n.attrs.padding!;
  const r = p.length / 2;
  const pairs: [number, number][] = [[0, 0]];
  for (let i = 0; i < r; i++) pairs.push([p[i], p[i + r]]);
  const internal = x.rank === 4 ? [pairs[0], pairs[2], pairs[3], pairs[1]] : pairs;
  const reflect = (n.attrs.mode ?? "constant") === "reflect";
  let back = dy;
  internal.forEach(([before, after], axis) => {
    if (before === 0 && after === 0) return;
    back = reflect
      ? foldReflect(back, axis, before, after)
      : cut(back, axis, before, back.shape[axis]! - before - after);
  });
  return [tf.mul(back, nonZero(x))];
};

function cut(t: Tensor, axis: number, start: number, size: number): Tensor {
  const begin = t.shape.map((_, i) => i === axis ? start : 0);
  const sizes = t.shape.map((d, i) => i === axis ? size : d);
  return tf.slice(t, begin, sizes);
}

/**
 * The adjoint of reflect padding along one axis: output `j` copies input `|j − b|` folded at the far end
 * (`2(n − 1) − k`), so the rows of the two borders are reversed and added onto the inputs they copy.
 * (tfjs's own MirrorPad gradient only slices the centre, which drops these copies.)
 */
function foldReflect(t: Tensor, axis: number, before: number, after: number): Tensor {
  const total = t.shape[axis]!;
  const len = total - before - after;
  let out = cut(t, axis, before, len);
  const place = (part: Tensor, at: number) => {
    const pads = t.shape.map((_, i): [number, number] =>
      i === axis ? [at, len - at - part.shape[axis]!] : [0, 0]
    );
    out = tf.add(out, tf.pad(tf.reverse(part, axis), pads));
  };
  if (before > 0) place(cut(t, axis, 0, before), 1); // outputs 0..b−1 copy inputs b..1
  if (after > 0) place(cut(t, axis, before + len, after), len - 1 - after); // copy inputs n−2..n−1−a
  return out;
}
