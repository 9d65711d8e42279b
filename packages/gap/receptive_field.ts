/**
 * Receptive-field crops: the exact sub-window of a lower layer that one neuron of a higher layer depends
 * on, so that a neuron decision can be decomposed on a crop instead of the whole feature map.
 *
 * A neuron `F^{l+1}_{k',y,x}` of a convolutional layer depends only on a window of `F^l` (its receptive
 * field); its gradient `G` (gAP Eq. 2) is exactly zero outside. Evaluating the sub-graph between the two
 * layers on a crop of `F^l` that contains the window, starts at a multiple of the total stride, and ends
 * at the receptive field's last row/column gives the same neuron value and the same gradient inside the
 * crop as the full map (positions near an interior crop border are computed with the wrong padding, but
 * no such position lies in the neuron's receptive field). The windows come from per-op rules registered
 * under the kind `gap.window`; an op without a rule (global pooling, flatten, gemm, …) means the neuron
 * is not spatially local and the caller falls back to the full map.
 * @module
 */
import { findRule, type Graph, type GraphNode, registerRule, type ShapeRule } from "@cnnlens/core";

/** An inclusive interval of rows or columns. */
export interface Span {
  /** First index. */
  lo: number;
  /** Last index (inclusive). */
  hi: number;
}

/** A rectangle of a feature map in its own (real, uncropped) coordinates. */
export interface Window {
  /** Rows. */
  y: Span;
  /** Columns. */
  x: Span;
}

/**
 * What a window rule says about one input: the window of it that the output window reads, `"broadcast"`
 * when the input has no spatial extent (H = W = 1, read whole by every position), or `null` when the op
 * is not spatially local in that input.
 */
export type WindowInput = Window | "broadcast" | null;

/** One step of the window propagation: per-input windows and the op's stride (output → input). */
export interface WindowStep {
  /** One entry per node input. */
  inputs: WindowInput[];
  /** [strideY, strideX] from the output grid to the input grid (1 for element-wise ops). */
  stride: [number, number];
}

/**
 * Signature of the `gap.window` rules.
 * @param node The node.
 * @param out The window of the node's output that is needed.
 * @param inputShapes Per-sample NCHW shapes of the node's inputs.
 * @returns The windows of the inputs, or `null` if the op is not spatially local.
 */
export type WindowRule = (node: GraphNode, out: Window, inputShapes: number[][]) => WindowStep | null;

/** The rule kind under which window rules are registered. */
export const WINDOW_RULE = "gap.window";

function clampSpan(lo: number, hi: number, size: number): Span | null {
  const a = Math.max(0, lo);
  const b = Math.min(size - 1, hi);
  return a <= b ? { lo: a, hi: b } : null;
}

/** Sliding-window ops (convolution, pooling): reads `o·s − pad + j·d` for `j` in `[0, k)`. */
function sliding(
  out: Window,
  inShape: number[],
  k: [number, number],
  s: [number, number],
  pads: [number, number, number, number],
  d: [number, number],
): WindowStep | null {
  const y = clampSpan(out.y.lo * s[0] - pads[0], out.y.hi * s[0] - pads[0] + (k[0] - 1) * d[0], inShape[1]);
  const x = clampSpan(out.x.lo * s[1] - pads[1], out.x.hi * s[1] - pads[1] + (k[1] - 1) * d[1], inShape[2]);
  if (!y || !x || inShape.length !== 3) return null;
  return { inputs: [{ y, x }], stride: s };
}

const elementwise: WindowRule = (_n, out) => ({ inputs: [out], stride: [1, 1] });

function spatialSame(out: Window, outShape: number[], s: number[]): WindowInput {
  if (s.length === 3 && s[1] === outShape[1] && s[2] === outShape[2]) return out;
  if (s.length !== 3 || (s[1] === 1 && s[2] === 1)) return "broadcast";
  return null;
}

const binary: WindowRule = (n, out, shapes) => ({
  inputs: shapes.map((s) => spatialSame(out, n.shape, s)),
  stride: [1, 1],
});

