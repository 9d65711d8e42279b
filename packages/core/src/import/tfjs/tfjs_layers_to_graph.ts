/**
 * TensorFlow.js / Keras **layers** model → cnnlens graph.
 *
 * Each Keras layer becomes one core node named after the layer, holding the layer's output; a layer with
 * a fused `activation` becomes two nodes, `<layer>/linear` (what the layer computes with a linear
 * activation) and `<layer>` (after the activation). Keras tensors are NHWC; the core graph is NCHW in
 * its public shapes and NHWC inside, so convolution kernels ([kh, kw, cin, cout]) are used as they are.
 * The one place where the two orders differ is flattening: Keras flattens a feature map in H, W, C order,
 * the core in C, H, W order. A `Flatten` therefore keeps the core order and the import permutes the rows
 * of the `Dense` kernel (and the parameters of a `BatchNormalization`) that read it, so outputs are equal;
 * where a flattened vector meets anything else (a `Concatenate`, a `Reshape`, the model output), explicit
 * reshape/transpose/flatten nodes (`<flatten>/hwc_order`) put it in Keras order first.
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import type { Attrs, OpName } from "../../graph/node.ts";
import type { Tensor } from "../../tf.ts";
import { Emitter, nhwcAxis, orderFree } from "./_emitter.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import type { TfjsWeight } from "./tfjs_weights.ts";

/** A Keras layer as serialized in `modelTopology`. */
export interface KerasLayerJson {
  /** Layer class, e.g. `Conv2D`. */
  class_name: string;
  /** Layer configuration (snake_case keys, Keras style). */
  config: Record<string, unknown>;
  /** Layer name (functional models; Sequential layers carry it in `config.name`). */
  name?: string;
  /** Calls of the layer in a functional model (Keras 2 lists or Keras 3 `{args, kwargs}` objects). */
  inbound_nodes?: unknown[];
}

/** Options for {@linkcode tfjsLayersToGraph}. */
export interface TfjsLayersOptions {
  /** Input size [H, W] for models whose input has unknown spatial dimensions. */
  size?: [number, number];
}

/** Keras layer classes the importer understands. */
export const TFJS_LAYER_CLASSES = [
  "InputLayer",
  "Conv2D",
  "DepthwiseConv2D",
  "SeparableConv2D",
  "Dense",
  "BatchNormalization",
  "Activation",
  "ReLU",
  "LeakyReLU",
  "Softmax",
  "MaxPooling2D",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "GlobalMaxPooling2D",
  "Add",
  "Subtract",
  "Multiply",
  "Average",
  "Concatenate",
  "Flatten",
  "Reshape",
  "ZeroPadding2D",
  "Rescaling",
  "Dropout",
  "SpatialDropout2D",
  "GaussianNoise",
  "GaussianDropout",
  "AlphaDropout",
  "ActivityRegularization",
  "Sequential",
  "Model",
  "Functional",
];

/** Activations the importer understands (Keras spelling; tfjs's camelCase is accepted too). */
export const TFJS_ACTIVATIONS = [
  "linear",
  "relu",
  "relu6",
  "sigmoid",
  "hard_sigmoid",
  "softmax",
  "swish",
  "silu",
  "hard_swish",
  "hard_silu",
  "leaky_relu",
];

const IDENTITY = new Set([
  "Dropout",
  "SpatialDropout2D",
  "GaussianNoise",
  "GaussianDropout",
  "AlphaDropout",
  "ActivityRegularization",
]);
const MODELS = new Set(["Sequential", "Model", "Functional"]);

/**
 * A core node and, for a flattened feature map, the [C, H, W] shape it was flattened from: its entries
 * are then in C, H, W order where Keras holds H, W, C order.
 */
interface Ref {
  node: string;
  chw?: [number, number, number];
}

type Cfg = Record<string, unknown>;

function fail(msg: string): never {
  throw new TfjsImportError(`Cannot import TensorFlow.js model: ${msg}`);
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === "number") return [v, v];
  const a = v as number[];
  return a.length === 1 ? [a[0], a[0]] : [a[0], a[1]];
}

