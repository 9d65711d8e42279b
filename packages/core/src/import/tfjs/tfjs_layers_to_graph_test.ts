import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { maxRelError } from "../../_testing/assert.ts";
import { rng } from "../../_testing/reference.ts";
import { importTfjsModel } from "./import_tfjs_model.ts";
import { tfjsLayersToGraph } from "./tfjs_layers_to_graph.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import type { TfjsWeight } from "./tfjs_weights.ts";
import { modelPath, read } from "./_test_helpers.ts";

const TOL = 1e-5;

function weight(name: string, shape: number[], data: Float32Array): [string, TfjsWeight] {
  return [name, { name, shape, dtype: "float32", data }];
}

function seq(
  inputShape: (number | null)[],
  layers: { class_name: string; config: Record<string, unknown> }[],
) {
  layers[0].config.batch_input_shape = [null, ...inputShape];
  return { class_name: "Sequential", config: { name: "m", layers } };
}

Deno.test("tfjsLayersToGraph(): Flatten → Dense permutes the kernel rows from H,W,C to C,H,W order", async () => {
  await useBackend("cpu");
  const [H, W, C, U] = [2, 3, 4, 5];
  const r = rng(3);
  const K = Float32Array.from({ length: H * W * C * U }, () => r() * 2 - 1);
  const bias = Float32Array.from({ length: U }, () => r());
  const topo = seq([H, W, C], [
    { class_name: "Flatten", config: { name: "flatten" } },
    { class_name: "Dense", config: { name: "fc", units: U, activation: "linear", use_bias: true } },
  ]);
  const g = tfjsLayersToGraph(
    topo,
    new Map([weight("fc/kernel", [H * W * C, U], K), weight("fc/bias", [U], bias)]),
  );
  // The kernel row the core reads at C,H,W position (c, h, w) is Keras's row at H,W,C position (h, w, c).
  const got = await read(g.node("fc").params.weight);
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        for (let u = 0; u < U; u++) {
          assert.equal(got[((c * H + h) * W + w) * U + u], K[((h * W + w) * C + c) * U + u]);
        }
      }
    }
  }
  // y = flatten_HWC(x) · K + b, in plain loops over an NHWC input.
  const xs = Float32Array.from({ length: 2 * H * W * C }, () => r() * 2 - 1);
  const expected = new Float32Array(2 * U);
  for (let n = 0; n < 2; n++) {
    for (let u = 0; u < U; u++) {
      let s = bias[u];
      for (let k = 0; k < H * W * C; k++) s += xs[n * H * W * C + k] * K[k * U + u];
      expected[n * U + u] = s;
    }
  }
  const x = tf.tensor4d(xs, [2, H, W, C]);
  const tr = runForward(g, x);
  assert.ok(maxRelError(await read(tr.get("fc")), expected) <= TOL);
  // Negative control: the same graph with the kernel as Keras stores it gives another answer.
  const permuted = g.node("fc").params.weight;
  g.node("fc").params.weight = tf.tensor2d(K, [H * W * C, U]);
  const tr2 = runForward(g, x);
  assert.ok(maxRelError(await read(tr2.get("fc")), expected) > 0.05);
  permuted.dispose();
  tr.dispose();
  tr2.dispose();
  g.dispose();
  // A Flatten that is the model output is put back in Keras order: out[(h·W + w)·C + c] = x[h, w, c].
  const f = tfjsLayersToGraph(
    seq([H, W, C], [{ class_name: "Flatten", config: { name: "flatten" } }]),
    new Map(),
  );
  assert.equal(f.output, "flatten/hwc_order");
  const tr3 = runForward(f, x);
  assert.deepEqual(Array.from(await read(tr3.get(f.output))), Array.from(xs)); // NHWC data is H, W, C order
  assert.notDeepEqual(Array.from(await read(tr3.get("flatten"))), Array.from(xs));
  tr3.dispose();
  f.dispose();
  x.dispose();
});