const rules: Record<string, WindowRule> = {
  identity: elementwise,
  relu: elementwise,
  leakyrelu: elementwise,
  clip: elementwise,
  sigmoid: elementwise,
  hardsigmoid: elementwise,
  hardswish: elementwise,
  batchnorm: elementwise,
  add: binary,
  sub: binary,
  mul: binary,
  div: binary,
  conv2d: (n, out, [s]) => {
    const w = n.params.weight.shape as number[];
    return sliding(
      out,
      s,
      [w[0], w[1]],
      n.attrs.strides ?? [1, 1],
      n.attrs.pads ?? [0, 0, 0, 0],
      n.attrs.dilations ?? [1, 1],
    );
  },
  maxpool: (n, out, [s]) =>
    sliding(out, s, n.attrs.kernel!, n.attrs.strides ?? n.attrs.kernel!, n.attrs.pads ?? [0, 0, 0, 0], [
      1,
      1,
    ]),
  avgpool: (n, out, [s]) =>
    sliding(out, s, n.attrs.kernel!, n.attrs.strides ?? n.attrs.kernel!, n.attrs.pads ?? [0, 0, 0, 0], [
      1,
      1,
    ]),
  concat: (n, out, shapes) => {
    const axis = n.attrs.axis ?? 1;
    if (axis !== 1 && axis !== -3) return null;
    return { inputs: shapes.map((s) => spatialSame(out, n.shape, s)), stride: [1, 1] };
  },
  softmax: (n, out) => {
    const axis = n.attrs.axis ?? -1;
    return axis === 1 || axis === -3 ? { inputs: [out], stride: [1, 1] } : null;
  },
  pad: (n, out, [s]) => {
    if ((n.attrs.mode ?? "constant") !== "constant" || s.length !== 3) return null;
    const p = n.attrs.padding!;
    const y = clampSpan(out.y.lo - p[1], out.y.hi - p[1], s[1]);
    const x = clampSpan(out.x.lo - p[2], out.x.hi - p[2], s[2]);
    return y && x ? { inputs: [{ y, x }], stride: [1, 1] } : null;
  },
};
for (const [op, rule] of Object.entries(rules)) registerRule(WINDOW_RULE, op, rule);

/** Where a neuron's receptive field lies in a lower layer, and where to crop that layer. */
export interface ReceptiveField {
  /** The receptive field in the lower layer (real coordinates, clipped to the map). */
  window: Window;
  /** Total stride [y, x] from the upper layer's grid to the lower layer's grid. */
  stride: [number, number];
  /** The crop of the lower layer: start row/column (multiples of the stride) and size. */
  crop: { y0: number; x0: number; height: number; width: number };
  /** The neuron's position in the cropped upper layer: its real position minus `crop.y0 / stride`. */
  position: [number, number];
}

function union(a: Window | undefined, b: Window): Window {
  if (!a) return b;
  return {
    y: { lo: Math.min(a.y.lo, b.y.lo), hi: Math.max(a.y.hi, b.y.hi) },
    x: { lo: Math.min(a.x.lo, b.x.lo), hi: Math.max(a.x.hi, b.x.hi) },
  };
}

/**
 * The receptive field of neuron `(y, x)` of layer `top` in layer `bottom`, and the crop of `bottom` on which
 * the sub-graph between them reproduces that neuron exactly. Returns `null` when the neuron is not
 * spatially local in `bottom` (an op on the way has no `gap.window` rule or reads the whole map), when
 * another spatial input joins the sub-graph from outside `bottom` (the layer is not a cut), or when `top`
 * does not depend on `bottom`.
 *
 * @param graph The graph.
 * @param bottom The lower layer (a feature map).
 * @param top The layer holding the neuron (a feature map).
 * @param position The neuron's [y, x] in `top`.
 * @returns The receptive field and crop, or `null`.
 * @example
 * ```ts
 * import { GraphBuilder } from "@cnnlens/core";
 * import { receptiveField } from "@cnnlens/gap";
 * const b = new GraphBuilder([1, 8, 8]);
 * const c1 = b.conv("c1", b.inputName, { out: 2, k: 3 });
 * const c2 = b.conv("c2", c1, { out: 2, k: 3, stride: 2 });
 * const g = b.build(c2);
 * const rf = receptiveField(g, "c1", "c2", [2, 2])!;
 * // c2[2, 2] reads c1 rows 3..5 (stride 2, pad 1); the crop starts at an even row.
 * if (rf.window.y.lo !== 3 || rf.window.y.hi !== 5 || rf.crop.y0 !== 2) throw new Error();
 * g.dispose();
 * ```
 */
