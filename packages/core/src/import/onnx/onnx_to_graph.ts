/**
 * ONNX → cnnlens graph. Walks the (topologically sorted) ONNX nodes once: shape arithmetic that exporters
 * emit (Shape/Gather/Unsqueeze/Concat/Cast/… on constants) is folded into constants; every other node
 * becomes a core {@linkcode GraphNode} named after the ONNX node, with its output tensor name as alias.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Tensor } from "../../tf.ts";
import { Graph } from "../../graph/graph.ts";
import type { Attrs, GraphNode, OpName } from "../../graph/node.ts";
import { convWeightFromTorch } from "../../graph/weights.ts";
import { getRule } from "../../rules/registry.ts";
import type { ShapeRule } from "../../rules/forward.ts";
import {
  type OnnxLazyTensor,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  parseOnnxLazy,
  type ParseOnnxOptions,
} from "./onnx_proto.ts";

/** Raised for ONNX content cnnlens cannot import (unsupported op, unresolvable shape). */
export class OnnxImportError extends Error {
  override name = "OnnxImportError";
}

/** Options for {@linkcode importOnnx}. */
export interface ImportOnnxOptions extends ParseOnnxOptions {
  /** Input size [H, W] for models exported with dynamic spatial axes. */
  size?: [number, number];
}

/**
 * Where a constant's typed values come from (an initializer or a Constant node's tensor): `read()` may decode
 * again on each call (lazy initializers cache nothing), and `shared` says its result is storage others hold
 * (a view on the model bytes, or the parsed model's array).
 */
type Source = Pick<OnnxLazyTensor, "read" | "shared">;

/**
 * Constant value during folding: numbers (float64) with dims. Initializers and Constant tensors also keep
 * their {@link Source}: weights are read from it as float32 ({@link float32Of}) and never widened to float64;
 * `data` is only computed (then kept) for the constants that folding or an attribute-like operand reads.
 */
interface Const {
  dims: number[];
  readonly data: Float64Array;
  source?: Source;
}

/** ONNX ops the importer turns into graph nodes (folded shape ops are listed separately). */
export const ONNX_OPS = [
  "Conv",
  "BatchNormalization",
  "Relu",
  "LeakyRelu",
  "Clip",
  "Sigmoid",
  "HardSigmoid",
  "HardSwish",
  "Mul",
  "Add",
  "Sub",
  "Div",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "ReduceMean",
  "ReduceMax",
  "Concat",
  "Flatten",
  "Reshape",
  "Transpose",
  "Gemm",
  "MatMul",
  "Softmax",
  "Pad",
  "Identity",
  "Constant",
  "Dropout",
  "Squeeze",
  "Unsqueeze",
  "Cast",
];
/** Ops folded when all their inputs are constant. */
export const FOLDED_OPS = [
  "Shape",
  "Gather",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Cast",
  "Slice",
  "ConstantOfShape",
];

function toFloat64(values: OnnxTensor["data"]): Float64Array {
  const src = values as ArrayLike<number | bigint>;
  const data = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = Number(src[i]);
  return data;
}

function sourceConst(dims: number[], source: Source): Const {
  let data: Float64Array | undefined;
  return {
    dims: [...dims],
    source,
    get data() {
      return data ??= toFloat64(source.read());
    },
  };
}

function toConst(t: OnnxTensor): Const {
  return sourceConst(t.dims, { read: () => t.data, shared: true });
}

/**
 * A constant's values times `scale` as float32, for a tf tensor. float32 / float64 sources are read directly
 * (same rounding as through float64: a float32 value is exact in float64, and the product is formed in
 * float64 before rounding), other types through `data`. `fresh`: a new array nobody else holds, which a
 * tensor may keep as its storage; otherwise it may only be read (e.g. by a transpose) before being dropped.
 * `scratch` (for such read-only uses) receives the copy of an unaligned weight instead of a new buffer.
 */
