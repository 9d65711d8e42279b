/**
 * Build the TensorFlow.js test fixtures in packages/core/testdata/tfjs/.
 *
 *     npx deno run -A tools/make_tfjs_fixtures.ts
 *
 * Small models are built with tfjs's layers API (Sequential and functional), given seeded random weights
 * and non-trivial BatchNorm statistics (`layer.setWeights`), saved through `tf.io.withSaveHandler` into
 * the standard `model.json` + `group1-shard*.bin` layout (one model split into several shards, three
 * quantized: uint8, uint16, float16, with the affine scheme of `tensorflowjs_converter`), and loaded back
 * with `tf.loadLayersModel` so that the committed `output.npy` is tfjs's own `predict` of the files as
 * written. Each folder holds `input.npy` (1, C, H, W float32, NCHW like every cnnlens input) and
 * `output.npy`. A graph model (`format: graph-model`, a hand-written GraphDef of fused TensorFlow ops)
 * is written too, with `tf.loadGraphModel`'s output. `manifest.json` lists every fixture.
 * @module
 */
import { tf } from "../packages/core/src/tf.ts";
import { writeNpy } from "../packages/core/src/io/npy.ts";
import { fileIOHandler, writeTfjsModelFiles } from "../packages/core/src/import/tfjs/_tfjs_files.ts";
import type { TfjsWeightSpec } from "../packages/core/src/import/tfjs/tfjs_weights.ts";
import { rng } from "../packages/core/src/_testing/reference.ts"; // mulberry32: the same fixtures on every run

await tf.setBackend("cpu");
const OUT = new URL("../packages/core/testdata/tfjs/", import.meta.url).pathname;

