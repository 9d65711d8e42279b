/**
 * Vector-Jacobian products (`vjp`) and Jacobian-vector products (`jvp`) for every core op. Rules get the
 * node, its forward inputs and output (backend layout) and a cotangent/tangent, and are linear in it.
 * Ops without a hand-written rule get one derived from the forward rule by tfjs autodiff (vjp) or from the
 * vjp by the transpose trick (jvp), registered here deliberately, never silently at lookup time.
 * @module
 */
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { GraphNode, OpName } from "../graph/node.ts";
import { findRule, getRule, registerRule } from "./registry.ts";
import { conv2dNoBias, coreOps, type ForwardRule } from "./forward.ts";
import { maxPoolGather, maxPoolRouting, maxPoolScatter } from "./maxpool_routing.ts";
import { convInputGradient, usesConvTranspose } from "./conv_transpose.ts";
import { padAdjoint } from "./pad.ts";

/**
 * `vjp` rule: the cotangents of the inputs flagged in `needed` (null elsewhere), given the output's
 * cotangent `dy`.
 */
export type VjpRule = (
  node: GraphNode,
  inputs: Tensor[],
  output: Tensor,
  dy: Tensor,
  needed: boolean[],
) => (Tensor | null)[];

/** `jvp` rule: the output tangent given input tangents (null = zero tangent). */
export type JvpRule = (
  node: GraphNode,
  inputs: Tensor[],
  output: Tensor,
  tangents: (Tensor | null)[],
) => Tensor;

/** Sum a broadcast gradient back to the shape of the operand it came from. */
export function sumToShape(g: Tensor, shape: number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const s = i < lead ? 1 : shape[i - lead];
    if (i < lead || (s === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(tf.sum(g, axes, true), shape);
}

/** vjp by tfjs autodiff through the node's forward rule. */
export const autodiffVjp: VjpRule = (node, inputs, _out, dy, needed) => {
  const fwd = getRule<ForwardRule>("forward", node.op, node.name);
  const idx = inputs.map((_, i) => i).filter((i) => needed[i]);
  if (!idx.length) return inputs.map(() => null);
  const f = (...xs: Tensor[]) => {
    const ins = inputs.slice();
    idx.forEach((j, k) => ins[j] = xs[k]);
    return fwd(node, ins);
  };
  const gs = tf.grads(f)(idx.map((i) => inputs[i]), dy);
  const out: (Tensor | null)[] = inputs.map(() => null);
  idx.forEach((j, k) => out[j] = gs[k]);
  return out;
};

/** jvp by the transpose trick: J v = ∂/∂u ⟨Jᵀu, v⟩ (needs the vjp to be differentiable). */
export const transposeJvp: JvpRule = (node, inputs, output, tangents) => {
  const vjp = getRule<VjpRule>("vjp", node.op, node.name);
  const needed = tangents.map((t) => t !== null);
  return tf.grad((u: Tensor) => {
    const gs = vjp(node, inputs, output, u, needed);
    return gs.reduce<Tensor>(
      (acc, g, i) => g ? tf.add(acc, tf.sum(tf.mul(g, tangents[i]!))) : acc,
      tf.scalar(0),
    );
  })(tf.zerosLike(output));
};

function bnFactor(n: GraphNode): Tensor {
  return tf.div(n.params.scale, tf.sqrt(tf.add(n.params.variance, n.attrs.epsilon ?? 1e-5)));
}

const linearInput = (fwdNoBias: (n: GraphNode, t: Tensor) => Tensor): JvpRule => (n, _i, _o, [t]) =>
  t ? fwdNoBias(n, t) : tf.zeros(_o.shape);

const viaForward: JvpRule = (n, inputs, out, tangents) => {
  if (tangents.every((t) => t === null)) return tf.zeros(out.shape);
  const fwd = getRule<ForwardRule>("forward", n.op, n.name);
  return fwd(n, tangents.map((t, i) => t ?? tf.zerosLike(inputs[i])));
};

/**
 * `vjp` rule of `conv2d` (input only; weights are constants): `convTranspose` where
 * `usesConvTranspose` holds (wasm, and dilated convolutions everywhere), else tfjs autodiff
 * (its `Conv2DBackpropInput`).
 * @example
 * ```ts
 * import { conv2dVjp, getRule } from "@cnnlens/core";
 * if (getRule("vjp", "conv2d", "n") !== conv2dVjp) throw new Error("the registered conv2d rule");
 * ```
 */
export const conv2dVjp: VjpRule = (n, inputs, out, dy, needed) => {
  if (!needed[0]) return [null];
  if (!usesConvTranspose(n)) return autodiffVjp(n, inputs, out, dy, needed);
  return [convInputGradient(n, dy, inputs[0].shape)];
};

const vjp: Partial<Record<OpName, VjpRule>> = {
  identity: (_n, _i, _o, dy) => [dy],
  conv2d: conv2dVjp,
  relu: (_n, [x], _o, dy) => [tf.mul(dy, tf.step(x, 0))],
  leakyrelu: (
    n,
    [x],
    _o,
    dy,
  ) => [tf.mul(dy, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, n.attrs.alpha ?? 0.01)))],
  batchnorm: (n, _i, _o, dy) => [tf.mul(dy, bnFactor(n))],
  add: (
    _n,
    [a, b],
    _o,
    dy,
    need,
  ) => [need[0] ? sumToShape(dy, a.shape) : null, need[1] ? sumToShape(dy, b.shape) : null],
  sub: (_n, [a, b], _o, dy, need) => [
    need[0] ? sumToShape(dy, a.shape) : null,
    need[1] ? sumToShape(tf.neg(dy), b.shape) : null,
  ],
  mul: (_n, [a, b], _o, dy, need) => [
    need[0] ? sumToShape(tf.mul(dy, b), a.shape) : null,
    need[1] ? sumToShape(tf.mul(dy, a), b.shape) : null,
  ],
  gemm: (n, _i, _o, dy) => [tf.matMul(dy as tf.Tensor2D, n.params.weight as tf.Tensor2D, false, true)],
  globalavgpool: (_n, [x], _o, dy) => [tf.div(tf.broadcastTo(dy, x.shape), x.shape[1]! * x.shape[2]!)],
  flatten: (_n, [x], _o, dy) => [
    x.rank === 4
      ? tf.transpose(tf.reshape(dy, [x.shape[0], x.shape[3]!, x.shape[1]!, x.shape[2]!]), [0, 2, 3, 1])
      : tf.reshape(dy, x.shape),
  ],
  maxpool: (n, [x], _o, dy) => {
    const r = maxPoolRouting(n, x);
    try {
      return [maxPoolScatter(r, dy, x.shape)];
    } finally {
      r.dispose();
    }
  },
  pad: (n, _i, _o, dy) => [padAdjoint(n, dy)],
};

