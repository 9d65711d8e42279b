/**
 * The `pad` op's paddings in the backend layout, and its exact adjoint. tfjs's `MirrorPad` gradient only
 * slices the centre, dropping the reflected copies, so the core differentiates reflect padding with
 * {@linkcode padAdjoint} instead — in the `vjp` rule and, under tfjs autodiff, in the forward rule.
 * @module
 */
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { GraphNode } from "../graph/node.ts";

/**
 * A `pad` node's paddings as `[before, after]` per axis of a backend tensor (batch first; NHWC for rank 4).
 * @param node A `pad` node (`attrs.padding` in ONNX order: all starts, then all ends, over [C, H, W]).
 * @param rank The rank of the padded tensor.
 * @returns One pair per axis.
 */
export function padPairs(node: GraphNode, rank: number): [number, number][] {
  const p = node.attrs.padding!;
  const r = p.length / 2;
  const pairs: [number, number][] = [[0, 0]];
  for (let i = 0; i < r; i++) pairs.push([p[i], p[i + r]]);
  return rank === 4 ? [pairs[0], pairs[2], pairs[3], pairs[1]] : pairs;
}

function cut(t: Tensor, axis: number, start: number, size: number): Tensor {
  const begin = t.shape.map((_, i) => i === axis ? start : 0);
  const sizes = t.shape.map((d, i) => i === axis ? size : d);
  return tf.slice(t, begin, sizes);
}

/**
 * The adjoint of reflect padding along one axis: output `j` copies input `|j − b|`, folded at the far end
 * (`2(n − 1) − k`), so the border rows are reversed and added onto the inputs they copy.
 */
function foldReflect(t: Tensor, axis: number, before: number, after: number): Tensor {
  const len = t.shape[axis]! - before - after;
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

/**
 * The transpose of a `pad` node's linear part, `Pᵀ dy`: the centre slice for constant padding (the pad value
 * is a constant), plus the reflected copies folded back onto the inputs they copy for reflect padding.
 * @param node A `pad` node (mode constant or reflect).
 * @param dy Cotangent at its output (backend layout).
 * @returns The cotangent at its input.
 * @example
 * ```ts
 * import { padAdjoint, tf } from "@cnnlens/core";
 * // [a, b, c] reflect-padded by 2 on the left: [c, b, a, b, c]; the adjoint adds each copy back.
 * const node = {
 *   name: "p", op: "pad" as const, inputs: ["x"], params: {}, shape: [1, 5],
 *   attrs: { padding: [0, 2, 0, 0], mode: "reflect" as const },
 * };
 * const dx = padAdjoint(node, tf.tensor3d([1, 10, 100, 1000, 10000], [1, 1, 5]));
 * if ((await dx.data()).join() !== "100,1010,10001") throw new Error();
 * ```
 */
export function padAdjoint(node: GraphNode, dy: Tensor): Tensor {
  const reflect = (node.attrs.mode ?? "constant") === "reflect";
  return tf.tidy(() => {
    let back = dy;
    padPairs(node, dy.rank).forEach(([before, after], axis) => {
      if (before === 0 && after === 0) return;
      back = reflect
        ? foldReflect(back, axis, before, after)
        : cut(back, axis, before, back.shape[axis]! - before - after);
    });
    return back === dy ? dy.clone() : back;
  });
}