Deno.test("tfjsLayersToGraph(): 'same' padding is TensorFlow's, asymmetric (top/left = ⌊total/2⌋)", async () => {
  await useBackend("cpu");
  const s = await importTfjsModel(modelPath("sequential_cnn"));
  // total = max((out − 1)·s + (k − 1)·d + 1 − in, 0), out = ⌈in/s⌉; pads [top, left, bottom, right].
  assert.deepEqual(s.node("conv1/linear").attrs.pads, [1, 1, 1, 1]); // in 15, k 3, s 2: out 8, total 2
  assert.deepEqual(s.node("conv2").attrs.pads, [1, 1, 2, 2]); // in 8, k 4, s 1: total 3
  assert.deepEqual(s.node("conv3/linear").attrs.pads, [2, 2, 2, 2]); // in 8, k 3, d 2: total 4
  assert.deepEqual(s.node("pool1").attrs.pads, [0, 0, 1, 1]); // in 8, k 3, s 2: out 4, total 1
  assert.deepEqual(s.node("pool1").shape, [8, 4, 4]);
  const f = await importTfjsModel(modelPath("functional_branches"));
  assert.deepEqual(f.node("zpad").attrs.padding, [0, 1, 0, 0, 0, 1]); // [[1, 0], [0, 1]] → top 1, right 1
  assert.deepEqual(f.node("avgpool").attrs.pads, [0, 0, 1, 1]); // in 13, k 2, s 2: out 7, total 1
  assert.equal(f.node("avgpool").attrs.countIncludePad, false);
  assert.deepEqual(f.node("conv_s2").attrs.pads, [1, 1, 2, 2]); // in 7, k 4, s 2: out 4, total 3
  s.dispose();
  f.dispose();
});

Deno.test("tfjsLayersToGraph(): node names are the Keras layer names; fused activations split off", async () => {
  await useBackend("cpu");
  const s = await importTfjsModel(modelPath("sequential_cnn"));
  assert.equal(s.input, "conv1_input");
  assert.deepEqual(s.node(s.input).shape, [3, 15, 15]);
  assert.equal(s.node("conv1/linear").op, "conv2d");
  assert.deepEqual(s.node("conv1").inputs, ["conv1/linear"]);
  assert.equal(s.node("conv1").op, "relu");
  assert.equal(s.node("dw1").attrs.group, 8);
  assert.deepEqual(s.node("dw1").params.weight.shape, [3, 3, 8, 2]);
  assert.deepEqual(s.node("dw1").shape, [16, 8, 8]);
  assert.equal(s.node("relu6").op, "clip");
  assert.equal(s.node("conv3").op, "clip");
  assert.equal(s.node("leaky1").attrs.alpha, 0.2);
  assert.equal(s.node("bn2").paramNames?.scale, undefined); // scale=false: gamma = 1, not in the weights
  assert.deepEqual(Array.from(await read(s.node("bn2").params.scale)), Array(16).fill(1));
  assert.equal(s.node("dropout").op, "identity");
  assert.equal(s.output, "probs");
  assert.equal(s.node("conv1/linear").paramNames?.weight, "conv1/kernel");
  const f = await importTfjsModel(modelPath("functional_branches"));
  assert.equal(f.input, "image");
  assert.deepEqual(f.node("sep/depthwise").params.weight.shape, [3, 3, 6, 1]);
  assert.deepEqual(f.node("sep/linear").params.weight.shape, [1, 1, 6, 6]);
  assert.equal(f.node("gap/pool").op, "globalavgpool");
  assert.equal(f.node("gap").op, "flatten");
  assert.deepEqual(f.node("concat").shape, [18, 12, 12]);
  assert.equal(f.lastSpatialNode().name, "lrelu");
  s.dispose();
  f.dispose();
});

