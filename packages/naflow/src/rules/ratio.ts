import { backendAxis, type GraphNode, sumToShape, type Tensor, tf } from "@cnnlens/core";
import { type InverseRule, only, soleVarying } from "../inverse.ts";
import { tidyList } from "../_tidy.ts";

/**
 * The ratio `ρ = target / value` reduced to `shape`: element-wise where `shape` is the value's shape, and
 * the least-squares ratio `Σ_b value·target / Σ_b value²` over the axes `b` a smaller (broadcast) shape
 * spans. 0 where the value is 0 (nothing there to scale).
 * @param value Forward value.
 * @param target Back-propagated value, same shape.
 * @param shape Shape to reduce to (the value's, or one that broadcasts to it).
 * @returns The ratio, shaped `shape`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { ratioTo } from "@cnnlens/naflow";
 * const y = tf.tensor2d([[2, 0, 4]]);
 * const t = tf.tensor2d([[1, 5, 4]]);
 * if ((await ratioTo(y, t, [1, 3]).data()).join() !== "0.5,0,1") throw new Error("element-wise, 0 where y = 0");
 * // Least squares over a broadcast axis: (2·1 + 4·4) / (2² + 4²) = 0.9
 * if (Math.abs((await ratioTo(y, t, [1, 1]).data())[0] - 0.9) > 1e-6) throw new Error();
 * ```
 */
export function ratioTo(value: Tensor, target: Tensor, shape: number[]): Tensor {
  return tf.tidy(() => {
    const same = shape.length === value.rank && shape.every((d, i) => d === value.shape[i]);
    const num = same ? target : sumToShape(tf.mul(value, target), shape);
    const den = same ? value : sumToShape(tf.square(value), shape);
    const ok = tf.notEqual(den, 0);
    return tf.where(ok, tf.div(num, tf.where(ok, den, tf.onesLike(den))), tf.zerosLike(den));
  });
}

function signs(node: GraphNode, n: number): number[] {
  return node.op === "sub" ? [1, -1] : new Array(n).fill(1);
}

/**
 * NA-BP of a sum (`add`, `sub`; not in the paper, METHODS.md's reading): constant inputs are held fixed,
 * and what remains of `y'` is split between the varying summands in proportion to their forward values:
 * with `v = Σ± u_j` (varying) and `c` the constant part, `ρ = (y' − c)/v` and `u'_j = u_j ⊙ ρ`, so
 * `Σ± u'_j + c = y'` exactly (for summands of the output's shape; where `v = 0` there is nothing to scale
 * and `y' − c` is shared equally). A single varying summand gets the exact inverse `y' − c`. Positions the
 * decision abandoned (`y' = c`, e.g. 0 after a ReLU) are 0 in every summand.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { sumSplit } from "@cnnlens/naflow";
 * const a = tf.tensor4d([3, 1], [1, 1, 2, 1]);
 * const b = tf.tensor4d([1, 1], [1, 1, 2, 1]);
 * const y = tf.add(a, b);
 * const target = tf.tensor4d([8, 0], [1, 1, 2, 1]);
 * const node = { name: "add", op: "add", inputs: ["a", "b"], attrs: {}, params: {}, shape: [1, 1, 2] };
 * const r = await sumSplit(node as never, [a, b], y, target, [true, true], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "6,0" || (await r.inputs[1]!.data()).join() !== "2,0") {
 *   throw new Error("y' = 8 splits 6 + 2 like 3 + 1");
 * }
 * [a, b, y, target, r.inputs[0]!, r.inputs[1]!].forEach((t) => t.dispose());
 * ```
 */
export const sumSplit: InverseRule = (node, inputs, output, target, varying) => {
  const s = signs(node, inputs.length);
  const full = (u: Tensor) => u.rank === output.rank && u.shape.every((d, i) => d === output.shape[i]);
  const k = inputs.filter((u, j) => varying[j] && full(u)).length;
  const out = tidyList(() => {
    let v: Tensor = tf.zerosLike(output);
    let c: Tensor = tf.zerosLike(output);
    inputs.forEach((u, j) => {
      const term = tf.mul(u, s[j]);
      if (varying[j]) v = tf.add(v, term);
      else c = tf.add(c, term);
    });
    const t = tf.sub(target, c);
    const zero = tf.equal(v, 0);
    return inputs.map((u, j) => {
      if (!varying[j]) return null;
      const scaled = tf.mul(u, ratioTo(v, t, u.shape));
      // Where the varying part is 0 there is nothing to scale: share y' − c equally.
      return full(u) ? tf.where(zero, tf.mul(t, s[j] / k), scaled) : scaled;
    });
  });
  return { inputs: out };
};

