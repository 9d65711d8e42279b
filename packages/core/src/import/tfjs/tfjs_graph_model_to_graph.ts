/**
 * TensorFlow.js **graph** model (`format: "graph-model"`, a GraphDef of TensorFlow ops as
 * `tensorflowjs_converter` writes it) → cnnlens graph.
 *
 * Each TensorFlow op becomes a core node named after it (with `<name>:0` as alias); a fused op
 * (`_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul`) with an activation becomes
 * `<name>/linear` and `<name>`. `Const` nodes become parameters of the ops that read them, or `const`
 * nodes broadcast the TensorFlow way (a `[C]` bias meets a feature map along its channels). TensorFlow
 * tensors are NHWC; feature maps are [C, H, W] in the core, so `Reshape`/`Squeeze` go through explicit
 * transposes where H, W, C and C, H, W orders differ.
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import type { Attrs, OpName } from "../../graph/node.ts";
import type { Tensor } from "../../tf.ts";
import { Emitter, nhwcAxis } from "./_emitter.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import type { TfjsWeight } from "./tfjs_weights.ts";

/** One GraphDef node in its JSON form. */
export interface TfNodeJson {
  /** Node name. */
  name: string;
  /** TensorFlow op. */
  op: string;
  /** Input tensor names (`node`, `node:1`, `^control`). */
  input?: string[];
  /** Attributes in protobuf JSON form (`{s}` base64, `{i}` as string, `{f}`, `{b}`, `{list}`, …). */
  attr?: Record<string, Record<string, unknown>>;
}

/** Options for {@linkcode tfjsGraphModelToGraph}. */
export interface TfjsGraphModelOptions {
  /** Input size [H, W] for inputs with unknown spatial dimensions. */
  size?: [number, number];
  /** The model.json `signature` (names the output when the graph has several ends). */
  signature?: unknown;
}

/** TensorFlow ops the graph-model importer understands. */
export const TFJS_GRAPH_OPS = [
  "Placeholder",
  "Const",
  "Identity",
  "StopGradient",
  "NoOp",
  "Conv2D",
  "_FusedConv2D",
  "DepthwiseConv2dNative",
  "FusedDepthwiseConv2dNative",
  "BiasAdd",
  "MatMul",
  "_FusedMatMul",
  "FusedBatchNorm",
  "FusedBatchNormV2",
  "FusedBatchNormV3",
  "Relu",
  "Relu6",
  "LeakyRelu",
  "Sigmoid",
  "Softmax",
  "MaxPool",
  "AvgPool",
  "Mean",
  "Max",
  "Add",
  "AddV2",
  "Sub",
  "Mul",
  "RealDiv",
  "ConcatV2",
  "Reshape",
  "Squeeze",
  "Pad",
  "PadV2",
  "MirrorPad",
];

/** Fused activations of `_FusedConv2D` / `FusedDepthwiseConv2dNative` / `_FusedMatMul`. */
const FUSED_ACTIVATIONS = ["relu", "relu6", "leakyrelu", "sigmoid"];

interface Const {
  data: Float32Array;
  shape: number[];
}
type Val = { node: string } | { value: Const };

type Attr = Record<string, unknown> | undefined;

function fail(msg: string): never {
  throw new TfjsImportError(`Cannot import TensorFlow.js model: ${msg}`);
}

function decodeString(s: unknown): string {
  if (Array.isArray(s)) return String.fromCharCode(...(s as number[]));
  return atob(String(s));
}

function str(a: Attr, fallback: string): string {
  return a && a.s !== undefined ? decodeString(a.s) : fallback;
}

function num(a: Attr, fallback: number): number {
  if (!a) return fallback;
  if (a.i !== undefined) return Number(a.i);
  if (a.f !== undefined) return Number(a.f);
  return fallback;
}

function ints(a: Attr, fallback: number[]): number[] {
  const list = a?.list as Record<string, unknown[]> | undefined;
  if (!list) return fallback;
  return (list.i ?? list.f ?? []).map(Number);
}

function strs(a: Attr): string[] {
  const list = a?.list as Record<string, unknown[]> | undefined;
  return (list?.s ?? []).map(decodeString);
}