export function receptiveField(
  graph: Graph,
  bottom: string,
  top: string,
  position: [number, number],
): ReceptiveField | null {
  const B = graph.node(bottom);
  const T = graph.node(top);
  if (B.shape.length !== 3 || T.shape.length !== 3) return null;
  const [y, x] = position;
  if (B.name === T.name) {
    return {
      window: { y: { lo: y, hi: y }, x: { lo: x, hi: x } },
      stride: [1, 1],
      crop: { y0: y, x0: x, height: 1, width: 1 },
      position: [0, 0],
    };
  }
  const needed = new Set([...graph.ancestors([T.name]), T.name]);
  const dirty = new Set(graph.descendants([B.name]).filter((n) => needed.has(n)));
  if (!dirty.has(T.name)) return null;
  const win = new Map<string, Window>([[T.name, { y: { lo: y, hi: y }, x: { lo: x, hi: x } }]]);
  const stride = new Map<string, [number, number]>([[T.name, [1, 1]]]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    const w = win.get(n.name);
    if (!dirty.has(n.name) || !w) continue;
    const rule = findRule<WindowRule>(WINDOW_RULE, n.op);
    if (!rule) return null;
    const step = rule(n, w, n.inputs.map((k) => graph.node(k).shape));
    if (!step) return null;
    const [sy, sx] = stride.get(n.name)!;
    for (let j = 0; j < n.inputs.length; j++) {
      const k = n.inputs[j];
      const wi = step.inputs[j];
      const inside = dirty.has(k) || k === B.name;
      if (!inside) {
        // A value from outside the sub-graph: fine if it broadcasts, otherwise it would need a crop too.
        if (wi === "broadcast") continue;
        return null;
      }
      if (wi === null || wi === "broadcast") return null;
      const s: [number, number] = [sy * step.stride[0], sx * step.stride[1]];
      const prev = stride.get(k);
      if (prev && (prev[0] !== s[0] || prev[1] !== s[1])) return null;
      stride.set(k, s);
      win.set(k, union(win.get(k), wi));
    }
  }
  const wb = win.get(B.name);
  if (!wb) return null;
  const s = stride.get(B.name)!;
  const y0 = Math.floor(wb.y.lo / s[0]) * s[0];
  const x0 = Math.floor(wb.x.lo / s[1]) * s[1];
  const crop = { y0, x0, height: wb.y.hi + 1 - y0, width: wb.x.hi + 1 - x0 };
  const at: [number, number] = [y - y0 / s[0], x - x0 / s[1]];
  if (!cropFits(graph, B, T, dirty, crop, at)) return null;
  return { window: wb, stride: s, crop, position: at };
}

/**
 * Whether the sub-graph runs on the crop: shape inference over it with the cropped bottom map must keep the
 * branches of every join the same size and the target inside the top map. Fixed paddings break this (a
 * TensorFlow "same" convolution imported as pads [0, 1] for its full-size input, beside a 1×1 stride-2
 * shortcut, gives the two branches of a residual add different sizes on an odd-sized crop); the caller
 * then runs on the full map.
 */
function cropFits(
  graph: Graph,
  B: GraphNode,
  T: GraphNode,
  dirty: Set<string>,
  crop: { height: number; width: number },
  at: [number, number],
): boolean {
  const shapes = new Map<string, number[]>([[B.name, [B.shape[0], crop.height, crop.width]]]);
  for (const n of graph.nodes) {
    if (!dirty.has(n.name)) continue;
    const ins = n.inputs.map((k) => shapes.get(k) ?? graph.node(k).shape);
    const spatial = n.inputs.filter((k) => shapes.has(k)).map((k) => shapes.get(k)!)
      .filter((sh) => sh.length === 3);
    if (spatial.some((sh) => sh[1] !== spatial[0][1] || sh[2] !== spatial[0][2]) && n.inputs.length > 1) {
      return false;
    }
    const rule = findRule<ShapeRule>("shape", n.op);
    if (!rule) return false;
    try {
      shapes.set(n.name, rule(n, ins));
    } catch {
      return false;
    }
  }
  const top = shapes.get(T.name);
  return !!top && top.length === 3 && at[0] >= 0 && at[1] >= 0 && at[0] < top[1] && at[1] < top[2];
}