const jvp: Partial<Record<OpName, JvpRule>> = {
  identity: viaForward,
  conv2d: linearInput((n, t) => conv2dNoBias(n, t, n.params.weight)),
  gemm: linearInput((n, t) => tf.matMul(t as tf.Tensor2D, n.params.weight as tf.Tensor2D)),
  batchnorm: linearInput((n, t) => tf.mul(t, bnFactor(n))),
  avgpool: viaForward,
  globalavgpool: viaForward,
  reducemean: viaForward,
  flatten: viaForward,
  reshape: viaForward,
  transpose: viaForward,
  concat: viaForward,
  pad: (n, inputs, out, tangents) =>
    viaForward({ ...n, attrs: { ...n.attrs, value: 0 } }, inputs, out, tangents),
  relu: (_n, [x], o, [t]) => t ? tf.mul(t, tf.step(x, 0)) : tf.zeros(o.shape),
  leakyrelu: (n, [x], o, [t]) =>
    t
      ? tf.mul(t, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, n.attrs.alpha ?? 0.01)))
      : tf.zeros(o.shape),
  clip: (n, [x], o, [t]) =>
    t
      ? tf.mul(
        t,
        tf.cast(
          tf.logicalAnd(tf.greater(x, n.attrs.min ?? -Infinity), tf.less(x, n.attrs.max ?? Infinity)),
          "float32",
        ),
      )
      : tf.zeros(o.shape),
  sigmoid: (_n, _x, o, [t]) => t ? tf.mul(t, tf.mul(o, tf.sub(1, o))) : tf.zeros(o.shape),
  add: (_n, _i, o, ts) => ts.reduce<Tensor>((acc, t) => t ? tf.add(acc, t) : acc, tf.zeros(o.shape)),
  sub: (_n, _i, o, [ta, tb]) =>
    tf.sub(ta ? tf.add(tf.zeros(o.shape), ta) : tf.zeros(o.shape), tb ?? tf.zeros(o.shape)),
  mul: (_n, [a, b], o, [ta, tb]) => {
    let acc: Tensor = tf.zeros(o.shape);
    if (ta) acc = tf.add(acc, tf.mul(ta, b));
    if (tb) acc = tf.add(acc, tf.mul(a, tb));
    return acc;
  },
  maxpool: (n, [x], _o, [t]) => {
    const r = maxPoolRouting(n, x);
    try {
      return t ? maxPoolGather(r, t) : tf.zeros(_o.shape);
    } finally {
      r.dispose();
    }
  },
  softmax: (n, _i, o, [t]) => {
    if (!t) return tf.zeros(o.shape);
    const st = tf.mul(o, t);
    const ax = n.attrs.axis ?? -1;
    const axis = o.rank === 4 && (ax === 1 || ax === -3) ? 3 : (ax < 0 ? o.rank + ax : ax);
    return tf.sub(st, tf.mul(o, tf.sum(st, axis, true)));
  },
};

for (const op of coreOps) {
  if (op === "input" || op === "const") continue;
  registerRule("vjp", op, vjp[op] ?? autodiffVjp);
  registerRule("jvp", op, jvp[op] ?? transposeJvp);
}

/** True if the op's jvp is hand-written (not derived by the transpose trick). */
export function hasDirectJvp(op: OpName): boolean {
  return findRule("jvp", op) !== transposeJvp;
}
