/**
 * Forward and shape rules for every core op, registered under kinds `forward` and `shape`.
 * Forward rules take and return tensors in the backend layout (see graph/layout.ts).
 * @module
 */
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Attrs, GraphNode, OpName } from "../graph/node.ts";
import { backendAxis } from "../graph/layout.ts";
import { registerRule } from "./registry.ts";
import { maxPoolRouting, maxPoolScatter } from "./maxpool_routing.ts";
import { convInputGradient, usesConvTranspose } from "./conv_transpose.ts";
import { padAdjoint, padPairs } from "./pad.ts";

/** Signature of `forward` rules. */
export type ForwardRule = (node: GraphNode, inputs: Tensor[]) => Tensor;
/** Signature of `shape` rules: per-sample NCHW input shapes to the per-sample output shape. */
export type ShapeRule = (node: GraphNode, inputShapes: number[][]) => number[];

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

function pads(a: Attrs): [number, number, number, number] {
  return a.pads ?? [0, 0, 0, 0];
}

/** Output size of a sliding window along one axis. */
export function windowOut(
  size: number,
  k: number,
  s: number,
  p0: number,
  p1: number,
  d = 1,
  ceil = false,
): number {
  const span = size + p0 + p1 - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch/ONNX: with ceil_mode, the last window must start inside the input or left padding.
  if (ceil && (out - 1) * s >= size + p0) out -= 1;
  if (out <= 0) {
    throw new RangeError(
      `Window of size ${k} (stride ${s}, padding ${p0}+${p1}) does not fit input size ${size}`,
    );
  }
  return out;
}

/** Explicit padding plus the extra bottom/right rows ceil mode needs, as tf paddings for NHWC. */
function poolPaddings(node: GraphNode, h: number, w: number): { pad: Pad4; oh: number; ow: number } {
  const [kh, kw] = node.attrs.kernel!;
  const [sh, sw] = node.attrs.strides ?? [kh, kw];
  const [t, l, b, r] = pads(node.attrs);
  const ceil = node.attrs.ceilMode ?? false;
  const oh = windowOut(h, kh, sh, t, b, 1, ceil);
  const ow = windowOut(w, kw, sw, l, r, 1, ceil);
  const needH = (oh - 1) * sh + kh - (h + t);
  const needW = (ow - 1) * sw + kw - (w + l);
  return { pad: [[0, 0], [t, Math.max(b, needH)], [l, Math.max(r, needW)], [0, 0]], oh, ow };
}

function hardSigmoid(x: Tensor, alpha: number, beta: number): Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/** The per-group convolution every backend runs (dense, depthwise, or split into groups). */
export function conv2dNoBias(node: GraphNode, x: Tensor, weight: Tensor): Tensor {
  const a = node.attrs;
  const [t, l, b, r] = pads(a);
  const strides = a.strides ?? [1, 1];
  const dil = a.dilations ?? [1, 1];
  const group = a.group ?? 1;
  const cin = x.shape[3]!;
  const explicit: Pad4 = [[0, 0], [t, b], [l, r], [0, 0]];
  const x4 = x as tf.Tensor4D;
  if (group === 1) return tf.conv2d(x4, weight as tf.Tensor4D, strides, explicit, "NHWC", dil);
  if (group === cin && weight.shape[2] === cin) {
    return tf.depthwiseConv2d(x4, weight as tf.Tensor4D, strides, explicit, "NHWC", dil);
  }
  const cg = cin / group;
  const og = weight.shape[3]! / group;
  const xs = tf.split(x4, group, 3);
  const parts = xs.map((xi, g) =>
    tf.conv2d(
      xi as tf.Tensor4D,
      tf.slice(weight, [0, 0, 0, g * og], [-1, -1, cg, og]) as tf.Tensor4D,
      strides,
      explicit,
      "NHWC",
      dil,
    )
  );
  return tf.concat(parts, 3);
}

/**
 * The convolution with its input gradient by `convTranspose` (forward convolutions) instead of tfjs's
 * backprop kernel, for tfjs autodiff (`gradients()`); see `usesConvTranspose`. The weights are constants
 * here, as everywhere in the graph: no gradient flows to them.
 */