function float32Of(c: Const, scale = 1, scratch?: ArrayBuffer): { values: Float32Array; fresh: boolean } {
  const d = c.source?.read(scratch);
  if (d instanceof Float32Array) {
    if (scale === 1) return { values: d, fresh: !c.source!.shared && d.buffer !== scratch };
    return { values: Float32Array.from(d, (v) => v * scale), fresh: true };
  }
  const f = d instanceof Float64Array ? d : d ? toFloat64(d) : c.data;
  return { values: scale === 1 ? Float32Array.from(f) : Float32Array.from(f, (v) => v * scale), fresh: true };
}

/** Float32 values a tensor can own (copied unless fresh). */
function owned(w: { values: Float32Array; fresh: boolean }): Float32Array {
  return w.fresh ? w.values : w.values.slice();
}

function size(d: number[]): number {
  return d.reduce((a, b) => a * b, 1);
}

function ints(a: unknown, fallback: number[]): number[] {
  return Array.isArray(a) ? (a as number[]) : fallback;
}

/**
 * Parse and import an ONNX model into a {@linkcode Graph}.
 * @param bytes The .onnx file's bytes.
 * @param options External data location, input size for dynamic axes.
 * @returns The graph (input node = the ONNX graph input, output = its first output).
 */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Graph {
  // Initializers stay undecoded until their node is built: each weight is read (a view on `bytes` where
  // aligned, else one copy), turned into its tf tensor and dropped, so only the tensors accumulate.
  const model = parseOnnxLazy(bytes, options);
  const consts = new Map<string, Const>();
  for (const [name, t] of model.graph.initializers) consts.set(name, sourceConst(t.dims, t));
  return buildGraph(model, consts, options);
}

/**
 * Convert a parsed ONNX model into a {@linkcode Graph}.
 * @param model Parsed model.
 * @param options Input size for dynamic axes.
 * @returns The graph.
 */
export function onnxToGraph(model: OnnxModel, options: ImportOnnxOptions = {}): Graph {
  const consts = new Map<string, Const>();
  for (const [name, t] of model.graph.initializers) consts.set(name, toConst(t));
  return buildGraph(model, consts, options);
}