/** Keras 'same' padding [top, left, bottom, right]: total = max((out − 1)·s + k_eff − in, 0), top = ⌊total/2⌋. */
function samePads(
  h: number,
  w: number,
  k: [number, number],
  s: [number, number],
  d: [number, number],
): [number, number, number, number] {
  const [th, tw] = [[h, 0], [w, 1]].map(([size, i]) => {
    const keff = (k[i] - 1) * d[i] + 1;
    const out = Math.ceil(size / s[i]);
    return Math.max((out - 1) * s[i] + keff - size, 0);
  });
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/** Index permutation: core (C, H, W-ordered) feature i reads Keras (H, W, C-ordered) feature perm[i]. */
function chwToHwc([c, h, w]: [number, number, number]): Int32Array {
  const perm = new Int32Array(c * h * w);
  for (let ci = 0; ci < c; ci++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) perm[(ci * h + y) * w + x] = (y * w + x) * c + ci;
    }
  }
  return perm;
}

/** Rows of a [rows, cols] row-major matrix, reordered: out row i = in row perm[i]. */
function permuteRows(data: Float32Array, cols: number, perm: Int32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < perm.length; i++) {
    out.set(data.subarray(perm[i] * cols, (perm[i] + 1) * cols), i * cols);
  }
  return out;
}

/** Converts one Keras model config (recursively for nested models). */
class LayersConverter {
  readonly em = new Emitter();
  readonly #weights: Map<string, TfjsWeight>;
  readonly #keras3: boolean;
  readonly #size?: [number, number];
  readonly #hwc = new Map<string, string>();

  constructor(weights: Map<string, TfjsWeight>, keras3: boolean, size?: [number, number]) {
    this.#weights = weights;
    this.#keras3 = keras3;
    this.#size = size;
  }