function shapeAttr(a: Attr): number[] | undefined {
  const shape = (a?.shape ?? a?.tensorShape ?? a) as {
    dim?: { size?: string | number }[];
    unknownRank?: boolean;
  };
  if (!shape || !Array.isArray(shape.dim)) return undefined;
  return shape.dim.map((d) => Number(d.size ?? -1));
}

function splitName(input: string): [string, number] {
  const m = /^(.*?)(?::(\d+))?$/.exec(input)!;
  return [m[1], m[2] ? Number(m[2]) : 0];
}

/** Inline `Const` value (`attr.value.tensor`), used when the converter left a constant out of the weights. */
function inlineConst(n: TfNodeJson): Const | undefined {
  const t = n.attr?.value?.tensor as Record<string, unknown> | undefined;
  if (!t) return undefined;
  const shape = shapeAttr(t.tensorShape as Attr) ?? [];
  const count = shape.reduce((a, b) => a * b, 1);
  const vals = (t.floatVal ?? t.intVal ?? t.int64Val ?? t.boolVal) as unknown[] | undefined;
  if (vals) {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = Number(vals[Math.min(i, vals.length - 1)] ?? 0);
    return { data, shape };
  }
  if (typeof t.tensorContent === "string") {
    const bin = atob(t.tensorContent);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    const dtype = String(t.dtype ?? "DT_FLOAT");
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      data[i] = dtype === "DT_INT32" ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true);
    }
    return { data, shape };
  }
  return undefined;
}

class GraphModelConverter {
  readonly em = new Emitter();
  readonly #vals = new Map<string, Val>();
  readonly #byName: Map<string, TfNodeJson>;
  readonly #weights: Map<string, TfjsWeight>;
  readonly #size?: [number, number];
  input = "";

  constructor(nodes: TfNodeJson[], weights: Map<string, TfjsWeight>, size?: [number, number]) {
    this.#byName = new Map(nodes.map((n) => [n.name, n]));
    this.#weights = weights;
    this.#size = size;
  }

  /** Convert every node the output depends on, depth first. */
  convert(output: string): Val {
    const state = new Map<string, number>();
    const visit = (name: string) => {
      if (state.get(name) === 2) return;
      if (state.get(name) === 1) fail(`the graph has a cycle through node '${name}'`);
      const n = this.#byName.get(name);
      if (!n) fail(`node '${name}' is read but not defined in the graph`);
      state.set(name, 1);
      for (const i of n.input ?? []) if (!i.startsWith("^")) visit(splitName(i)[0]);
      state.set(name, 2);
      this.#vals.set(name, this.node(n));
    };
    visit(output);
    return this.#vals.get(output)!;
  }

  val(input: string, n: TfNodeJson): Val {
    const [name, index] = splitName(input);
    if (index !== 0) {
      fail(`node '${n.name}' (op ${n.op}) reads output ${index} of '${name}'; only output 0 is supported`);
    }
    return this.#vals.get(name)!;
  }

  tensorIn(n: TfNodeJson, i: number): string {
    const v = this.val(n.input![i], n);
    if (!("node" in v)) {
      fail(`node '${n.name}' (op ${n.op}): input ${i} must be a computed tensor, not a constant`);
    }
    return v.node;
  }

  constIn(n: TfNodeJson, i: number): Const {
    const input = n.input?.[i];
    if (input === undefined) fail(`node '${n.name}' (op ${n.op}) lacks input ${i}`);
    const v = this.val(input, n);
    if (!("value" in v)) fail(`node '${n.name}' (op ${n.op}): input ${i} ('${input}') must be a constant`);
    return v.value;
  }

  constNode(n: TfNodeJson, i: number, rank: number, where: string): string {
    const c = this.constIn(n, i);
    return this.em.tfConst(`${n.name}/${splitName(n.input![i])[0]}`, c.data, c.shape, rank, where);
  }

  operand(n: TfNodeJson, i: number, rank: number, where: string): string {
    const v = this.val(n.input![i], n);
    return "node" in v ? v.node : this.constNode(n, i, rank, where);
  }