function conv2dTransposeGrad(node: GraphNode, x: Tensor): Tensor {
  const f = tf.customGrad(
    ((v: Tensor) => ({
      value: conv2dNoBias(node, v, node.params.weight),
      gradFunc: (dy: Tensor) => convInputGradient(node, dy, v.shape),
    })) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return f(x);
}

function toNCHW(x: Tensor): Tensor {
  return x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x;
}
function fromNCHW(x: Tensor): Tensor {
  return x.rank === 4 ? tf.transpose(x, [0, 2, 3, 1]) : x;
}

const forward: Partial<Record<OpName, ForwardRule>> = {
  input: () => {
    throw new Error("The input node has no forward rule: its value is given");
  },
  const: (n) => n.params.value.clone(),
  identity: (_n, [x]) => x.clone(),
  conv2d: (n, [x]) => {
    const y = usesConvTranspose(n) && tf.engine().isTapeOn()
      ? conv2dTransposeGrad(n, x)
      : conv2dNoBias(n, x, n.params.weight);
    return n.params.bias ? tf.add(y, n.params.bias) : y;
  },
  batchnorm: (n, [x]) =>
    tf.batchNorm(
      x,
      n.params.mean as tf.Tensor1D,
      n.params.variance as tf.Tensor1D,
      n.params.shift as tf.Tensor1D,
      n.params.scale as tf.Tensor1D,
      n.attrs.epsilon ?? 1e-5,
    ),
  relu: (_n, [x]) => tf.relu(x),
  leakyrelu: (n, [x]) => tf.leakyRelu(x, n.attrs.alpha ?? 0.01),
  clip: (n, [x]) => tf.clipByValue(x, n.attrs.min ?? -Infinity, n.attrs.max ?? Infinity),
  sigmoid: (_n, [x]) => tf.sigmoid(x),
  hardsigmoid: (n, [x]) => hardSigmoid(x, n.attrs.alpha ?? 0.2, n.attrs.beta ?? 0.5),
  hardswish: (_n, [x]) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5)),
  maxpool: (n, [x]) => {
    const pool = (v: Tensor) => {
      const { pad } = poolPaddings(n, v.shape[1]!, v.shape[2]!);
      const vp = pad.some(([a, b]) => a || b) ? tf.pad(v, pad, -3.4e38) : v;
      return tf.maxPool(vp as tf.Tensor4D, n.attrs.kernel!, n.attrs.strides ?? n.attrs.kernel!, "valid");
    };
    // tfjs-wasm 4.22's MaxPoolGrad returns wrong gradients (every 2×2 pool, some 3×3): on wasm the
    // gradient is the exact routing scatter instead (first argmax, as tfjs-cpu).
    if (tf.getBackend() !== "wasm") return pool(x);
    const f = tf.customGrad(
      ((v: Tensor, save: (t: Tensor[]) => void) => {
        save([v]);
        return {
          value: pool(v),
          gradFunc: (dy: Tensor, saved: Tensor[]) => {
            const r = maxPoolRouting(n, saved[0]);
            try {
              return maxPoolScatter(r, dy, saved[0].shape as number[]);
            } finally {
              r.dispose();
            }
          },
        };
        // deno-lint-ignore no-explicit-any
      }) as any,
    );
    return f(x);
  },
  avgpool: (n, [x]) => {
    const { pad } = poolPaddings(n, x.shape[1]!, x.shape[2]!);
    const k = n.attrs.kernel!;
    const s = n.attrs.strides ?? k;
    const padded = pad.some(([a, b]) => a || b);
    const xp = padded ? tf.pad(x, pad) : x;
    const y = tf.avgPool(xp as tf.Tensor4D, k, s, "valid");
    if (!padded) return y;
    // Count only real pixels (ONNX count_include_pad=0); with count_include_pad=1 count the explicit
    // padding but not the extra ceil-mode rows, as PyTorch does.
    const [t, l, b, r] = pads(n.attrs);
    const ones = tf.ones([1, x.shape[1]!, x.shape[2]!, 1]);
    const real = n.attrs.countIncludePad ? tf.pad(ones, [[0, 0], [t, b], [l, r], [0, 0]], 1) : ones;
    const extra: Pad4 = n.attrs.countIncludePad
      ? [[0, 0], [0, pad[1][1] - b], [0, pad[2][1] - r], [0, 0]]
      : pad;
    const frac = tf.avgPool(tf.pad(real, extra) as tf.Tensor4D, k, s, "valid");
    return tf.div(y, frac);
  },
  globalavgpool: (_n, [x]) => tf.mean(x, [1, 2], true),
  globalmaxpool: (_n, [x]) => tf.max(x, [1, 2], true),
  reducemean: (n, [x]) =>
    tf.mean(
      x,
      (n.attrs.axes ?? [...Array(x.rank).keys()].slice(1)).map((a) => backendAxis(a, x.rank)),
      n.attrs.keepdims ?? true,
    ),
  reducemax: (n, [x]) =>
    tf.max(
      x,
      (n.attrs.axes ?? [...Array(x.rank).keys()].slice(1)).map((a) => backendAxis(a, x.rank)),
      n.attrs.keepdims ?? true,
    ),
  add: (_n, [a, b]) => tf.add(a, b),
  sub: (_n, [a, b]) => tf.sub(a, b),
  mul: (_n, [a, b]) => tf.mul(a, b),
  div: (_n, [a, b]) => tf.div(a, b),
  concat: (n, xs) => tf.concat(xs, backendAxis(n.attrs.axis ?? 1, xs[0].rank)),
  flatten: (_n, [x]) => tf.reshape(toNCHW(x), [x.shape[0], -1]),
  reshape: (n, [x]) => fromNCHW(tf.reshape(toNCHW(x), [x.shape[0], ...n.attrs.shape!])),
  transpose: (n, [x]) => fromNCHW(tf.transpose(toNCHW(x), n.attrs.perm)),
  gemm: (n, [x]) => {
    const y = tf.matMul(x as tf.Tensor2D, n.params.weight as tf.Tensor2D);
    return n.params.bias ? tf.add(y, n.params.bias) : y;
  },
  softmax: (n, [x]) => {
    const axis = backendAxis(n.attrs.axis ?? -1, x.rank);
    if (axis === x.rank - 1) return tf.softmax(x);
    const e = tf.exp(tf.sub(x, tf.max(x, axis, true)));
    return tf.div(e, tf.sum(e, axis, true));
  },
  pad: (n, [x]) => {
    const internal = padPairs(n, x.rank);
    const mode = n.attrs.mode ?? "constant";
    if (mode === "constant") return tf.pad(x, internal, n.attrs.value ?? 0);
    if (mode !== "reflect") {
      throw new RangeError(
        `Pad mode '${mode}' at node '${n.name}' is not supported: use constant or reflect`,
      );
    }
    if (!tf.engine().isTapeOn()) return tf.mirrorPad(x, internal, "reflect");
    // tfjs's MirrorPad gradient drops the reflected copies: differentiate with the exact adjoint.
    const f = tf.customGrad(
      ((v: Tensor) => ({
        value: tf.mirrorPad(v, internal, "reflect"),
        gradFunc: (dy: Tensor) => padAdjoint(n, dy),
      })) as unknown as Parameters<typeof tf.customGrad>[0],
    );
    return f(x);
  },
};