function normal(r: () => number, n: number, std: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** Seeded weights for every layer; BatchNorm gets non-trivial gamma, beta, mean and variance. */
function randomize(model: tf.LayersModel, seed: number): void {
  const r = rng(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const fresh = layer.weights.map((v, i) => {
      const shape = ws[i].shape;
      const n = ws[i].size;
      const key = v.originalName.split("/").pop()!;
      let data: Float32Array;
      if (key === "moving_variance") data = Float32Array.from(normal(r, n, 1), (x) => 0.5 + Math.abs(x));
      else if (key === "moving_mean") data = normal(r, n, 0.5);
      else if (key === "gamma") data = normal(r, n, 0.3, 1);
      else if (key === "beta" || key === "bias") data = normal(r, n, 0.3);
      else {
        const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
        data = normal(r, n, Math.sqrt(2 / fanIn));
      }
      return tf.tensor(data, shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** Float32 → IEEE half bits, round to nearest even. */
function toFloat16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  let e = exp;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

type Quant = "uint8" | "uint16" | "float16";

/** Quantize float32 weights as tensorflowjs_converter does (affine, with 0 exactly representable). */
function quantize(
  specs: TfjsWeightSpec[],
  data: Uint8Array,
  q: Quant,
): { specs: TfjsWeightSpec[]; data: Uint8Array } {
  const f32 = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const outSpecs: TfjsWeightSpec[] = [];
  const parts: Uint8Array[] = [];
  let o = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = f32.subarray(o, o + n);
    o += n;
    if (q === "float16") {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = toFloat16(v[i]);
      parts.push(new Uint8Array(h.buffer));
      outSpecs.push({ ...s, quantization: { dtype: "float16" } });
      continue;
    }
    const qmax = q === "uint8" ? 255 : 65535;
    let lo = Math.min(...v);
    let hi = Math.max(...v);
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
    const scale = hi > lo ? (hi - lo) / qmax : 1;
    const zero = Math.round(-lo / scale);
    const min = -zero * scale;
    const max = qmax * scale + min;
    const arr = q === "uint8" ? new Uint8Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) arr[i] = Math.round((Math.min(Math.max(v[i], min), max) - min) / scale);
    parts.push(new Uint8Array(arr.buffer));
    outSpecs.push({ ...s, quantization: { dtype: q, scale, min } });
  }
  const total = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let p = 0;
  for (const part of parts) {
    total.set(part, p);
    p += part.byteLength;
  }
  return { specs: outSpecs, data: total };
}

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    saved = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  return saved!;
}

function bytesOf(d: tf.io.WeightData | undefined): Uint8Array {
  if (!d) return new Uint8Array(0);
  const parts = (Array.isArray(d) ? d : [d]).map((b) => new Uint8Array(b));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Seeded input in NCHW (what cnnlens reads) for a model whose input is (H, W, C). */
function inputFor(model: tf.LayersModel, seed: number): { nchw: Float32Array; shape: number[] } {
  const [, h, w, c] = model.inputs[0].shape as number[];
  return { nchw: normal(rng(seed), c * h * w, 1), shape: [1, c, h, w] };
}

const manifest: Record<string, unknown> = {};

async function writeFixture(
  name: string,
  model: tf.LayersModel,
  input: { nchw: Float32Array; shape: number[] },
  opts: { quant?: Quant; shardBytes?: number; note: string },
): Promise<void> {
  const dir = `${OUT}${name}/`;
  const a = await artifactsOf(model);
  let specs = a.weightSpecs as TfjsWeightSpec[];
  let data = bytesOf(a.weightData);
  if (opts.quant) ({ specs, data } = quantize(specs, data, opts.quant));
  await writeTfjsModelFiles(dir, a.modelTopology, specs, data, { shardBytes: opts.shardBytes });
  // tfjs's own predict on the files as written (the quantized ones dequantized by tfjs).
  const loaded = await tf.loadLayersModel(fileIOHandler(`${dir}model.json`));
  const x = tf.tidy(() =>
    tf.transpose(tf.tensor4d(input.nchw, input.shape as [number, number, number, number]), [0, 2, 3, 1])
  );
  const y = loaded.predict(x) as tf.Tensor;
  const out = Float32Array.from(await y.data());
  await Deno.writeFile(
    `${dir}input.npy`,
    writeNpy({ data: input.nchw, shape: input.shape, dtype: "float32" }),
  );
  await Deno.writeFile(`${dir}output.npy`, writeNpy({ data: out, shape: y.shape, dtype: "float32" }));
  manifest[name] = {
    note: opts.note,
    class: (a.modelTopology as { class_name: string }).class_name,
    layers: loaded.layers.map((l) => `${l.name} (${l.getClassName()})`),
    input: input.shape,
    output: y.shape,
    quantization: opts.quant ?? "none",
    weights: specs.length,
    weightBytes: data.byteLength,
  };
  tf.dispose([x, y]);
  loaded.dispose();
  console.log(`${name}: ${specs.length} weights, ${data.byteLength} bytes, output [${y.shape}]`);
}

/** Sequential: strided 'same' conv, BN, LeakyReLU, depthwise, ReLU(6), even-kernel 'same' conv, pooling, Flatten → Dense. */
function sequentialCnn(): tf.Sequential {
  const m = tf.sequential({ name: "sequential_cnn" });
  m.add(tf.layers.conv2d({
    name: "conv1",
    inputShape: [15, 15, 3],
    filters: 8,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    activation: "relu",
  }));
  m.add(tf.layers.batchNormalization({ name: "bn1", epsilon: 1e-3 }));
  m.add(tf.layers.leakyReLU({ name: "leaky1", alpha: 0.2 }));
  m.add(tf.layers.depthwiseConv2d({ name: "dw1", kernelSize: 3, depthMultiplier: 2, padding: "same" }));
  m.add(tf.layers.batchNormalization({ name: "bn2", scale: false, epsilon: 1e-2 }));
  m.add(tf.layers.reLU({ name: "relu6", maxValue: 6 }));
  m.add(tf.layers.conv2d({ name: "conv2", filters: 8, kernelSize: 4, padding: "same", useBias: false }));
  m.add(
    tf.layers.conv2d({
      name: "conv3",
      filters: 8,
      kernelSize: 3,
      dilationRate: 2,
      padding: "same",
      activation: "relu6",
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: "pool1", poolSize: 3, strides: 2, padding: "same" }));
  m.add(tf.layers.flatten({ name: "flatten" }));
  m.add(tf.layers.dropout({ name: "dropout", rate: 0.3 }));
  m.add(tf.layers.dense({ name: "logits", units: 10 }));
  m.add(tf.layers.activation({ name: "probs", activation: "softmax" }));
  return m;
}

/** Functional: Add and Concatenate branches, SeparableConv2D, ZeroPadding2D, 'same' average pooling, GAP → Dense. */
function functionalBranches(): tf.LayersModel {
  const inp = tf.input({ shape: [12, 12, 4], name: "image" });
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(x) as tf.SymbolicTensor;
  const a = apply(tf.layers.conv2d({ name: "branch_a", filters: 6, kernelSize: 1 }), inp);
  const b = apply(
    tf.layers.conv2d({ name: "branch_b", filters: 6, kernelSize: 3, padding: "same", activation: "sigmoid" }),
    inp,
  );
  const sum = apply(tf.layers.add({ name: "add" }), [a, b]);
  const act = apply(tf.layers.activation({ name: "add_relu", activation: "relu" }), sum);
  const sep = apply(
    tf.layers.separableConv2d({
      name: "sep",
      filters: 6,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
    }),
    act,
  );
  const cat = apply(tf.layers.concatenate({ name: "concat" }), [act, sep, a]);
  const pad = apply(tf.layers.zeroPadding2d({ name: "zpad", padding: [[1, 0], [0, 1]] }), cat);
  const avg = apply(
    tf.layers.averagePooling2d({ name: "avgpool", poolSize: 2, strides: 2, padding: "same" }),
    pad,
  );
  const conv = apply(
    tf.layers.conv2d({ name: "conv_s2", filters: 8, kernelSize: 4, strides: 2, padding: "same" }),
    avg,
  );
  const bn = apply(tf.layers.batchNormalization({ name: "bn", center: false }), conv);
  const lrelu = apply(tf.layers.leakyReLU({ name: "lrelu" }), bn);
  const gap = apply(tf.layers.globalAveragePooling2d({ name: "gap" }), lrelu);
  const fc = apply(tf.layers.dense({ name: "fc", units: 5 }), gap);
  return tf.model({ name: "functional_branches", inputs: inp, outputs: fc });
}

/** Functional: squeeze-excitation (GAP → Dense → Dense → Reshape → Multiply), valid pooling, GMP → Dense, Flatten → Dense → Concatenate. */
function seBlock(): tf.LayersModel {
  const inp = tf.input({ shape: [10, 10, 3], name: "input" });
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(x) as tf.SymbolicTensor;
  const conv = apply(tf.layers.conv2d({ name: "conv", filters: 8, kernelSize: 3, activation: "relu" }), inp);
  const sq = apply(tf.layers.globalAveragePooling2d({ name: "se_gap" }), conv);
  const f1 = apply(tf.layers.dense({ name: "se_fc1", units: 4, activation: "relu" }), sq);
  const f2 = apply(tf.layers.dense({ name: "se_fc2", units: 8, activation: "sigmoid" }), f1);
  const rs = apply(tf.layers.reshape({ name: "se_reshape", targetShape: [1, 1, 8] }), f2);
  const scaled = apply(tf.layers.multiply({ name: "se_scale" }), [conv, rs]);
  const pool = apply(tf.layers.averagePooling2d({ name: "pool", poolSize: 2 }), scaled);
  const c2 = apply(tf.layers.conv2d({ name: "conv2", filters: 6, kernelSize: 1, activation: "relu6" }), pool);
  const gmp = apply(tf.layers.globalMaxPooling2d({ name: "gmp" }), c2);
  const flat = apply(tf.layers.flatten({ name: "flat" }), c2);
  const fd = apply(tf.layers.dense({ name: "flat_fc", units: 4 }), flat);
  const cat = apply(tf.layers.concatenate({ name: "heads" }), [gmp, fd]);
  const out = apply(tf.layers.dense({ name: "out", units: 3 }), cat);
  return tf.model({ name: "se_block", inputs: inp, outputs: out });
}

/** Flatten's vector feeding a Concatenate and the output: the importer must restore Keras order. */
function flattenOutput(): tf.LayersModel {
  const inp = tf.input({ shape: [4, 5, 3], name: "input" });
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(x) as tf.SymbolicTensor;
  const conv = apply(tf.layers.conv2d({ name: "conv", filters: 2, kernelSize: 3, padding: "same" }), inp);
  const flat = apply(tf.layers.flatten({ name: "flat" }), conv);
  const bn = apply(tf.layers.batchNormalization({ name: "flat_bn" }), flat);
  const rs = apply(tf.layers.reshape({ name: "back", targetShape: [5, 4, 2] }), bn);
  const flat2 = apply(tf.layers.flatten({ name: "flat2" }), rs);
  const out = apply(tf.layers.concatenate({ name: "out" }), [flat2, bn]);
  return tf.model({ name: "flatten_output", inputs: inp, outputs: out });
}

const seq = sequentialCnn();
randomize(seq, 11);
await writeFixture("sequential_cnn", seq, inputFor(seq, 101), {
  note:
    "Sequential: stride-2 'same' conv+relu, BN, LeakyReLU, depthwise x2, BN(scale=false), ReLU(6), 4x4 'same' conv, dilated conv+relu6, 'same' maxpool, Flatten, Dropout, Dense, softmax",
});
await writeFixture("sequential_cnn_uint8", seq, inputFor(seq, 101), {
  quant: "uint8",
  note: "sequential_cnn with every weight quantized to uint8 (affine, tensorflowjs_converter's scheme)",
});
const fn = functionalBranches();
randomize(fn, 12);
await writeFixture("functional_branches", fn, inputFor(fn, 102), {
  shardBytes: 4096,
  note:
    "Functional: Add, Concatenate (3 inputs), SeparableConv2D, asymmetric ZeroPadding2D, 'same' avgpool, 4x4 stride-2 'same' conv, BN(center=false), LeakyReLU, GAP, Dense; weights split into 4 KiB shards",
});
await writeFixture("functional_branches_float16", fn, inputFor(fn, 102), {
  quant: "float16",
  note: "functional_branches with float16 weights",
});
const se = seBlock();
randomize(se, 13);
await writeFixture("se_block", se, inputFor(se, 103), {
  note:
    "Functional: squeeze-excitation (GAP, Dense relu, Dense sigmoid, Reshape, Multiply), avgpool, relu6 conv, GMP and Flatten->Dense heads, Concatenate, Dense",
});
await writeFixture("se_block_uint16", se, inputFor(se, 103), {
  quant: "uint16",
  note: "se_block with uint16 weights",
});
const fo = flattenOutput();
randomize(fo, 14);
await writeFixture("flatten_output", fo, inputFor(fo, 104), {
  note:
    "Flatten -> BN -> Reshape -> Flatten, concatenated with the BN vector as the output: Keras element order end to end",
});

// ---- A graph model: a hand-written GraphDef of the TensorFlow ops tensorflowjs_converter emits. ----

const sAttr = (v: string) => ({ s: btoa(v) });
const iList = (v: number[]) => ({ list: { i: v.map(String) } });
const sList = (v: string[]) => ({ list: { s: v.map((x) => btoa(x)) } });
const FLOAT = { type: "DT_FLOAT" };

async function graphModel(name: string, seed: number): Promise<void> {
  const r = rng(seed);
  const nodes: Record<string, unknown>[] = [];
  const specs: TfjsWeightSpec[] = [];
  const parts: Uint8Array[] = [];
  const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
  const constant = (n: string, shape: number[], data: Float32Array | Int32Array) => {
    const dtype = data instanceof Int32Array ? "DT_INT32" : "DT_FLOAT";
    nodes.push({
      name: n,
      op: "Const",
      attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(shape) } } },
    });
    specs.push({ name: n, shape, dtype: data instanceof Int32Array ? "int32" : "float32" });
    parts.push(new Uint8Array(data.buffer.slice(0)));
    return n;
  };
  const weight = (n: string, shape: number[]) =>
    constant(
      n,
      shape,
      normal(
        r,
        shape.reduce((a, b) => a * b, 1),
        Math.sqrt(2 / shape.slice(0, -1).reduce((a, b) => a * b, 1)),
      ),
    );
  const vec = (n: string, c: number, std: number, mean = 0) => constant(n, [c], normal(r, c, std, mean));
  const op = (n: string, o: string, input: string[], attr: Record<string, unknown> = {}) => {
    nodes.push({ name: n, op: o, input, attr: { T: FLOAT, ...attr } });
    return n;
  };
  const conv = (padding: string, strides = [1, 1, 1, 1]) => ({
    strides: iList(strides),
    padding: sAttr(padding),
    dilations: iList([1, 1, 1, 1]),
    data_format: sAttr("NHWC"),
  });
  const inShape = [-1, 9, 9, 3];
  nodes.push({ name: "input", op: "Placeholder", attr: { dtype: FLOAT, shape: { shape: dims(inShape) } } });
  const c1 = op("conv1/Relu", "_FusedConv2D", [
    "input",
    weight("conv1/kernel", [3, 3, 3, 6]),
    vec("conv1/bias", 6, 0.2),
  ], {
    ...conv("SAME", [1, 2, 2, 1]),
    fused_ops: sList(["BiasAdd", "Relu"]),
    num_args: { i: "1" },
    epsilon: { f: 0 },
  });
  const dw = op("dw/Relu6", "FusedDepthwiseConv2dNative", [
    c1,
    weight("dw/kernel", [3, 3, 6, 1]),
    vec("dw/bias", 6, 0.2),
  ], {
    ...conv("SAME"),
    fused_ops: sList(["BiasAdd", "Relu6"]),
    num_args: { i: "1" },
  });
  const c2 = op("conv2/Conv2D", "Conv2D", [dw, weight("conv2/kernel", [1, 1, 6, 8])], conv("VALID"));
  const b2 = op("conv2/BiasAdd", "BiasAdd", [c2, vec("conv2/bias", 8, 0.2)], { data_format: sAttr("NHWC") });
  const bn = op("bn/FusedBatchNormV3", "FusedBatchNormV3", [
    b2,
    vec("bn/gamma", 8, 0.3, 1),
    vec("bn/beta", 8, 0.3),
    vec("bn/moving_mean", 8, 0.5),
    constant("bn/moving_variance", [8], Float32Array.from(normal(r, 8, 1), (x) => 0.5 + Math.abs(x))),
  ], { epsilon: { f: 0.001 }, is_training: { b: false }, data_format: sAttr("NHWC") });
  const leaky = op("leaky", "LeakyRelu", [bn], { alpha: { f: 0.1 } });
  const pad = op("pad", "Pad", [
    leaky,
    constant("pad/paddings", [4, 2], Int32Array.of(0, 0, 1, 0, 0, 1, 0, 0)),
  ]);
  const pool = op("maxpool", "MaxPool", [pad], {
    ksize: iList([1, 2, 2, 1]),
    strides: iList([1, 2, 2, 1]),
    padding: sAttr("VALID"),
    data_format: sAttr("NHWC"),
  });
  const avg = op("avgpool", "AvgPool", [pad], {
    ksize: iList([1, 3, 3, 1]),
    strides: iList([1, 2, 2, 1]),
    padding: sAttr("SAME"),
    data_format: sAttr("NHWC"),
  });
  const cat = op("concat", "ConcatV2", [pool, avg, constant("concat/axis", [], Int32Array.of(3))], {
    N: { i: "2" },
  });
  const scaled = op("scale", "Mul", [cat, vec("scale/y", 16, 0.3, 1)]);
  const shifted = op("shift", "AddV2", [scaled, vec("shift/y", 16, 0.3)]);
  const gap = op("gap", "Mean", [shifted, constant("gap/axes", [2], Int32Array.of(1, 2))], {
    keep_dims: { b: true },
  });
  const sq = op("squeeze", "Squeeze", [gap], { squeeze_dims: iList([1, 2]) });
  const fcA = op("fc_a", "_FusedMatMul", [sq, weight("fc_a/kernel", [16, 5]), vec("fc_a/bias", 5, 0.2)], {
    fused_ops: sList(["BiasAdd"]),
    num_args: { i: "1" },
    transpose_a: { b: false },
    transpose_b: { b: false },
  });
  const flat = op("flat", "Reshape", [shifted, constant("flat/shape", [2], Int32Array.of(-1, 144))]);
  const fcB = op("fc_b", "_FusedMatMul", [flat, weight("fc_b/kernel", [5, 144]), vec("fc_b/bias", 5, 0.2)], {
    fused_ops: sList(["BiasAdd", "Relu"]),
    num_args: { i: "1" },
    transpose_a: { b: false },
    transpose_b: { b: true },
  });
  const logits = op("logits", "AddV2", [fcA, fcB]);
  const probs = op("probs", "Softmax", [logits]);
  op("Identity", "Identity", [probs]);
  const topology = { node: nodes, library: {}, versions: { producer: 1482 } };
  const signature = {
    inputs: { input: { name: "input:0", dtype: "DT_FLOAT", tensorShape: dims(inShape) } },
    outputs: { Identity: { name: "Identity:0", dtype: "DT_FLOAT", tensorShape: dims([-1, 5]) } },
  };
  const data = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.byteLength;
  }
  const dir = `${OUT}${name}/`;
  await writeTfjsModelFiles(dir, topology, specs, data, { format: "graph-model", signature });
  const model = await tf.loadGraphModel(fileIOHandler(`${dir}model.json`));
  const input = { nchw: normal(rng(seed + 100), 3 * 9 * 9, 1), shape: [1, 3, 9, 9] };
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(input.nchw, [1, 3, 9, 9]), [0, 2, 3, 1]));
  const y = model.predict(x) as tf.Tensor;
  await Deno.writeFile(
    `${dir}input.npy`,
    writeNpy({ data: input.nchw, shape: input.shape, dtype: "float32" }),
  );
  await Deno.writeFile(
    `${dir}output.npy`,
    writeNpy({ data: Float32Array.from(await y.data()), shape: y.shape, dtype: "float32" }),
  );
  manifest[name] = {
    note:
      "Graph model: _FusedConv2D(BiasAdd,Relu) stride 2 SAME, FusedDepthwiseConv2dNative(BiasAdd,Relu6), Conv2D+BiasAdd, FusedBatchNormV3, LeakyRelu, Pad, MaxPool, SAME AvgPool, ConcatV2, Mul/AddV2 by constants, Mean(keep_dims)+Squeeze+_FusedMatMul, Reshape+_FusedMatMul(transpose_b, Relu), AddV2, Softmax, Identity",
    format: "graph-model",
    ops: [...new Set(nodes.map((n) => n.op))],
    input: input.shape,
    output: y.shape,
    weights: specs.length,
    weightBytes: data.byteLength,
  };
  console.log(`${name}: ${specs.length} constants, ${data.byteLength} bytes, output [${y.shape}]`);
  tf.dispose([x, y]);
  model.dispose();
}

await graphModel("graph_model", 15);

await Deno.writeTextFile(
  `${OUT}manifest.json`,
  JSON.stringify(
    { generator: "tools/make_tfjs_fixtures.ts", tfjs: tf.version.tfjs, fixtures: manifest },
    null,
    1,
  ) + "\n",
);