  node(n: TfNodeJson): Val {
    const a = n.attr ?? {};
    const where = `node '${n.name}' (op ${n.op})`;
    const name = n.name;
    const add = (
      nm: string,
      op: OpName,
      ins: string[],
      attrs: Attrs = {},
      params: Record<string, Tensor> = {},
    ) => ({
      node: this.em.add(nm, op, ins, attrs, params, where, {
        sourceOp: n.op,
        aliases: nm === name ? [`${name}:0`] : [],
      }),
    });
    const dataFormat = str(a.data_format, "NHWC").toUpperCase();
    if (dataFormat !== "NHWC") fail(`${where}: data_format '${dataFormat}' is not supported (only NHWC)`);
    const rankOf = (x: string) => this.em.shape(x).length;
    const spatial = (x: string) => {
      const s = this.em.shape(x);
      if (s.length !== 3) fail(`${where} needs an NHWC feature map, got per-sample shape [${s}]`);
      return s;
    };
    switch (n.op) {
      case "Const": {
        const w = this.#weights.get(name);
        const value = w ? { data: w.data, shape: w.shape } : inlineConst(n);
        if (!value) fail(`constant '${name}' is missing from the weights manifest`);
        return { value };
      }
      case "Placeholder": {
        if (this.input) {
          fail(`the graph has more than one input ('${this.input}', '${name}'); cnnlens needs exactly one`);
        }
        const s = shapeAttr(a.shape);
        if (!s) fail(`input '${name}' has no shape attribute`);
        const dims = s.slice(1).map((d, i) => {
          if (d > 0) return d;
          if (s.length === 4 && i < 2 && this.#size) return this.#size[i];
          fail(`input '${name}' has an unknown dimension ${i + 1} (shape [${s}]); pass the input size`);
        });
        this.input = this.em.input(name, dims.length === 3 ? [dims[2], dims[0], dims[1]] : dims);
        return { node: this.input };
      }
      case "NoOp":
        return { node: "" };
      case "Identity":
      case "StopGradient": {
        const v = this.val(n.input![0], n);
        return "value" in v ? v : add(name, "identity", [v.node]);
      }
      case "Conv2D":
      case "_FusedConv2D":
      case "DepthwiseConv2dNative":
      case "FusedDepthwiseConv2dNative": {
        const x = this.tensorIn(n, 0);
        const [cin, h, w] = spatial(x);
        const f = this.constIn(n, 1);
        const depthwise = n.op.includes("Depthwise");
        const [kh, kw] = f.shape;
        const s = ints(a.strides, [1, 1, 1, 1]);
        const d = ints(a.dilations, [1, 1, 1, 1]);
        const strides: [number, number] = [s[1], s[2]];
        const dil: [number, number] = [d[1], d[2]];
        const pads = tfPads(
          str(a.padding, "VALID"),
          ints(a.explicit_paddings, []),
          h,
          w,
          [kh, kw],
          strides,
          dil,
          where,
        );
        const attrs: Attrs = { strides, pads, dilations: dil, group: depthwise ? cin : 1 };
        const weight = this.em.param(f.data, f.shape);
        return this.fused(n, x, "conv2d", attrs, weight, where);
      }
      case "MatMul":
      case "_FusedMatMul": {
        if (a.transpose_a?.b) fail(`${where}: transpose_a is not supported`);
        const x = this.tensorIn(n, 0);
        const wc = this.constIn(n, 1);
        let data = wc.data;
        let [rows, cols] = wc.shape;
        if (a.transpose_b?.b) {
          data = new Float32Array(rows * cols);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) data[c * rows + r] = wc.data[r * cols + c];
          }
          [rows, cols] = [cols, rows];
        }
        return this.fused(n, x, "gemm", {}, this.em.param(data, [rows, cols]), where);
      }
      case "BiasAdd":
      case "Add":
      case "AddV2":
      case "Sub":
      case "Mul":
      case "RealDiv": {
        const vs = [0, 1].map((i) => this.val(n.input![i], n));
        const nodeIn = vs.find((v) => "node" in v) as { node: string } | undefined;
        if (!nodeIn) fail(`${where}: both operands are constants (fold them before converting)`);
        const rank = rankOf(nodeIn.node);
        const ins = [0, 1].map((i) => this.operand(n, i, rank, where));
        const op: OpName = n.op === "Sub"
          ? "sub"
          : n.op === "Mul"
          ? "mul"
          : n.op === "RealDiv"
          ? "div"
          : "add";
        return add(name, op, ins);
      }
      case "FusedBatchNorm":
      case "FusedBatchNormV2":
      case "FusedBatchNormV3": {
        if (a.is_training?.b) fail(`${where}: is_training=true is not supported`);
        const x = this.tensorIn(n, 0);
        const [scale, shift, mean, variance] = [1, 2, 3, 4].map((i) => {
          const c = this.constIn(n, i);
          return this.em.param(c.data, [c.data.length]);
        });
        return add(name, "batchnorm", [x], { epsilon: num(a.epsilon, 1e-4) }, {
          scale,
          shift,
          mean,
          variance,
        });
      }
      case "Relu":
        return add(name, "relu", [this.tensorIn(n, 0)]);
      case "Relu6":
        return add(name, "clip", [this.tensorIn(n, 0)], { min: 0, max: 6 });
      case "LeakyRelu":
        return add(name, "leakyrelu", [this.tensorIn(n, 0)], { alpha: num(a.alpha, 0.2) });
      case "Sigmoid":
        return add(name, "sigmoid", [this.tensorIn(n, 0)]);
      case "Softmax": {
        const x = this.tensorIn(n, 0);
        return add(name, "softmax", [x], { axis: rankOf(x) === 3 ? 1 : -1 });
      }
      case "MaxPool":
      case "AvgPool": {
        const x = this.tensorIn(n, 0);
        const [, h, w] = spatial(x);
        const k = ints(a.ksize, [1, 1, 1, 1]);
        const s = ints(a.strides, [1, 1, 1, 1]);
        if (k[0] !== 1 || k[3] !== 1) fail(`${where}: pooling across batch or channels is not supported`);
        const kernel: [number, number] = [k[1], k[2]];
        const strides: [number, number] = [s[1], s[2]];
        const pads = tfPads(str(a.padding, "VALID"), [], h, w, kernel, strides, [1, 1], where);
        return add(name, n.op === "MaxPool" ? "maxpool" : "avgpool", [x], {
          kernel,
          strides,
          pads,
          countIncludePad: false,
          ceilMode: false,
        });
      }
      case "Mean":
      case "Max": {
        const x = this.tensorIn(n, 0);
        const rank = rankOf(x);
        const keep = Boolean(a.keep_dims?.b ?? a.keepdims?.b);
        const axes = [...this.constIn(n, 1).data].map((v) => {
          const ax = nhwcAxis(v, rank);
          if (ax < 0) fail(`${where}: reducing axis ${v} (the batch axis) is not supported`);
          return ax;
        });
        const sorted = [...axes].sort().join();
        if (rank === 3 && sorted === "2,3") {
          const op = n.op === "Mean" ? "globalavgpool" : "globalmaxpool";
          if (keep) return add(name, op, [x]);
          return add(name, "flatten", [add(`${name}/pool`, op, [x]).node]);
        }
        if (rank === 3 && !keep && axes.length !== 3 && axes.includes(1)) {
          fail(`${where}: reducing the channel axis but not H and W is not supported`);
        }
        return add(name, n.op === "Mean" ? "reducemean" : "reducemax", [x], { axes, keepdims: keep });
      }
      case "ConcatV2": {
        const count = (n.input ?? []).filter((i) => !i.startsWith("^")).length - 1;
        const first = [...Array(count).keys()].map((i) => this.val(n.input![i], n)).find((v) =>
          "node" in v
        ) as
          | { node: string }
          | undefined;
        if (!first) fail(`${where}: every operand is a constant`);
        const rank = rankOf(first.node);
        const axis = nhwcAxis(this.constIn(n, count).data[0], rank);
        if (axis < 0) fail(`${where}: concatenating along the batch axis is not supported`);
        const ins = [...Array(count).keys()].map((i) => this.operand(n, i, rank, where));
        return add(name, "concat", ins, { axis });
      }
      case "Reshape": {
        const x = this.tensorIn(n, 0);
        const t = [...this.constIn(n, 1).data];
        if (t[0] !== -1 && t[0] !== 1) {
          fail(`${where}: a target shape [${t}] that changes the batch axis is not supported`);
        }
        if (t[0] === -1 && t.slice(1).includes(-1)) {
          fail(`${where}: target shape [${t}] has two unknown dimensions`);
        }
        return this.aliased(this.em.reshapeNhwc(x, t.slice(1), name, where, n.op), name);
      }
      case "Squeeze": {
        const x = this.tensorIn(n, 0);
        const s = this.em.shape(x);
        const tfShape = [1, ...(s.length === 3 ? [s[1], s[2], s[0]] : s)];
        const dims = ints(a.squeeze_dims ?? a.axis, []).map((v) => (v < 0 ? v + tfShape.length : v));
        if (dims.includes(0)) fail(`${where}: squeezing the batch axis is not supported`);
        const out = tfShape.filter((dim, i) => (dims.length ? !dims.includes(i) : dim !== 1 || i === 0));
        return this.aliased(this.em.reshapeNhwc(x, out.slice(1), name, where, n.op), name);
      }
      case "Pad":
      case "PadV2":
      case "MirrorPad": {
        const x = this.tensorIn(n, 0);
        const p = [...this.constIn(n, 1).data];
        const rank = p.length / 2;
        if (p[0] || p[1]) fail(`${where}: padding the batch axis is not supported`);
        const pairs: [number, number][] = [];
        for (let i = 1; i < rank; i++) pairs.push([p[2 * i], p[2 * i + 1]]);
        const core = rank === 4 ? [pairs[2], pairs[0], pairs[1]] : pairs;
        const padding = [...core.map((q) => q[0]), ...core.map((q) => q[1])];
        if (n.op === "MirrorPad") {
          const mode = str(a.mode, "REFLECT").toUpperCase();
          if (mode !== "REFLECT") fail(`${where}: mirror mode '${mode}' is not supported (only REFLECT)`);
          return add(name, "pad", [x], { padding, mode: "reflect" });
        }
        const value = n.op === "PadV2" ? this.constIn(n, 2).data[0] : 0;
        return add(name, "pad", [x], { padding, mode: "constant", value });
      }
    }
    fail(`unsupported op '${n.op}' at node '${name}' (supported: ${TFJS_GRAPH_OPS.join(", ")})`);
  }

  /** `node` (which holds TensorFlow node `name`'s output), addressable as `name:0` too. */
  aliased(node: string, name: string): Val {
    this.em.alias(node, `${name}:0`);
    return { node };
  }

  /** A conv2d / gemm with the bias, batch norm and activation a fused op carries. */
  fused(n: TfNodeJson, x: string, op: OpName, attrs: Attrs, weight: Tensor, where: string): Val {
    const a = n.attr ?? {};
    const ops = strs(a.fused_ops).map((s) => s.toLowerCase());
    const [extra, act] = ops.length === 1 && FUSED_ACTIVATIONS.includes(ops[0]) ? [undefined, ops[0]] : ops;
    if (extra !== undefined && extra !== "biasadd" && extra !== "fusedbatchnorm") {
      fail(`${where}: fused op '${extra}' is not supported (supported: BiasAdd, FusedBatchNorm)`);
    }
    if (act !== undefined && !FUSED_ACTIVATIONS.includes(act)) {
      fail(
        `${where}: fused activation '${act}' is not supported (supported: Relu, Relu6, LeakyRelu, Sigmoid)`,
      );
    }
    const name = n.name;
    const opts = (nm: string) => ({ sourceOp: n.op, aliases: nm === name ? [`${name}:0`] : [] });
    const params: Record<string, Tensor> = { weight };
    const pre = act ? `${name}/linear` : name;
    let node: string;
    if (extra === "biasadd") {
      const b = this.constIn(n, 2);
      params.bias = this.em.param(b.data, [b.data.length]);
      node = this.em.add(pre, op, [x], attrs, params, where, opts(pre));
    } else if (extra === "fusedbatchnorm") {
      const conv = this.em.add(`${name}/conv`, op, [x], attrs, params, where, opts(""));
      const [scale, shift, mean, variance] = [2, 3, 4, 5].map((i) => {
        const c = this.constIn(n, i);
        return this.em.param(c.data, [c.data.length]);
      });
      node = this.em.add(
        pre,
        "batchnorm",
        [conv],
        { epsilon: num(a.epsilon, 1e-4) },
        { scale, shift, mean, variance },
        where,
        opts(pre),
      );
    } else node = this.em.add(pre, op, [x], attrs, params, where, opts(pre));
    if (!act) return { node };
    const actOp: Record<string, [OpName, Attrs]> = {
      relu: ["relu", {}],
      relu6: ["clip", { min: 0, max: 6 }],
      leakyrelu: ["leakyrelu", { alpha: num(a.leakyrelu_alpha, 0.2) }],
      sigmoid: ["sigmoid", {}],
    };
    const [o, at] = actOp[act];
    return { node: this.em.add(name, o, [node], at, {}, where, opts(name)) };
  }
}