function same(_n: GraphNode, [s]: number[][]): number[] {
  return [...s];
}

function broadcast(n: GraphNode, shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) {
        throw new RangeError(
          `Shape mismatch at node '${n.name}' (${n.op}): cannot broadcast ${
            shapes.map((s) => `[${s}]`).join(" and ")
          }`,
        );
      }
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

function reduceShape(n: GraphNode, [s]: number[][]): number[] {
  const full = [1, ...s];
  const axes = (n.attrs.axes ?? full.map((_, i) => i).slice(1)).map((a) => a < 0 ? a + full.length : a);
  const keep = n.attrs.keepdims ?? true;
  const out = full.map((d, i) => axes.includes(i) ? (keep ? 1 : -1) : d).filter((d) => d !== -1);
  return out.slice(1);
}

const shape: Partial<Record<OpName, ShapeRule>> = {
  input: (n) => [...n.shape],
  const: (n) => n.shape,
  identity: same,
  conv2d: (n, [s]) => {
    const a = n.attrs;
    const w = n.params.weight.shape as number[];
    const group = a.group ?? 1;
    const depthwise = group === s[0] && w[2] === s[0] && group !== 1;
    const cinPerGroup = depthwise ? 1 : w[2];
    if (cinPerGroup * group !== s[0]) {
      throw new RangeError(
        `Shape mismatch at node '${n.name}' (conv2d): weight expects ${
          cinPerGroup * group
        } input channels, got ${s[0]}`,
      );
    }
    const cout = depthwise ? w[2] * w[3] : w[3];
    const [t, l, b, r] = pads(a);
    const [sh, sw] = a.strides ?? [1, 1];
    const [dh, dw] = a.dilations ?? [1, 1];
    return [cout, windowOut(s[1], w[0], sh, t, b, dh), windowOut(s[2], w[1], sw, l, r, dw)];
  },
  batchnorm: (n, [s]) => {
    if (n.params.scale.shape[0] !== s[0]) {
      throw new RangeError(
        `Shape mismatch at node '${n.name}' (batchnorm): ${n.params.scale.shape[0]} channels, input has ${
          s[0]
        }`,
      );
    }
    return [...s];
  },
  relu: same,
  leakyrelu: same,
  clip: same,
  sigmoid: same,
  hardsigmoid: same,
  hardswish: same,
  maxpool: (n, [s]) => poolShape(n, s),
  avgpool: (n, [s]) => poolShape(n, s),
  globalavgpool: (_n, [s]) => [s[0], 1, 1],
  globalmaxpool: (_n, [s]) => [s[0], 1, 1],
  reducemean: reduceShape,
  reducemax: reduceShape,
  add: broadcast,
  sub: broadcast,
  mul: broadcast,
  div: broadcast,
  concat: (n, shapes) => {
    const axis = (n.attrs.axis ?? 1) < 0 ? n.attrs.axis! + shapes[0].length + 1 : (n.attrs.axis ?? 1);
    const out = [...shapes[0]];
    out[axis - 1] = shapes.reduce((acc, s) => acc + s[axis - 1], 0);
    for (const s of shapes) {
      if (s.length !== out.length || s.some((d, i) => i !== axis - 1 && d !== out[i])) {
        throw new RangeError(
          `Shape mismatch at node '${n.name}' (concat): ${
            shapes.map((x) => `[${x}]`).join(", ")
          } differ off axis ${axis}`,
        );
      }
    }
    return out;
  },
  flatten: (_n, [s]) => [s.reduce((a, b) => a * b, 1)],
  reshape: (n, [s]) => {
    const total = s.reduce((a, b) => a * b, 1);
    const target = [...n.attrs.shape!];
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const i = target.indexOf(-1);
    if (i >= 0) target[i] = total / known;
    if (target.reduce((a, b) => a * b, 1) !== total || !Number.isInteger(target[i >= 0 ? i : 0])) {
      throw new RangeError(
        `Shape mismatch at node '${n.name}' (reshape): cannot reshape [${s}] to [${n.attrs.shape}]`,
      );
    }
    return target;
  },
  transpose: (n, [s]) => n.attrs.perm!.slice(1).map((p) => s[p - 1]),
  gemm: (n, [s]) => {
    const w = n.params.weight.shape as number[];
    if (s.length !== 1 || s[0] !== w[0]) {
      throw new RangeError(
        `Shape mismatch at node '${n.name}' (gemm): weight expects [${w[0]}] inputs, got [${s}]`,
      );
    }
    return [w[1]];
  },
  softmax: same,
  pad: (n, [s]) => {
    const p = n.attrs.padding!;
    return s.map((d, i) => d + p[i] + p[i + s.length]);
  },
};

function poolShape(n: GraphNode, s: number[]): number[] {
  const [kh, kw] = n.attrs.kernel!;
  const [sh, sw] = n.attrs.strides ?? [kh, kw];
  const [t, l, b, r] = pads(n.attrs);
  const ceil = n.attrs.ceilMode ?? false;
  return [s[0], windowOut(s[1], kh, sh, t, b, 1, ceil), windowOut(s[2], kw, sw, l, r, 1, ceil)];
}

for (const [op, rule] of Object.entries(forward)) registerRule("forward", op, rule!);
for (const [op, rule] of Object.entries(shape)) registerRule("shape", op, rule!);

/** Every op with a forward rule. */
export const coreOps: OpName[] = Object.keys(forward) as OpName[];