  /** The input shape (per-sample NCHW) from a Keras batch shape. */
  inputShape(batchShape: unknown, where: string): number[] {
    if (!Array.isArray(batchShape)) fail(`${where} has no input shape (batch_input_shape)`);
    const dims = (batchShape as (number | null)[]).slice(1).map((d, i, all) => {
      if (typeof d === "number" && d > 0) return d;
      if (all.length === 3 && i < 2 && this.#size) return this.#size[i];
      fail(
        `${where} has an unknown input dimension ${i + 1} (shape [${
          (batchShape as unknown[]).map((x) => x ?? "null")
        }]); pass the input size`,
      );
    });
    if (dims.length === 3) return [dims[2], dims[0], dims[1]];
    if (dims.length === 1 || dims.length === 2) return dims;
    fail(`${where} has a rank-${dims.length + 1} input; only images (N, H, W, C) and vectors are supported`);
  }

  /** Convert a model config applied to `input` (null: the model's own input layer). */
  model(topology: KerasLayerJson, input: Ref | null, prefix: string): { input: string; output: Ref } {
    const cls = topology.class_name;
    const cfg = topology.config as Cfg | KerasLayerJson[];
    if (cls === "Sequential") {
      const layers = (Array.isArray(cfg) ? cfg : (cfg.layers as KerasLayerJson[])) ?? [];
      if (!layers.length) fail(`Sequential model '${prefix}' has no layers`);
      let ref: Ref;
      let inputName: string;
      let rest = layers;
      if (input) {
        ref = input;
        inputName = input.node;
        if (layers[0].class_name === "InputLayer") rest = layers.slice(1);
      } else {
        const first = layers[0];
        const fcfg = first.config;
        const where = `layer '${fcfg.name}' (class ${first.class_name})`;
        const shape = this.inputShape(batchShapeOf(first), where);
        if (first.class_name === "InputLayer") {
          inputName = this.em.input(String(fcfg.name), shape);
          rest = layers.slice(1);
        } else inputName = this.em.input(`${fcfg.name}_input`, shape);
        ref = { node: inputName };
      }
      for (const l of rest) ref = this.layer(l, [ref], String(l.config.name ?? l.name));
      return { input: inputName, output: ref };
    }
    if (cls === "Model" || cls === "Functional") return this.functional(cfg as Cfg, input);
    fail(`unsupported model class '${cls}' (supported: Sequential, Model, Functional)`);
  }

  functional(cfg: Cfg, input: Ref | null): { input: string; output: Ref } {
    const layers = cfg.layers as KerasLayerJson[];
    const ins = tensorRefs(cfg.input_layers);
    const outs = tensorRefs(cfg.output_layers);
    if (ins.length !== 1) {
      fail(
        `the model has ${ins.length} inputs (${ins.map((r) => r[0]).join(", ")}); cnnlens needs exactly one`,
      );
    }
    if (outs.length !== 1) {
      fail(
        `the model has ${outs.length} outputs (${
          outs.map((r) => r[0]).join(", ")
        }); cnnlens needs exactly one`,
      );
    }
    const byName = new Map(layers.map((l) => [String(l.name ?? l.config.name), l]));
    const tensors = new Map<string, Ref>();
    const inLayer = byName.get(ins[0][0]);
    if (!inLayer) fail(`input layer '${ins[0][0]}' is not among the model's layers`);
    let inputName: string;
    if (input) {
      inputName = input.node;
      tensors.set(`${ins[0][0]}#0`, input);
    } else {
      const where = `layer '${ins[0][0]}' (class ${inLayer.class_name})`;
      const c = inLayer.config;
      inputName = this.em.input(ins[0][0], this.inputShape(c.batch_input_shape ?? c.batch_shape, where));
      tensors.set(`${ins[0][0]}#0`, { node: inputName });
    }
    // Calls of every layer; process those whose inputs are ready until none is left.
    const pending: {
      layer: KerasLayerJson;
      name: string;
      index: number;
      inputs: [string, number, number][];
    }[] = [];
    const calls = layers.map((l) => (l.inbound_nodes ?? []).map(callInputs));
    // A nested model's node 0 is its own input: Keras and tfjs number its calls from 1, unless the
    // model was built without an input (then some reference uses node 0).
    const refs = [...calls.flat(2), ...outs].map(([n, k]) => `${n}#${k}`);
    layers.forEach((l, li) => {
      if (l.class_name === "InputLayer") return;
      const name = String(l.name ?? l.config.name);
      const offset = MODELS.has(l.class_name) && !refs.includes(`${name}#0`) ? 1 : 0;
      calls[li].forEach((inputs, i) => pending.push({ layer: l, name, index: i + offset, inputs }));
    });
    while (pending.length) {
      const i = pending.findIndex((p) => p.inputs.every(([n, k]) => tensors.has(`${n}#${k}`)));
      if (i < 0) {
        const p = pending[0];
        const missing = p.inputs.find(([n, k]) => !tensors.has(`${n}#${k}`))!;
        fail(`layer '${p.name}' reads '${missing[0]}' (call ${missing[1]}), which no layer computes`);
      }
      const p = pending.splice(i, 1)[0];
      for (const [n, , t] of p.inputs) {
        if (t !== 0) {
          fail(
            `layer '${p.name}' reads output ${t} of layer '${n}'; only single-output layers are supported`,
          );
        }
      }
      const refs = p.inputs.map(([n, k]) => tensors.get(`${n}#${k}`)!);
      tensors.set(
        `${p.name}#${p.index}`,
        this.layer(p.layer, refs, p.index ? `${p.name}_${p.index}` : p.name),
      );
    }
    const out = tensors.get(`${outs[0][0]}#${outs[0][1]}`);
    if (!out) fail(`output layer '${outs[0][0]}' is not computed from the input`);
    return { input: inputName, output: out };
  }

  /** A node holding `ref` in Keras (H, W, C) order. */
  materialize(ref: Ref): string {
    if (!ref.chw) return ref.node;
    const done = this.#hwc.get(ref.node);
    if (done) return done;
    const where = `reordering '${ref.node}' to Keras order`;
    const base = `${ref.node}/hwc_order`;
    const t = this.em.toHwc(ref.node, `${base}/transpose`, where, "Flatten", ref.chw);
    const f = this.em.add(base, "flatten", [t], {}, {}, where, { sourceOp: "Flatten" });
    this.#hwc.set(ref.node, f);
    return f;
  }

  weight(layer: string, cls: string, key: string, shape: number[]): { data: Float32Array; name: string } {
    const names = [`${layer}/${key}`, `${layer}/${key}:0`];
    let w = names.map((n) => this.#weights.get(n)).find((x) => x);
    if (!w) {
      const cands = [...this.#weights.keys()].filter((n) => names.some((s) => n.endsWith(`/${s}`)));
      if (cands.length === 1) w = this.#weights.get(cands[0]);
    }
    if (!w) {
      fail(
        `layer '${layer}' (class ${cls}) needs weight '${layer}/${key}', which the weights manifest lacks`,
      );
    }
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      fail(`layer '${layer}' (class ${cls}): weight '${w.name}' has shape [${w.shape}], expected [${shape}]`);
    }
    return { data: w.data, name: w.name };
  }

  /** Normalised activation name, or an error naming the layer. */
  activation(act: unknown, layer: string, cls: string): string {
    const name = act === undefined || act === null ? "linear" : String(
      typeof act === "object" ? ((act as Cfg).config as Cfg)?.name ?? (act as Cfg).class_name : act,
    );
    const key = name.replace(/_/g, "").toLowerCase();
    const known = [
      "linear",
      "relu",
      "relu6",
      "sigmoid",
      "hardsigmoid",
      "softmax",
      "swish",
      "silu",
      "hardswish",
      "hardsilu",
      "leakyrelu",
    ];
    if (!known.includes(key)) {
      fail(
        `unsupported layer '${layer}' (class ${cls}): activation '${name}' is not supported (supported: ${
          TFJS_ACTIVATIONS.join(", ")
        })`,
      );
    }
    return key;
  }

  /** Emit activation `key` on node `x`; the last node is named `name`. */
  applyActivation(key: string, x: string, name: string, where: string, cls: string): string {
    const rank = this.em.shape(x).length;
    const add = (n: string, op: OpName, inputs: string[], attrs: Attrs = {}) =>
      this.em.add(n, op, inputs, attrs, {}, where, { sourceOp: cls });
    switch (key) {
      case "linear":
        return add(name, "identity", [x]);
      case "relu":
        return add(name, "relu", [x]);
      case "relu6":
        return add(name, "clip", [x], { min: 0, max: 6 });
      case "sigmoid":
        return add(name, "sigmoid", [x]);
      case "hardsigmoid":
        // Keras 2 and tfjs: clip(0.2·x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6.
        return add(
          name,
          "hardsigmoid",
          [x],
          this.#keras3 ? { alpha: 1 / 6, beta: 0.5 } : { alpha: 0.2, beta: 0.5 },
        );
      case "softmax":
        return add(name, "softmax", [x], { axis: rank === 3 ? 1 : -1 });
      case "swish":
      case "silu": {
        const s = add(`${name}/sigmoid`, "sigmoid", [x]);
        return add(name, "mul", [x, s]);
      }
      case "hardswish":
      case "hardsilu":
        return add(name, "hardswish", [x]);
      case "leakyrelu":
        return add(name, "leakyrelu", [x], { alpha: 0.2 });
    }
    fail(`internal: activation '${key}'`);
  }

  /** Convert one layer call. */
  layer(l: KerasLayerJson, inputs: Ref[], name: string): Ref {
    const cls = l.class_name;
    const cfg = l.config ?? {};
    const layerName = String(cfg.name ?? l.name ?? name);
    const where = `layer '${name}' (class ${cls})`;
    if (MODELS.has(cls)) {
      if (inputs.length !== 1) fail(`${where} is a nested model called on ${inputs.length} inputs`);
      return this.model(l, inputs[0], name).output;
    }
    if (!TFJS_LAYER_CLASSES.includes(cls)) {
      fail(`unsupported layer '${name}' (class ${cls}); supported classes: ${TFJS_LAYER_CLASSES.join(", ")}`);
    }
    if (cfg.data_format === "channels_first") fail(`${where}: data_format 'channels_first' is not supported`);
    const add = (
      n: string,
      op: OpName,
      ins: string[],
      attrs: Attrs = {},
      params: Record<string, Tensor> = {},
      paramNames?: Record<string, string>,
    ) => this.em.add(n, op, ins, attrs, params, where, { sourceOp: cls, paramNames });
    const one = (): Ref => {
      if (inputs.length !== 1) fail(`${where} takes one input, got ${inputs.length}`);
      return inputs[0];
    };
    const x = () => this.materialize(one());
    const shapeOf = (n: string) => this.em.shape(n);
    const spatial = (n: string) => {
      const s = shapeOf(n);
      if (s.length !== 3) fail(`${where} needs a feature map (N, H, W, C), got per-sample shape [${s}]`);
      return s;
    };
    const finish = (pre: string, act: string): Ref => ({
      node: act === "linear" ? pre : this.applyActivation(act, pre, name, where, cls),
    });
    const param = (
      key: string,
      shape: number[],
      names: Record<string, string>,
      permute?: Int32Array,
      stored: number[] = shape,
    ) => {
      const w = this.weight(layerName, cls, key, shape);
      names[key] = w.name;
      const cols = shape.slice(1).reduce((a, b) => a * b, 1);
      return this.em.param(permute ? permuteRows(w.data, cols, permute) : w.data, stored);
    };

    switch (cls) {
      case "InputLayer":
        return one();
      case "Conv2D":
      case "DepthwiseConv2D":
      case "SeparableConv2D": {
        const act = this.activation(cfg.activation, name, cls);
        const xi = x();
        const [cin, h, w] = spatial(xi);
        const k = pair(cfg.kernel_size, 1);
        const strides = pair(cfg.strides, 1);
        const dil = pair(cfg.dilation_rate, 1);
        const padding = String(cfg.padding ?? "valid").toLowerCase();
        if (padding !== "same" && padding !== "valid") {
          fail(`${where}: padding '${padding}' is not supported`);
        }
        const pads = padding === "same"
          ? samePads(h, w, k, strides, dil)
          : [0, 0, 0, 0] as [number, number, number, number];
        const useBias = cfg.use_bias !== false;
        const pre = act === "linear" ? name : `${name}/linear`;
        const names: Record<string, string> = {};
        if (cls === "Conv2D") {
          const groups = Number(cfg.groups ?? 1);
          const filters = Number(cfg.filters);
          const params: Record<string, Tensor> = {
            weight: param("kernel", [k[0], k[1], cin / groups, filters], names),
          };
          if (useBias) params.bias = param("bias", [filters], names);
          const paramNames = { weight: names.kernel, ...(useBias ? { bias: names.bias } : {}) };
          add(pre, "conv2d", [xi], { strides, pads, dilations: dil, group: groups }, params, paramNames);
          return finish(pre, act);
        }
        const mult = Number(cfg.depth_multiplier ?? 1);
        const dwParams: Record<string, Tensor> = {
          weight: param("depthwise_kernel", [k[0], k[1], cin, mult], names),
        };
        const dwAttrs: Attrs = { strides, pads, dilations: dil, group: cin };
        if (cls === "DepthwiseConv2D") {
          if (useBias) dwParams.bias = param("bias", [cin * mult], names);
          add(pre, "conv2d", [xi], dwAttrs, dwParams, {
            weight: names.depthwise_kernel,
            ...(useBias ? { bias: names.bias } : {}),
          });
          return finish(pre, act);
        }
        const filters = Number(cfg.filters);
        const dw = add(`${name}/depthwise`, "conv2d", [xi], dwAttrs, dwParams, {
          weight: names.depthwise_kernel,
        });
        const pwParams: Record<string, Tensor> = {
          weight: param("pointwise_kernel", [1, 1, cin * mult, filters], names),
        };
        if (useBias) pwParams.bias = param("bias", [filters], names);
        add(
          pre,
          "conv2d",
          [dw],
          { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
          pwParams,
          {
            weight: names.pointwise_kernel,
            ...(useBias ? { bias: names.bias } : {}),
          },
        );
        return finish(pre, act);
      }
      case "Dense": {
        const act = this.activation(cfg.activation, name, cls);
        const r = one();
        const units = Number(cfg.units);
        const useBias = cfg.use_bias !== false;
        const pre = act === "linear" ? name : `${name}/linear`;
        const names: Record<string, string> = {};
        const s = shapeOf(r.node);
        const params: Record<string, Tensor> = {};
        if (s.length === 3) {
          // Dense on a feature map acts on the channel axis: a 1×1 convolution.
          params.weight = param("kernel", [s[0], units], names, undefined, [1, 1, s[0], units]);
          if (useBias) params.bias = param("bias", [units], names);
          add(
            pre,
            "conv2d",
            [r.node],
            { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
            params,
            {
              weight: names.kernel,
              ...(useBias ? { bias: names.bias } : {}),
            },
          );
          return finish(pre, act);
        }
        if (s.length !== 1) {
          fail(`${where} on a per-sample shape [${s}] is not supported (vectors and feature maps only)`);
        }
        // Keras flattened in H, W, C order; the core vector is in C, H, W order: reorder the kernel rows.
        params.weight = param("kernel", [s[0], units], names, r.chw ? chwToHwc(r.chw) : undefined);
        if (useBias) params.bias = param("bias", [units], names);
        add(pre, "gemm", [r.node], {}, params, {
          weight: names.kernel,
          ...(useBias ? { bias: names.bias } : {}),
        });
        return finish(pre, act);
      }
      case "BatchNormalization": {
        const r = one();
        const s = shapeOf(r.node);
        const axes = (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1]) as number[];
        const rank = s.length + 1;
        if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== rank - 1)) {
          fail(
            `${where}: normalising axis ${
              JSON.stringify(cfg.axis)
            } is not supported (only the channel axis, -1)`,
          );
        }
        const c = s[0];
        if (s.length === 2) fail(`${where} on a per-sample shape [${s}] is not supported`);
        const perm = r.chw ? chwToHwc(r.chw) : undefined;
        const names: Record<string, string> = {};
        const vec = (key: string, fill: number) =>
          cfg[key === "gamma" ? "scale" : "center"] === false
            ? this.em.param(new Float32Array(c).fill(fill), [c])
            : param(key, [c], names, perm);
        const params = {
          scale: vec("gamma", 1),
          shift: vec("beta", 0),
          mean: param("moving_mean", [c], names, perm),
          variance: param("moving_variance", [c], names, perm),
        };
        add(name, "batchnorm", [r.node], { epsilon: Number(cfg.epsilon ?? 1e-3) }, params, {
          ...(names.gamma ? { scale: names.gamma } : {}),
          ...(names.beta ? { shift: names.beta } : {}),
          mean: names.moving_mean,
          variance: names.moving_variance,
        });
        return { node: name, chw: r.chw };
      }
      case "Activation": {
        // Every activation is elementwise or (softmax over a vector) permutation-equivariant: a
        // flattened vector keeps its order.
        const key = this.activation(cfg.activation, name, cls);
        const r = one();
        return { node: this.applyActivation(key, r.node, name, where, cls), chw: r.chw };
      }
      case "ReLU": {
        const r = one();
        const max = cfg.max_value === null || cfg.max_value === undefined ? Infinity : Number(cfg.max_value);
        const slope = Number(cfg.negative_slope ?? 0);
        const threshold = Number(cfg.threshold ?? 0);
        if (threshold !== 0) {
          fail(`unsupported layer '${name}' (class ReLU): threshold ${threshold} is not supported (only 0)`);
        }
        let node: string;
        if (slope !== 0) {
          node = add(max === Infinity ? name : `${name}/leaky`, "leakyrelu", [r.node], { alpha: slope });
          if (max !== Infinity) node = add(name, "clip", [node], { min: -Infinity, max });
        } else {node = max === Infinity
            ? add(name, "relu", [r.node])
            : add(name, "clip", [r.node], { min: 0, max });}
        return { node, chw: r.chw };
      }
      case "LeakyReLU": {
        const r = one();
        const alpha = Number(cfg.alpha ?? cfg.negative_slope ?? 0.3);
        return { node: add(name, "leakyrelu", [r.node], { alpha }), chw: r.chw };
      }
      case "Softmax": {
        const r = one();
        const rank = shapeOf(r.node).length;
        const axis = Number(Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis ?? -1);
        const node = add(name, "softmax", [r.node], { axis: kerasAxis(axis, rank, where) });
        return { node, chw: rank === 1 ? r.chw : undefined };
      }
      case "MaxPooling2D":
      case "AveragePooling2D": {
        const xi = x();
        const [, h, w] = spatial(xi);
        const k = pair(cfg.pool_size, 2);
        const strides = cfg.strides === null || cfg.strides === undefined ? k : pair(cfg.strides, 1);
        const padding = String(cfg.padding ?? "valid").toLowerCase();
        if (padding !== "same" && padding !== "valid") {
          fail(`${where}: padding '${padding}' is not supported`);
        }
        const pads = padding === "same"
          ? samePads(h, w, k, strides, [1, 1])
          : [0, 0, 0, 0] as [number, number, number, number];
        // TensorFlow's 'same' average pooling divides by the number of real pixels in the window.
        const node = add(name, cls === "MaxPooling2D" ? "maxpool" : "avgpool", [xi], {
          kernel: k,
          strides,
          pads,
          countIncludePad: false,
          ceilMode: false,
        });
        return { node };
      }
      case "GlobalAveragePooling2D":
      case "GlobalMaxPooling2D": {
        const xi = x();
        spatial(xi);
        const op = cls === "GlobalAveragePooling2D" ? "globalavgpool" : "globalmaxpool";
        if (cfg.keepdims === true) return { node: add(name, op, [xi]) };
        const p = add(`${name}/pool`, op, [xi]);
        return { node: add(name, "flatten", [p]) };
      }
      case "Add":
      case "Subtract":
      case "Multiply":
      case "Average": {
        if (inputs.length < 2) fail(`${where} needs at least two inputs, got ${inputs.length}`);
        if (cls === "Subtract" && inputs.length !== 2) fail(`${where} needs exactly two inputs`);
        const sameOrder = inputs.every((r) => JSON.stringify(r.chw) === JSON.stringify(inputs[0].chw));
        let ins = inputs.map((r) => (sameOrder ? r.node : this.materialize(r)));
        const rank = Math.max(...ins.map((n) => shapeOf(n).length));
        // Keras broadcasts a vector against a feature map along the channel axis.
        ins = ins.map((n, i) => {
          const s = shapeOf(n);
          return rank === 3 && s.length === 1
            ? add(`${name}/expand_${i}`, "reshape", [n], { shape: [s[0], 1, 1] })
            : n;
        });
        const op: OpName = cls === "Multiply" ? "mul" : cls === "Subtract" ? "sub" : "add";
        let acc = ins[0];
        const last = cls === "Average" ? `${name}/sum` : name;
        for (let i = 1; i < ins.length; i++) {
          acc = add(i === ins.length - 1 ? last : `${name}/partial_${i}`, op, [acc, ins[i]]);
        }
        if (cls === "Average") {
          const k = this.em.scalar(`${name}/inv_count`, 1 / ins.length, rank);
          acc = add(name, "mul", [acc, k]);
        }
        return { node: acc, chw: sameOrder ? inputs[0].chw : undefined };
      }
      case "Concatenate": {
        const ins = inputs.map((r) => this.materialize(r));
        const rank = shapeOf(ins[0]).length;
        return { node: add(name, "concat", ins, { axis: kerasAxis(Number(cfg.axis ?? -1), rank, where) }) };
      }
      case "Flatten": {
        const r = one();
        const s = shapeOf(r.node);
        if (s.length === 1) return { node: add(name, "identity", [r.node]), chw: r.chw };
        if (s.length === 3 && !orderFree(s)) {
          return { node: add(name, "flatten", [r.node]), chw: [s[0], s[1], s[2]] };
        }
        return { node: add(name, "flatten", [r.node]) };
      }
      case "Reshape":
        return { node: this.em.reshapeNhwc(x(), (cfg.target_shape as number[]) ?? [], name, where, cls) };
      case "ZeroPadding2D": {
        const xi = x();
        spatial(xi);
        const p = cfg.padding ?? 1;
        let hp: [number, number];
        let wp: [number, number];
        if (typeof p === "number") [hp, wp] = [[p, p], [p, p]];
        else {
          const a = p as (number | number[])[];
          hp = typeof a[0] === "number" ? [a[0], a[0]] : [a[0][0], a[0][1]];
          wp = typeof a[1] === "number" ? [a[1], a[1]] : [(a[1] as number[])[0], (a[1] as number[])[1]];
        }
        return {
          node: add(name, "pad", [xi], {
            padding: [0, hp[0], wp[0], 0, hp[1], wp[1]],
            mode: "constant",
            value: 0,
          }),
        };
      }
      case "Rescaling": {
        const xi = x();
        const rank = shapeOf(xi).length;
        const scale = Number(cfg.scale ?? 1);
        const offset = Number(cfg.offset ?? 0);
        const m = add(offset === 0 ? name : `${name}/scale`, "mul", [
          xi,
          this.em.scalar(`${name}/scale_value`, scale, rank),
        ]);
        if (offset === 0) return { node: m };
        return { node: add(name, "add", [m, this.em.scalar(`${name}/offset_value`, offset, rank)]) };
      }
    }
    if (IDENTITY.has(cls)) {
      const r = one();
      return { node: add(name, "identity", [r.node]), chw: r.chw };
    }
    fail(`unsupported layer '${name}' (class ${cls}); supported classes: ${TFJS_LAYER_CLASSES.join(", ")}`);
  }
}

/** The declared batch input shape of a layer, looking into a nested model's first layer. */
function batchShapeOf(l: KerasLayerJson): unknown {
  const c = (l.config ?? {}) as Cfg & { layers?: KerasLayerJson[]; input_layers?: unknown };
  const own = c.batch_input_shape ?? c.batch_shape;
  if (own || !MODELS.has(l.class_name) || !Array.isArray(c.layers) || !c.layers.length) return own;
  if (l.class_name === "Sequential") return batchShapeOf(c.layers[0]);
  const name = tensorRefs(c.input_layers)[0]?.[0];
  const inp = c.layers.find((x) => String(x.name ?? x.config?.name) === name);
  return inp ? batchShapeOf(inp) : undefined;
}

/** A Keras axis (including the batch axis, NHWC) as a core NCHW axis. */
function kerasAxis(axis: number, perSampleRank: number, where: string): number {
  const a = nhwcAxis(axis, perSampleRank);
  if (a < 0) fail(`${where}: axis ${axis} is not supported`);
  return a;
}

/** `[[name, node, tensor], …]` (or a single triple) from `input_layers` / `output_layers`. */
function tensorRefs(v: unknown): [string, number, number][] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === "string") return [[v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)]];
  return (v as unknown[][]).map((r) => [String(r[0]), Number(r[1] ?? 0), Number(r[2] ?? 0)]);
}