Deno.test("tfjsLayersToGraph(): Average, Subtract, Rescaling, Softmax on maps, Dense on maps, swish/hard_sigmoid match tfjs", async () => {
  await useBackend("cpu");
  const inp = tf.input({ shape: [5, 6, 3], name: "x" });
  const ap = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(x) as tf.SymbolicTensor;
  const scaled = ap(tf.layers.rescaling({ name: "rescale", scale: 0.5, offset: -0.25 }), inp);
  const a = ap(
    tf.layers.conv2d({ name: "a", filters: 4, kernelSize: 3, padding: "same", activation: "swish" }),
    scaled,
  );
  const b = ap(tf.layers.conv2d({ name: "b", filters: 4, kernelSize: 1, activation: "hardSigmoid" }), scaled);
  const avg = ap(tf.layers.average({ name: "avg" }), [a, b, a]);
  const dm = ap(tf.layers.dense({ name: "dense_map", units: 3, activation: "relu6" }), avg);
  const sm = ap(tf.layers.softmax({ name: "sm", axis: -1 }), dm);
  const model = tf.model({ inputs: inp, outputs: [sm, a, b] });
  const r = rng(5);
  for (const l of model.layers) {
    l.setWeights(
      l.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => r() * 2 - 1), w.shape)),
    );
  }
  let art: tf.io.ModelArtifacts | undefined;
  const single = tf.model({ inputs: inp, outputs: sm });
  await single.save(tf.io.withSaveHandler((x) => {
    art = x;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const x = tf.randomNormal([2, 5, 6, 3], 0, 1, "float32", 9);
  const [ySm, yA, yB] = model.predict(x) as tf.Tensor[];
  const g = await importTfjsModel(art!);
  const tr = runForward(g, x);
  for (const [n, y] of [["sm", ySm], ["a", yA], ["b", yB]] as const) {
    assert.ok(maxRelError(await read(tr.get(n)), await read(y)) <= TOL, n);
  }
  assert.equal(g.node("dense_map/linear").op, "conv2d");
  assert.equal(g.node("sm").attrs.axis, 1);
  // The same topology with the Average turned into Subtract(a, b): a − b, computed from tfjs's a and b.
  const topo = structuredClone(art!.modelTopology) as {
    config: { layers: { class_name: string; name: string; inbound_nodes: unknown[][][] }[] };
  };
  const avgLayer = topo.config.layers.find((l) => l.name === "avg")!;
  avgLayer.class_name = "Subtract";
  avgLayer.inbound_nodes[0] = avgLayer.inbound_nodes[0].slice(0, 2);
  const sub = await importTfjsModel({ ...art!, modelTopology: topo });
  const tr2 = runForward(sub, x);
  const diff = tf.sub(yA, yB);
  assert.ok(maxRelError(await read(tr2.get("avg")), await read(diff)) <= TOL);
  tf.dispose([x, ySm, yA, yB, diff]);
  tr.dispose();
  tr2.dispose();
  g.dispose();
  sub.dispose();
  model.dispose();
});

Deno.test("tfjsLayersToGraph(): unknown input sizes need `size`; unsupported configurations are one-line errors", async () => {
  await useBackend("cpu");
  const check = (topo: unknown, pattern: RegExp, size?: [number, number]) =>
    assert.throws(() => tfjsLayersToGraph(topo, new Map(), { size }), (e: Error) => {
      assert.ok(e instanceof TfjsImportError);
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, /^Cannot import TensorFlow\.js model: /);
      assert.match(e.message, pattern);
      return true;
    });
  const relu = () => [{ class_name: "ReLU", config: { name: "r" } as Record<string, unknown> }];
  check(
    seq([null, null, 3], relu()),
    /layer 'r' \(class ReLU\) has an unknown input dimension 1.*pass the input size/,
  );
  const sized = tfjsLayersToGraph(seq([null, null, 3], relu()), new Map(), { size: [7, 9] });
  assert.deepEqual(sized.node("r").shape, [3, 7, 9]);
  const thr = relu();
  thr[0].config.threshold = 0.5;
  check(seq([4, 4, 3], thr), /unsupported layer 'r' \(class ReLU\): threshold 0\.5 is not supported/);
  const cf = relu();
  cf[0].config.data_format = "channels_first";
  check(seq([4, 4, 3], cf), /layer 'r' \(class ReLU\): data_format 'channels_first' is not supported/);
  check(
    seq([4, 4, 3], [{ class_name: "UpSampling2D", config: { name: "up" } }]),
    /unsupported layer 'up' \(class UpSampling2D\); supported classes: /,
  );
  check(
    seq([4, 4, 3], [{ class_name: "BatchNormalization", config: { name: "bn", axis: 1 } }]),
    /layer 'bn' \(class BatchNormalization\): normalising axis 1 is not supported/,
  );
  check(
    seq([4, 4, 3], [{ class_name: "Conv2D", config: { name: "c", filters: 2, kernel_size: 5 } }]),
    /layer 'c' \(class Conv2D\) needs weight 'c\/kernel'/,
  );
  const two = {
    class_name: "Model",
    config: {
      layers: [
        {
          name: "i",
          class_name: "InputLayer",
          config: { batch_input_shape: [null, 4, 4, 3] },
          inbound_nodes: [],
        },
        { name: "r1", class_name: "ReLU", config: {}, inbound_nodes: [[["i", 0, 0, {}]]] },
        { name: "r2", class_name: "ReLU", config: {}, inbound_nodes: [[["i", 0, 0, {}]]] },
      ],
      input_layers: [["i", 0, 0]],
      output_layers: [["r1", 0, 0], ["r2", 0, 0]],
    },
  };
  check(two, /the model has 2 outputs \(r1, r2\); cnnlens needs exactly one/);
  const big = tf.memory().numTensors;
  const w = new Map([weight("c/kernel", [5, 5, 3, 2], new Float32Array(150))]);
  // A shape error after parameters were made releases them.
  assert.throws(
    () =>
      tfjsLayersToGraph(
        seq([4, 4, 3], [{
          class_name: "Conv2D",
          config: { name: "c", filters: 2, kernel_size: 5, use_bias: false },
        }]),
        w,
      ),
    /layer 'c' \(class Conv2D\): Window of size 5/,
  );
  assert.equal(tf.memory().numTensors, big);
  sized.dispose();
});