/** TensorFlow padding ('SAME', 'VALID', 'EXPLICIT') as core pads [top, left, bottom, right]. */
function tfPads(
  padding: string,
  explicit: number[],
  h: number,
  w: number,
  k: [number, number],
  s: [number, number],
  d: [number, number],
  where: string,
): [number, number, number, number] {
  const p = padding.toUpperCase();
  if (p === "VALID") return [0, 0, 0, 0];
  if (p === "EXPLICIT") return [explicit[2], explicit[4], explicit[3], explicit[5]];
  if (p !== "SAME") fail(`${where}: padding '${padding}' is not supported`);
  const total = [h, w].map((size, i) => {
    const keff = (k[i] - 1) * d[i] + 1;
    return Math.max((Math.ceil(size / s[i]) - 1) * s[i] + keff - size, 0);
  });
  return [
    Math.floor(total[0] / 2),
    Math.floor(total[1] / 2),
    Math.ceil(total[0] / 2),
    Math.ceil(total[1] / 2),
  ];
}

/**
 * Convert a TensorFlow.js graph model's GraphDef (`modelTopology`) with its decoded weights (the `Const`
 * values) into a core {@linkcode Graph}.
 * @param topology The GraphDef JSON (`{node: [...], versions, library}`).
 * @param weights Decoded weights by `Const` node name.
 * @param options Input size for dynamic inputs; the signature naming the output.
 * @returns The graph; node names are the TensorFlow node names (aliases `<name>:0`).
 * @example
 * ```ts
 * import { tfjsGraphModelToGraph } from "./tfjs_graph_model_to_graph.ts";
 * const g = tfjsGraphModelToGraph({
 *   node: [
 *     { name: "x", op: "Placeholder", attr: { shape: { shape: { dim: [{ size: "-1" }, { size: "4" }] } } } },
 *     { name: "y", op: "Relu6", input: ["x"] },
 *   ],
 * }, new Map());
 * if (g.output !== "y" || g.node("y:0").attrs.max !== 6) throw new Error("import");
 * ```
 */