/**
 * NA-BP of a product (`mul`: attention gates such as SE, CBAM, BAM multiply a feature map by a sigmoid
 * branch). Every varying factor is scaled by the ratio `ρ = y'/y` reduced to its shape (element-wise for a
 * factor of the output's shape, least-squares over the broadcast axes for a gate): the gated feature map
 * gets `x ⊙ ρ = y'/s` (the exact inverse with the gate held), and a gate neuron keeps its forward value in
 * the proportion its outputs survive (0 when all of them are abandoned). With one varying factor this is
 * the exact inverse `y'/c`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { productSplit } from "@cnnlens/naflow";
 * const x = tf.tensor4d([2, 4, 6, 8], [1, 2, 2, 1]);
 * const gate = tf.tensor4d([0.5], [1, 1, 1, 1]);
 * const y = tf.mul(x, gate);
 * const target = tf.tensor4d([1, 2, 0, 0], [1, 2, 2, 1]);
 * const node = { name: "mul", op: "mul", inputs: ["x", "s"], attrs: {}, params: {}, shape: [1, 2, 2] };
 * const r = await productSplit(node as never, [x, gate], y, target, [true, true], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "2,4,0,0") throw new Error("x' = y'/s");
 * // the gate keeps the least-squares share of its outputs: (1·1 + 2·2) / (1² + 2² + 3² + 4²) = 1/6
 * if (Math.abs((await r.inputs[1]!.data())[0] - 0.5 / 6) > 1e-6) throw new Error("gate share");
 * [x, gate, y, target, r.inputs[0]!, r.inputs[1]!].forEach((t) => t.dispose());
 * ```
 */
export const productSplit: InverseRule = (_node, inputs, output, target, varying) => {
  const out = tidyList(() =>
    inputs.map((u, j) => varying[j] ? tf.mul(u, ratioTo(output, target, u.shape)) : null)
  );
  return { inputs: out };
};

/**
 * NA-BP of a division by a constant (`div`, e.g. an input normalisation): the numerator gets
 * `a ⊙ y'/y = y'·b`. A varying denominator has no NA-BP reading and raises a `RangeError`.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { quotientSplit } from "@cnnlens/naflow";
 * const a = tf.tensor2d([[3, 6]]);
 * const b = tf.tensor2d([[2, 2]]);
 * const node: GraphNode = { name: "d", op: "div", inputs: ["a", "b"], attrs: {}, params: {}, shape: [2] };
 * const r = await quotientSplit(node, [a, b], tf.div(a, b), tf.tensor2d([[1, 0]]), [true, false], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "2,0") throw new Error("x' = y'·b");
 * ```
 */
export const quotientSplit: InverseRule = (node, inputs, output, target, varying) => {
  if (varying[1]) {
    throw new RangeError(
      `NAFlow cannot invert node '${node.name}': a division by a value that depends on the input`,
    );
  }
  const a = inputs[0];
  return { inputs: only(inputs.length, 0, tf.tidy(() => tf.mul(a, ratioTo(output, target, a.shape)))) };
};

/**
 * NA-BP of a concatenation: each varying input gets its own slice of `y'` (the proportional split, since
 * the inputs' forward values occupy disjoint channels), exactly.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { concatSplit } from "@cnnlens/naflow";
 * const [a, b] = [tf.zeros([1, 1, 1, 1]), tf.zeros([1, 1, 1, 2])];
 * const node: GraphNode = { name: "c", op: "concat", inputs: ["a", "b"], attrs: { axis: 1 }, params: {}, shape: [3, 1, 1] };
 * const target = tf.tensor4d([7, 8, 9], [1, 1, 1, 3]);
 * const r = await concatSplit(node, [a, b], target, target, [true, true], {} as never);
 * if ((await r.inputs[1]!.data()).join() !== "8,9") throw new Error("channels 1-2 go to the second input");
 * ```
 */
export const concatSplit: InverseRule = (node, inputs, _output, target, varying) => {
  const axis = backendAxis(node.attrs.axis ?? 1, target.rank);
  const parts = tf.split(target, inputs.map((u) => u.shape[axis]!), axis);
  return { inputs: parts.map((p, j) => varying[j] ? p : (p.dispose(), null)) };
};

/**
 * NA-BP of a smooth element-wise activation (`sigmoid`, `hardsigmoid`, `hardswish`, `clip`; not in the
 * paper): the input keeps its forward value scaled by the share of the output that survives,
 * `x' = x ⊙ y'/y`. At the forward point (`y' = y`) it returns `x`; where the output is abandoned
 * (`y' = 0`, or `y = 0` such as a clipped-to-zero ReLU6) the input is 0.
 * @example
 * ```ts
 * import { type GraphNode, tf } from "@cnnlens/core";
 * import { ratioInverse } from "@cnnlens/naflow";
 * const x = tf.tensor2d([[-2, 1]]);
 * const y = tf.sigmoid(x);
 * const node: GraphNode = { name: "s", op: "sigmoid", inputs: ["x"], attrs: {}, params: {}, shape: [2] };
 * const r = await ratioInverse(node, [x], y, tf.mul(y, tf.tensor2d([[0, 1]])), [true], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "0,1") throw new Error("abandoned → 0, kept → x");
 * ```
 */
export const ratioInverse: InverseRule = (node, inputs, output, target, varying) => {
  const i = soleVarying(node, varying);
  const x = inputs[i];
  return { inputs: only(inputs.length, i, tf.tidy(() => tf.mul(x, ratioTo(output, target, x.shape)))) };
};