Deno.test("tfjsLayersToGraph(): nested Sequential models (also as the first layer) and a layer called twice (shared weights) import inline", async () => {
  await useBackend("cpu");
  // A Sequential whose first layer is a model takes its input shape from inside.
  const outer = tf.sequential({
    name: "outer",
    layers: [
      tf.sequential({
        name: "base",
        layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], name: "bc", filters: 2, kernelSize: 1 })],
      }),
      tf.layers.flatten({ name: "fl" }),
      tf.layers.dense({ name: "head", units: 2 }),
    ],
  });
  let outerArt: tf.io.ModelArtifacts | undefined;
  await outer.save(tf.io.withSaveHandler((a) => {
    outerArt = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const og = await importTfjsModel(outerArt!);
  const ox = tf.randomNormal([2, 4, 4, 2], 0, 1, "float32", 6);
  const oy = outer.predict(ox) as tf.Tensor;
  const otr = runForward(og, ox);
  assert.deepEqual(og.node(og.input).shape, [2, 4, 4]);
  assert.ok(maxRelError(await read(otr.get(og.output)), await read(oy)) <= TOL);
  tf.dispose([ox, oy]);
  otr.dispose();
  og.dispose();
  outer.dispose();
  const inner = tf.sequential({
    name: "inner",
    layers: [
      tf.layers.conv2d({
        inputShape: [6, 6, 3],
        name: "inner_conv",
        filters: 3,
        kernelSize: 3,
        padding: "same",
      }),
      tf.layers.reLU({ name: "inner_relu" }),
    ],
  });
  const shared = tf.layers.conv2d({ name: "shared", filters: 3, kernelSize: 1 });
  const inp = tf.input({ shape: [6, 6, 3], name: "x" });
  const a = shared.apply(inp) as tf.SymbolicTensor;
  const b = inner.apply(a) as tf.SymbolicTensor;
  const c = shared.apply(b) as tf.SymbolicTensor;
  const out = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(c) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((x) => {
    art = x;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const g = await importTfjsModel(art!);
  const x = tf.randomNormal([2, 6, 6, 3], 0, 1, "float32", 2);
  const y = model.predict(x) as tf.Tensor;
  const tr = runForward(g, x);
  assert.ok(maxRelError(await read(tr.get(g.output)), await read(y)) <= TOL);
  assert.deepEqual(g.node("inner_relu").inputs, ["inner_conv"]);
  assert.deepEqual(g.node("shared_1").inputs, ["inner_relu"]);
  tf.dispose([x, y]);
  tr.dispose();
  g.dispose();
  model.dispose();
});