export function tfjsGraphModelToGraph(
  topology: unknown,
  weights: Map<string, TfjsWeight>,
  options: TfjsGraphModelOptions = {},
): Graph {
  const nodes = (topology as { node?: TfNodeJson[] })?.node;
  if (!Array.isArray(nodes)) fail("the graph model's modelTopology has no 'node' list");
  const sig = options.signature as { outputs?: Record<string, { name?: string }> } | undefined;
  let outputs = Object.values(sig?.outputs ?? {}).map((o) => splitName(String(o.name))[0]);
  if (!outputs.length) {
    const read = new Set(
      nodes.flatMap((n) => (n.input ?? []).map((i) => splitName(i.replace(/^\^/, ""))[0])),
    );
    outputs = nodes.filter((n) => !read.has(n.name) && n.op !== "Const" && n.op !== "NoOp").map((n) =>
      n.name
    );
  }
  if (outputs.length !== 1) {
    fail(`the graph has ${outputs.length} outputs (${outputs.join(", ")}); cnnlens needs exactly one`);
  }
  const conv = new GraphModelConverter(nodes, weights, options.size);
  try {
    const out = conv.convert(outputs[0]);
    if (!("node" in out) || !conv.input) fail(`output '${outputs[0]}' does not depend on the graph input`);
    return conv.em.build(conv.input, out.node);
  } catch (e) {
    conv.em.dispose();
    throw e;
  }
}
