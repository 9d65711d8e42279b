import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { maxRelError } from "../../_testing/assert.ts";
import { rng } from "../../_testing/reference.ts";
import { importTfjsModel, type TfjsModelJson } from "./import_tfjs_model.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import { shardReaderFor } from "./tfjs_weights.ts";
import { fileIOHandler } from "./_tfjs_files.ts";
import { fixtureIO, modelPath, read } from "./_test_helpers.ts";

const TOL = 1e-5;

Deno.test("importTfjsModel(): graph_model equals tf.loadGraphModel's output and every intermediate node", async () => {
  await useBackend("cpu");
  const g = await importTfjsModel(modelPath("graph_model"));
  const { x, expected } = await fixtureIO("graph_model");
  const model = await tf.loadGraphModel(fileIOHandler(modelPath("graph_model")));
  const json: TfjsModelJson = JSON.parse(await Deno.readTextFile(modelPath("graph_model")));
  const names = (json.modelTopology as { node: { name: string; op: string }[] }).node
    .filter((n) => n.op !== "Const" && n.op !== "Placeholder")
    .map((n) => n.name);
  const batch = tf.concat([x, tf.neg(x)]);
  const outs = model.execute(batch, names) as tf.Tensor[];
  const tr = runForward(g, batch);
  for (let i = 0; i < names.length; i++) {
    const err = maxRelError(await read(tr.get(`${names[i]}:0`)), await read(outs[i]));
    assert.ok(err <= TOL, `${names[i]}: max rel. error ${err}`);
  }
  const first = (await read(tr.get(g.output))).slice(0, expected.length);
  assert.ok(maxRelError(first, expected) <= TOL);
  assert.equal(g.output, "Identity");
  // Reordering for the Reshape goes through rank-2 tensors: the last feature map is a real one.
  assert.equal(g.lastSpatialNode().name, "shift");
  assert.deepEqual(g.node("flat/to_hwc").shape, [9, 16]);
  assert.deepEqual(g.node("avgpool").attrs.pads, [0, 0, 1, 1]); // SAME, in 6, k 3, s 2: total 1
  assert.deepEqual(g.node("pad").attrs.padding, [0, 1, 0, 0, 0, 1]);
  assert.equal(g.node("conv1/Relu").op, "relu");
  assert.equal(g.node("conv1/Relu/linear").op, "conv2d");
  assert.equal(g.node("dw/Relu6/linear").attrs.group, 6);
  assert.equal(g.node("fc_b").inputs[0], "fc_b/linear");
  assert.deepEqual(g.node("fc_b/linear").params.weight.shape, [144, 5]); // transpose_b undone
  tr.dispose();
  tf.dispose([x, batch, ...outs]);
  model.dispose();
  g.dispose();
});

/** A graph with the remaining ops, written here, run by tfjs from memory. */
function extraGraph(): { json: TfjsModelJson; data: Uint8Array } {
  const r = rng(21);
  const nodes: Record<string, unknown>[] = [];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const parts: Uint8Array[] = [];
  const dims = (s: number[]) => ({ dim: s.map((d) => ({ size: String(d) })) });
  const k = (name: string, shape: number[], ints?: number[]) => {
    const data = ints
      ? Int32Array.from(ints)
      : Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() - 0.5);
    nodes.push({ name, op: "Const", attr: { dtype: { type: ints ? "DT_INT32" : "DT_FLOAT" } } });
    specs.push({ name, shape, dtype: ints ? "int32" : "float32" });
    parts.push(new Uint8Array(data.buffer));
    return name;
  };
  const op = (name: string, o: string, input: string[], attr: Record<string, unknown> = {}) => {
    nodes.push({ name, op: o, input, attr: { T: { type: "DT_FLOAT" }, ...attr } });
    return name;
  };
  const s = (v: string) => ({ s: btoa(v) });
  const li = (v: number[]) => ({ list: { i: v.map(String) } });
  nodes.push({ name: "x", op: "Placeholder", attr: { shape: { shape: dims([-1, 7, 6, 4]) } } });
  const c = op("conv", "Conv2D", ["x", k("w1", [3, 2, 4, 5])], {
    strides: li([1, 1, 2, 1]),
    padding: s("EXPLICIT"),
    explicit_paddings: li([0, 0, 2, 0, 1, 1, 0, 0]),
    dilations: li([1, 1, 1, 1]),
  });
  const dw = op("dw", "DepthwiseConv2dNative", [c, k("w2", [3, 3, 5, 2])], {
    strides: li([1, 2, 2, 1]),
    padding: s("SAME"),
    dilations: li([1, 1, 1, 1]),
  });
  const sg = op("sig", "Sigmoid", [dw]);
  const sub = op("sub", "Sub", [sg, k("half", [1, 1, 1, 10])]);
  const dv = op("div", "RealDiv", [sub, k("den", [10], undefined)]);
  const mp = op("mirror", "MirrorPad", [dv, k("mp", [4, 2], [0, 0, 1, 1, 0, 1, 0, 0])], {
    mode: s("REFLECT"),
  });
  const pv = op("padv2", "PadV2", [mp, k("pp", [4, 2], [0, 0, 0, 1, 1, 0, 0, 0]), k("pv", [], undefined)]);
  const mx = op("max", "Max", [pv, k("ax", [2], [1, 2])], { keep_dims: { b: false } });
  const mean = op("mean", "Mean", [pv, k("ax2", [1], [3])], { keep_dims: { b: true } });
  const flat = op("flat", "Reshape", [mean, k("fs", [2], [-1, 28])]);
  const cat = op("cat", "ConcatV2", [mx, flat, k("cax", [], [-1])], { N: { i: "2" } });
  const mm = op("mm", "MatMul", [cat, k("w3", [38, 3])], {
    transpose_a: { b: false },
    transpose_b: { b: false },
  });
  const relu = op("relu", "Relu", [mm]);
  op("out", "Identity", [relu]);
  const data = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.byteLength;
  }
  return {
    json: {
      format: "graph-model",
      modelTopology: { node: nodes, versions: { producer: 1 } },
      weightsManifest: [{ paths: ["w.bin"], weights: specs }],
      signature: { outputs: { out: { name: "out:0" } } },
    },
    data,
  };
}