/** Inbound tensors of one layer call: Keras 2 `[[name, node, tensor, kwargs], …]` or Keras 3 `{args}`. */
function callInputs(call: unknown): [string, number, number][] {
  if (Array.isArray(call)) {
    return call.map((r) => {
      const a = r as unknown[];
      return [String(a[0]), Number(a[1] ?? 0), Number(a[2] ?? 0)];
    });
  }
  const out: [string, number, number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Cfg;
      const hist = (o.config as Cfg | undefined)?.keras_history as unknown[] | undefined;
      if (o.class_name === "__keras_tensor__" && hist) {
        out.push([String(hist[0]), Number(hist[1]), Number(hist[2])]);
      } else Object.values(o).forEach(walk);
    }
  };
  walk((call as Cfg)?.args);
  return out;
}

/**
 * Convert a Keras `modelTopology` (what tfjs's `model.save` and `tensorflowjs_converter` write) with its
 * decoded weights into a core {@linkcode Graph}.
 * @param topology The `modelTopology` object (`{class_name, config}`, or `{model_config: …}` as the
 *   Python converter writes it).
 * @param weights Decoded weights by manifest name.
 * @param options Input size for models with unknown spatial input dimensions.
 * @returns The graph; node names are the Keras layer names.
 * @example
 * ```ts
 * import { tfjsLayersToGraph } from "./tfjs_layers_to_graph.ts";
 * const topology = {
 *   class_name: "Sequential",
 *   config: {
 *     name: "s",
 *     layers: [{ class_name: "ReLU", config: { name: "r", batch_input_shape: [null, 2, 2, 3] } }],
 *   },
 * };
 * const g = tfjsLayersToGraph(topology, new Map());
 * if (g.node("r").op !== "relu" || g.node("r").shape.join() !== "3,2,2") throw new Error("import");
 * ```
 */
export function tfjsLayersToGraph(
  topology: unknown,
  weights: Map<string, TfjsWeight>,
  options: TfjsLayersOptions = {},
): Graph {
  const top = topology as Cfg;
  if (!top || typeof top !== "object") fail("modelTopology is missing");
  const model = ((top.model_config as Cfg | undefined) ?? top) as unknown as KerasLayerJson;
  if (typeof model.class_name !== "string") fail("modelTopology has no model class_name");
  const version = String(top.keras_version ?? (model as unknown as Cfg).keras_version ?? "");
  const conv = new LayersConverter(weights, /^3\./.test(version), options.size);
  try {
    const { input, output } = conv.model(model, null, String(model.config?.name ?? "model"));
    const out = conv.materialize(output);
    return conv.em.build(input, out);
  } catch (e) {
    conv.em.dispose();
    throw e;
  }
}