function buildGraph(
  model: OnnxModel<OnnxTensor | OnnxLazyTensor>,
  consts: Map<string, Const>,
  options: ImportOnnxOptions,
): Graph {
  const g = model.graph;
  if (g.inputs.length !== 1) {
    throw new OnnxImportError(
      `Cannot import ONNX model: it has ${g.inputs.length} non-constant inputs (${
        g.inputs.map((i) => i.name).join(", ")
      }); cnnlens needs exactly one image input`,
    );
  }
  const inp = g.inputs[0];
  const dims = inp.shape.map((d, i) => {
    if (typeof d === "number" && d > 0) return d;
    if (i === 0) return 1;
    if (options.size && (i === 2 || i === 3)) return options.size[i - 2];
    throw new OnnxImportError(
      `Cannot import ONNX model: input '${inp.name}' has a dynamic dimension ${i} ('${d}') that cannot be resolved; pass the input size (--size H,W)`,
    );
  });
  const nodes: GraphNode[] = [];
  const made: Tensor[] = [];
  const producer = new Map<string, GraphNode>(); // tensor name → node producing it
  const fullShape = (tensor: string): number[] => {
    const c = consts.get(tensor);
    if (c) return c.dims;
    return [1, ...producer.get(tensor)!.shape];
  };
  const inputNode: GraphNode = {
    name: inp.name,
    op: "input",
    inputs: [],
    attrs: {},
    params: {},
    shape: dims.slice(1),
  };
  nodes.push(inputNode);
  producer.set(inp.name, inputNode);

  const param = (t: Tensor) => {
    made.push(t);
    return t;
  };
  const constTensor = (name: string, n: OnnxNode): Const => {
    const c = consts.get(name);
    if (!c) {
      throw new OnnxImportError(
        `Cannot import ONNX node '${n.name}' (${n.opType}): input '${name}' must be a constant (an initializer)`,
      );
    }
    return c;
  };
  const add = (
    n: OnnxNode,
    op: OpName,
    inputs: string[],
    attrs: Attrs = {},
    params: Record<string, Tensor> = {},
  ) => {
    const node: GraphNode = {
      name: n.name,
      op,
      inputs: inputs.map((i) => producer.get(i)!.name),
      attrs,
      params,
      shape: [],
      aliases: n.outputs[0] !== n.name ? [n.outputs[0]] : [],
      sourceOp: n.opType,
    };
    try {
      node.shape = getRule<ShapeRule>("shape", op, node.name)(
        node,
        node.inputs.map((i) => nodeByName.get(i)!.shape),
      );
    } catch (e) {
      throw new OnnxImportError(`Cannot import ONNX node '${n.name}' (${n.opType}): ${(e as Error).message}`);
    }
    nodes.push(node);
    nodeByName.set(node.name, node);
    producer.set(n.outputs[0], node);
    return node;
  };
  const nodeByName = new Map<string, GraphNode>([[inputNode.name, inputNode]]);
  // Reused storage for weights whose values are only read by a transpose (conv, Gemm transB, 4-D consts)
  // and need a copy (unaligned in the file): one buffer as big as the largest such weight, instead of a
  // garbage array per weight that lives until the next GC.
  let scratchBuf = new ArrayBuffer(0);
  const scratch = (c: Const): ArrayBuffer => {
    const bytes = size(c.dims) * 4;
    if (scratchBuf.byteLength < bytes) scratchBuf = new ArrayBuffer(bytes);
    return scratchBuf;
  };
  // A constant operand of a data op becomes a `const` node in backend layout, broadcast-aligned to `rank`.
  const constNode = (name: string, rank: number, owner: OnnxNode): string => {
    const c = consts.get(name)!;
    const d = [...c.dims];
    while (d.length < rank) d.unshift(1);
    const w = d.length === 4 ? float32Of(c, 1, scratch(c)) : float32Of(c);
    let t = tf.tensor(d.length === 4 ? w.values : owned(w), d.length ? d : [1]);
    if (d.length === 4) {
      const tt = tf.transpose(t, [0, 2, 3, 1]);
      t.dispose();
      t = tt;
    }
    const nodeName = `${owner.name}/${name}`;
    const node: GraphNode = {
      name: nodeName,
      op: "const",
      inputs: [],
      attrs: {},
      params: { value: param(t) },
      shape: d.slice(1),
    };
    nodes.push(node);
    nodeByName.set(nodeName, node);
    producer.set(name, node);
    return name;
  };

  try {
    for (const n of g.nodes) {
      const a = n.attrs;
      const ins = n.inputs.filter((i) => i !== "");
      if (n.opType === "Constant") {
        const v = a.value ?? a.value_float ?? a.value_floats ?? a.value_int ?? a.value_ints;
        if (v && typeof v === "object" && "dims" in (v as object)) {
          consts.set(n.outputs[0], toConst(v as OnnxTensor));
        } else if (typeof v === "number") consts.set(n.outputs[0], { dims: [], data: Float64Array.of(v) });
        else if (Array.isArray(v)) {
          consts.set(n.outputs[0], { dims: [v.length], data: Float64Array.from(v as number[]) });
        } else {throw new OnnxImportError(
            `Cannot import ONNX node '${n.name}' (Constant): unsupported value attribute`,
          );}
        continue;
      }
      if (fold(n, ins, consts, fullShape)) continue;
      const x = ins[0];
      const xRank = () => fullShape(x).length;
      switch (n.opType) {
        case "Conv": {
          const w = constTensor(ins[1], n);
          const group = (a.group as number) ?? 1;
          const cin = fullShape(x)[1];
          const [kh, kw] = [w.dims[2], w.dims[3]];
          const strides = ints(a.strides, [1, 1]) as [number, number];
          const dil = ints(a.dilations, [1, 1]) as [number, number];
          const pads = autoPads(n, fullShape(x).slice(2), [kh, kw], strides, dil);
          // The transpose makes the weight's storage: the torch-layout values are only read, then dropped.
          const wt = tf.tensor4d(
            float32Of(w, 1, scratch(w)).values,
            w.dims as [number, number, number, number],
          );
          const params: Record<string, Tensor> = { weight: param(convWeightFromTorch(wt, group, cin)) };
          wt.dispose();
          if (ins[2]) params.bias = param(tf.tensor1d(owned(float32Of(constTensor(ins[2], n)))));
          add(n, "conv2d", [x], { strides, pads, dilations: dil, group }, params);
          break;
        }
        case "BatchNormalization": {
          const [s, b, m, v] = ins.slice(1).map((i) =>
            param(tf.tensor1d(owned(float32Of(constTensor(i, n)))))
          );
          add(n, "batchnorm", [x], { epsilon: (a.epsilon as number) ?? 1e-5 }, {
            scale: s,
            shift: b,
            mean: m,
            variance: v,
          });
          break;
        }
        case "Relu":
          add(n, "relu", [x]);
          break;
        case "LeakyRelu":
          add(n, "leakyrelu", [x], { alpha: (a.alpha as number) ?? 0.01 });
          break;
        case "Sigmoid":
          add(n, "sigmoid", [x]);
          break;
        case "HardSigmoid":
          add(n, "hardsigmoid", [x], { alpha: (a.alpha as number) ?? 0.2, beta: (a.beta as number) ?? 0.5 });
          break;
        case "HardSwish":
          add(n, "hardswish", [x]);
          break;
        case "Clip": {
          const min = ins[1] ? constTensor(ins[1], n).data[0] : (a.min as number) ?? -Infinity;
          const max = ins[2] ? constTensor(ins[2], n).data[0] : (a.max as number) ?? Infinity;
          add(n, min === 0 && max === Infinity ? "relu" : "clip", [x], { min, max });
          break;
        }
        case "Add":
        case "Sub":
        case "Mul":
        case "Div": {
          const rank = Math.max(...ins.map((i) => consts.has(i) ? 0 : fullShape(i).length));
          const operands = ins.map((i) => consts.has(i) ? constNode(i, rank, n) : i);
          add(n, n.opType.toLowerCase() as OpName, operands);
          break;
        }
        case "MaxPool":
        case "AveragePool": {
          const k = ints(a.kernel_shape, []) as [number, number];
          if (k.length !== 2) {
            throw new OnnxImportError(`Cannot import ONNX node '${n.name}': only 2-D pooling`);
          }
          if (ints(a.dilations, [1, 1]).some((d) => d !== 1)) {
            throw new OnnxImportError(
              `Cannot import ONNX node '${n.name}' (${n.opType}): dilated pooling is not supported`,
            );
          }
          const strides = ints(a.strides, [1, 1]) as [number, number];
          const pads = autoPads(n, fullShape(x).slice(2), k, strides, [1, 1]);
          add(n, n.opType === "MaxPool" ? "maxpool" : "avgpool", [x], {
            kernel: k,
            strides,
            pads,
            ceilMode: Boolean(a.ceil_mode),
            countIncludePad: Boolean(a.count_include_pad),
          });
          break;
        }
        case "GlobalAveragePool":
          add(n, "globalavgpool", [x]);
          break;
        case "GlobalMaxPool":
          add(n, "globalmaxpool", [x]);
          break;
        case "ReduceMean":
        case "ReduceMax": {
          const axes = ins[1] ? Array.from(constTensor(ins[1], n).data) : ints(a.axes, []);
          add(n, n.opType === "ReduceMean" ? "reducemean" : "reducemax", [x], {
            axes: axes.length ? axes : undefined,
            keepdims: (a.keepdims as number ?? 1) === 1,
          });
          break;
        }
        case "Concat": {
          const rank = xRank();
          const operands = ins.map((i) => consts.has(i) ? constNode(i, rank, n) : i);
          add(n, "concat", operands, { axis: a.axis as number });
          break;
        }
        case "Flatten": {
          const axis = (a.axis as number) ?? 1;
          if (axis !== 1) {
            throw new OnnxImportError(`Cannot import ONNX node '${n.name}' (Flatten): only axis=1`);
          }
          add(n, "flatten", [x]);
          break;
        }
        case "Reshape": {
          const target = Array.from(constTensor(ins[1], n).data);
          add(n, "reshape", [x], { shape: reshapeTarget(n, fullShape(x), target) });
          break;
        }
        case "Squeeze":
        case "Unsqueeze": {
          const axes = ins[1] ? Array.from(constTensor(ins[1], n).data) : ints(a.axes, []);
          const s = fullShape(x);
          let out: number[];
          if (n.opType === "Squeeze") {
            const ax = axes.map((v) => v < 0 ? v + s.length : v);
            out = s.filter((d, i) => ax.length ? !ax.includes(i) : d !== 1);
          } else {
            out = [...s];
            const r = s.length + axes.length;
            for (const v of axes.map((v) => v < 0 ? v + r : v).sort((p, q) => p - q)) out.splice(v, 0, 1);
          }
          add(n, "reshape", [x], { shape: out.slice(1) });
          break;
        }
        case "Transpose": {
          const perm = ints(a.perm, [...Array(xRank()).keys()].reverse());
          if (perm[0] !== 0) {
            throw new OnnxImportError(
              `Cannot import ONNX node '${n.name}' (Transpose): the batch axis must stay first`,
            );
          }
          add(n, "transpose", [x], { perm });
          break;
        }
        case "Gemm":
        case "MatMul": {
          if (a.transA) {
            throw new OnnxImportError(
              `Cannot import ONNX node '${n.name}' (Gemm): transA=1 is not supported`,
            );
          }
          const w = constTensor(ins[1], n);
          const alpha = (a.alpha as number) ?? 1;
          const beta = (a.beta as number) ?? 1;
          const wv = a.transB ? float32Of(w, alpha, scratch(w)) : float32Of(w, alpha);
          let wt = tf.tensor2d(a.transB ? wv.values : owned(wv), w.dims as [number, number]);
          if (a.transB) {
            const t = tf.transpose(wt);
            wt.dispose();
            wt = t;
          }
          const params: Record<string, Tensor> = { weight: param(wt) };
          if (n.opType === "Gemm" && ins[2]) {
            const c = constTensor(ins[2], n);
            params.bias = param(tf.tensor1d(owned(float32Of(c, beta))));
          }
          add(n, "gemm", [x], {}, params);
          break;
        }
        case "Softmax":
          add(n, "softmax", [x], { axis: (a.axis as number) ?? (model.opset >= 13 ? -1 : 1) });
          break;
        case "Pad": {
          const pads = ins[1] ? Array.from(constTensor(ins[1], n).data) : ints(a.pads, []);
          const value = ins[2] ? constTensor(ins[2], n).data[0] : (a.value as number) ?? 0;
          const r = pads.length / 2;
          if (pads[0] || pads[r]) {
            throw new OnnxImportError(
              `Cannot import ONNX node '${n.name}' (Pad): the batch axis cannot be padded`,
            );
          }
          const mode = ((a.mode as string) ?? "constant") as "constant" | "reflect" | "edge";
          add(n, "pad", [x], { padding: [...pads.slice(1, r), ...pads.slice(r + 1)], mode, value });
          break;
        }
        case "Identity":
        case "Dropout":
        case "Cast":
          add(n, "identity", [x]);
          break;
        default:
          throw new OnnxImportError(
            `Cannot import ONNX model: unsupported op '${n.opType}' at node '${n.name}' (supported: ${
              ONNX_OPS.join(", ")
            })`,
          );
      }
    }
    const outName = g.outputs[0]?.name;
    const out = producer.get(outName);
    if (!out) {
      throw new OnnxImportError(`Cannot import ONNX model: output '${outName}' is not computed by any node`);
    }
    return new Graph(nodes, { input: inputNode.name, output: out.name });
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

function autoPads(
  n: OnnxNode,
  spatial: number[],
  k: number[],
  s: number[],
  d: number[],
): [number, number, number, number] {
  const mode = (n.attrs.auto_pad as string) ?? "NOTSET";
  if (mode === "NOTSET") {
    const p = ints(n.attrs.pads, [0, 0, 0, 0]);
    return [p[0], p[1], p[2], p[3]];
  }
  if (mode === "VALID") return [0, 0, 0, 0];
  const total = spatial.map((size, i) => {
    const out = Math.ceil(size / s[i]);
    return Math.max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size);
  });
  const lo = total.map((t) => mode === "SAME_UPPER" ? Math.floor(t / 2) : Math.ceil(t / 2));
  return [lo[0], lo[1], total[0] - lo[0], total[1] - lo[1]];
}

function reshapeTarget(n: OnnxNode, inShape: number[], target: number[]): number[] {
  const t = target.map((v, i) => v === 0 && !n.attrs.allowzero ? inShape[i] : v);
  if (t.length === 0) {
    throw new OnnxImportError(`Cannot import ONNX node '${n.name}' (Reshape): empty target shape`);
  }
  // The first entry is the batch (1, -1 or the folded batch size): keep the per-sample part.
  const perSample = t.slice(1);
  if (t[0] === -1) {
    const known = perSample.reduce((a, b) => a * (b === -1 ? 1 : b), 1);
    if (perSample.includes(-1) || size(inShape.slice(1)) !== known) {
      throw new OnnxImportError(
        `Cannot import ONNX node '${n.name}' (Reshape): a target [${target}] that moves data across the batch axis is not supported`,
      );
    }
  }
  return perSample;
}

/** Fold a node whose inputs are all constants (or Shape of a known tensor). Returns true if folded. */
function fold(
  n: OnnxNode,
  ins: string[],
  consts: Map<string, Const>,
  shapeOf: (t: string) => number[],
): boolean {
  const out = n.outputs[0];
  if (n.opType === "Shape") {
    const s = shapeOf(ins[0]);
    consts.set(out, { dims: [s.length], data: Float64Array.from(s) });
    return true;
  }
  if (!ins.every((i) => consts.has(i))) return false;
  const c = ins.map((i) => consts.get(i)!);
  const a = n.attrs;
  switch (n.opType) {
    case "Identity":
    case "Cast":
    case "Dropout":
      consts.set(out, c[0]);
      return true;
    case "Gather": {
      const axis = (a.axis as number) ?? 0;
      if (c[0].dims.length !== 1 || axis !== 0) return false;
      const idx = Array.from(c[1].data).map((v) => v < 0 ? v + c[0].data.length : v);
      consts.set(out, { dims: c[1].dims, data: Float64Array.from(idx.map((i) => c[0].data[i])) });
      return true;
    }
    case "Unsqueeze":
    case "Squeeze":
    case "Reshape":
    case "Flatten": {
      const n0 = c[0].data.length;
      consts.set(out, {
        dims: n.opType === "Unsqueeze" && c[0].dims.length === 0 ? [1] : [n0],
        data: c[0].data,
      });
      return true;
    }
    case "Concat":
      consts.set(out, {
        dims: [c.reduce((s, x) => s + x.data.length, 0)],
        data: Float64Array.from(c.flatMap((x) => Array.from(x.data))),
      });
      return true;
    case "Add":
    case "Sub":
    case "Mul":
    case "Div": {
      if (c[0].data.length !== c[1].data.length && c[1].data.length !== 1 && c[0].data.length !== 1) {
        return false;
      }
      const len = Math.max(c[0].data.length, c[1].data.length);
      const get = (x: Const, i: number) => x.data.length === 1 ? x.data[0] : x.data[i];
      const f = {
        Add: (p: number, q: number) => p + q,
        Sub: (p: number, q: number) => p - q,
        Mul: (p: number, q: number) => p * q,
        Div: (p: number, q: number) => Math.trunc(p / q),
      }[n.opType]!;
      const data = Float64Array.from({ length: len }, (_, i) => f(get(c[0], i), get(c[1], i)));
      consts.set(out, { dims: c[0].data.length >= c[1].data.length ? c[0].dims : c[1].dims, data });
      return true;
    }
    case "ConstantOfShape": {
      const dims = Array.from(c[0].data);
      const v = a.value ? toConst(a.value as OnnxTensor).data[0] : 0;
      consts.set(out, { dims, data: new Float64Array(size(dims)).fill(v) });
      return true;
    }
    case "Slice": {
      if (c[0].dims.length !== 1) return false;
      const [start, end] = [c[1].data[0], c[2].data[0]];
      const len = c[0].data.length;
      const s = Math.max(0, start < 0 ? start + len : Math.min(start, len));
      const e = Math.min(len, end < 0 ? end + len : end);
      consts.set(out, { dims: [Math.max(0, e - s)], data: c[0].data.slice(s, e) });
      return true;
    }
  }
  return false;
}