Deno.test("importTfjsModel(): graph ops — EXPLICIT padding, depthwise, Sub/RealDiv by constants, MirrorPad, PadV2, Max, Mean, MatMul", async () => {
  await useBackend("cpu");
  const { json, data } = extraGraph();
  const g = await importTfjsModel(json, { weights: data });
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology as tf.io.ModelJSON["modelTopology"],
    weightSpecs: json.weightsManifest![0].weights as tf.io.WeightsManifestEntry[],
    weightData: data.buffer,
    format: "graph-model",
  }));
  const x = tf.randomNormal([2, 7, 6, 4], 0, 1, "float32", 4);
  const names = [
    "conv",
    "dw",
    "sig",
    "sub",
    "div",
    "mirror",
    "padv2",
    "max",
    "mean",
    "flat",
    "cat",
    "mm",
    "out",
  ];
  const outs = model.execute(x, names) as tf.Tensor[];
  const tr = runForward(g, x);
  for (let i = 0; i < names.length; i++) {
    const err = maxRelError(await read(tr.get(names[i])), await read(outs[i]));
    assert.ok(err <= TOL, `${names[i]}: max rel. error ${err}`);
  }
  assert.deepEqual(g.node("conv").attrs.pads, [2, 1, 0, 1]);
  assert.equal(g.node("mirror").attrs.mode, "reflect");
  assert.equal(g.output, "out");
  tr.dispose();
  tf.dispose([x, ...outs]);
  model.dispose();
  g.dispose();
});

Deno.test("importTfjsModel(): graph models — unsupported op, two inputs, NCHW, missing constant are one-line errors", async () => {
  await useBackend("cpu");
  const base: TfjsModelJson = JSON.parse(await Deno.readTextFile(modelPath("graph_model")));
  const weights = shardReaderFor(modelPath("graph_model"));
  const nodes = () => structuredClone(base);
  const fails = async (json: TfjsModelJson, pattern: RegExp) =>
    await assert.rejects(() => importTfjsModel(json, { weights }), (e: Error) => {
      assert.ok(e instanceof TfjsImportError, String(e));
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, /^Cannot import TensorFlow\.js model: /);
      assert.match(e.message, pattern);
      return true;
    });
  const before = tf.memory().numTensors;
  type N = { name: string; op: string; attr?: Record<string, unknown>; input?: string[] };
  const elu = nodes();
  (elu.modelTopology as { node: N[] }).node.find((n) => n.name === "leaky")!.op = "Elu";
  await fails(elu, /unsupported op 'Elu' at node 'leaky' \(supported: Placeholder, Const, /);
  const nchw = nodes();
  (nchw.modelTopology as { node: N[] }).node.find((n) => n.name === "maxpool")!.attr!.data_format = {
    s: btoa("NCHW"),
  };
  await fails(nchw, /node 'maxpool' \(op MaxPool\): data_format 'NCHW' is not supported/);
  const two = nodes();
  const topo = two.modelTopology as { node: N[] };
  topo.node.push({ ...topo.node[0], name: "input2" });
  topo.node.find((n) => n.name === "logits")!.input = ["fc_a", "input2"];
  await fails(two, /more than one input/);
  const fusedTanh = nodes();
  (fusedTanh.modelTopology as { node: N[] }).node.find((n) => n.name === "conv1/Relu")!.attr!.fused_ops = {
    list: { s: [btoa("BiasAdd"), btoa("Tanh")] },
  };
  await fails(fusedTanh, /node 'conv1\/Relu' \(op _FusedConv2D\): fused activation 'tanh' is not supported/);
  const noConst = nodes();
  noConst.weightsManifest![0].weights[0].name = "renamed";
  await fails(noConst, /constant 'conv1\/kernel' is missing from the weights manifest/);
  assert.equal(tf.memory().numTensors, before);
});
