import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { type BackendName, useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { maxRelError, testBackends } from "../../_testing/assert.ts";
import { importTfjsModel, type TfjsModelJson } from "./import_tfjs_model.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import { shardReaderFor } from "./tfjs_weights.ts";
import { fileIOHandler } from "./_tfjs_files.ts";
import { chwToHwcOrder, fixtureIO, FIXTURES, LAYERS_FIXTURES, modelPath, read } from "./_test_helpers.ts";

/**
 * Layers whose core value is a flattened feature map in C, H, W order (Keras holds H, W, C order): the
 * Flatten layers of non-trivial maps and the per-feature layers after them (the importer permutes the
 * Dense/BatchNorm parameters that read them instead of the data).
 */
const CHW_ORDERED: Record<string, string[]> = {
  sequential_cnn: ["flatten", "dropout"],
  sequential_cnn_uint8: ["flatten", "dropout"],
  se_block: ["flat"],
  se_block_uint16: ["flat"],
  flatten_output: ["flat", "flat_bn", "flat2"],
};

const TOL = 1e-5;

async function readJson(name: string): Promise<TfjsModelJson> {
  return JSON.parse(await Deno.readTextFile(modelPath(name)));
}

for (const name of LAYERS_FIXTURES) {
  Deno.test(`importTfjsModel(): ${name} equals tfjs's committed predict() output (max rel. error ≤ 1e-5)`, async () => {
    await useBackend("cpu");
    const g = await importTfjsModel(modelPath(name));
    const { x, expected } = await fixtureIO(name);
    const tr = runForward(g, x, { keep: [] });
    const err = maxRelError(await read(tr.get(g.output)), expected);
    assert.ok(err <= TOL, `${name}: max rel. error ${err}`);
    tr.dispose();
    x.dispose();
    g.dispose();
  });

  Deno.test(`importTfjsModel(): ${name} equals a live tf.loadLayersModel of the same files, every layer`, async () => {
    await useBackend("cpu");
    const g = await importTfjsModel(modelPath(name));
    const model = await tf.loadLayersModel(fileIOHandler(modelPath(name)));
    const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
    const probe = tf.model({
      inputs: model.inputs,
      outputs: layers.map((l) => l.output as tf.SymbolicTensor),
    });
    const [, h, w, c] = model.inputs[0].shape as number[];
    const x = tf.randomNormal([2, h, w, c], 0, 1, "float32", 7);
    const outs = probe.predict(x) as tf.Tensor[];
    const tr = runForward(g, x);
    assert.equal(layers.length, outs.length);
    const chw = CHW_ORDERED[name] ?? [];
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      const node = g.node(l.name);
      let actual = await read(tr.get(l.name));
      if (chw.includes(l.name)) {
        const src = g.node(node.op === "flatten" ? node.inputs[0] : g.node(node.inputs[0]).inputs[0]).shape;
        actual = chwToHwcOrder(actual, src);
      }
      const expected = await read(outs[i]);
      assert.equal(actual.length, expected.length, `${name}/${l.name}: size`);
      const err = maxRelError(actual, expected);
      assert.ok(err <= TOL, `${name}/${l.name} (${l.getClassName()}): max rel. error ${err} vs tfjs`);
    }
    // The declared C, H, W-ordered layers really differ from Keras order (the permutation is not trivial).
    for (const l of chw) {
      const i = layers.findIndex((x) => x.name === l);
      assert.ok(maxRelError(await read(tr.get(l)), await read(outs[i])) > 1e-2, `${name}/${l}`);
    }
    tr.dispose();
    tf.dispose([x, ...outs]);
    model.dispose();
    g.dispose();
  });
}

// WebGPU here is a slow software adapter (its first run compiles every shader): cpu and wasm unless
// CNNLENS_TEST_BACKENDS asks for more.
const backends: BackendName[] = Deno.env.get("CNNLENS_TEST_BACKENDS") ? testBackends() : ["cpu", "wasm"];
for (const b of backends) {
  Deno.test(`importTfjsModel(): sequential_cnn and graph_model equal tfjs's own predict on ${b}`, async () => {
    await useBackend(b);
    for (const name of ["sequential_cnn", "graph_model"]) {
      const g = await importTfjsModel(modelPath(name));
      const model = name === "graph_model"
        ? await tf.loadGraphModel(fileIOHandler(modelPath(name)))
        : await tf.loadLayersModel(fileIOHandler(modelPath(name)));
      const { x, expected } = await fixtureIO(name);
      const y = model.predict(x) as tf.Tensor;
      const tr = runForward(g, x, { keep: [] });
      const actual = await read(tr.get(g.output));
      // tfjs-backend-wasm 4.22 computes _FusedMatMul with transpose_b and a bias wrongly (see README):
      // there the reference is tfjs's cpu output, committed.
      const reference = b === "wasm" && name === "graph_model" ? expected : await read(y);
      const err = maxRelError(actual, reference);
      assert.ok(err <= TOL, `${name} on ${b}: max rel. error ${err}`);
      assert.ok(maxRelError(actual, expected) <= TOL, `${name} on ${b} vs committed cpu output`);
      tr.dispose();
      tf.dispose([x, y]);
      model.dispose();
      g.dispose();
    }
  });
}

Deno.test("importTfjsModel(): tfjs ModelArtifacts from model.save() import directly (weightSpecs + weightData)", async () => {
  await useBackend("cpu");
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [6, 7, 2], filters: 3, kernelSize: 2, strides: 2, padding: "same" }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, activation: "sigmoid" }));
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const g = await importTfjsModel(artifacts!);
  const x = tf.randomUniform([3, 6, 7, 2], -1, 1, "float32", 3);
  const y = m.predict(x) as tf.Tensor;
  const tr = runForward(g, x, { keep: [] });
  assert.ok(maxRelError(await read(tr.get(g.output)), await read(y)) <= TOL);
  tr.dispose();
  tf.dispose([x, y]);
  m.dispose();
  g.dispose();
});

Deno.test("importTfjsModel(): Python-converter layout (model_config, InputLayer first) and Keras 3 functional configs", async () => {
  await useBackend("cpu");
  // Keras 2 / tensorflowjs_converter: modelTopology.model_config, an explicit InputLayer in Sequential.
  const seq = await readJson("sequential_cnn");
  const topo = seq.modelTopology as {
    config: { layers: { class_name: string; config: Record<string, unknown> }[] };
  };
  const first = topo.config.layers[0].config;
  topo.config.layers.unshift({
    class_name: "InputLayer",
    config: { batch_input_shape: first.batch_input_shape, dtype: "float32", sparse: false, name: "input_1" },
  });
  delete first.batch_input_shape;
  const python = {
    ...seq,
    modelTopology: {
      keras_version: "2.15.0",
      backend: "tensorflow",
      model_config: topo,
      training_config: {},
    },
  };
  // Keras 3: class Functional, batch_shape, {args, kwargs} inbound nodes, LeakyReLU negative_slope.
  const fn = await readJson("functional_branches");
  const ftopo = fn.modelTopology as {
    class_name: string;
    keras_version: string;
    config: {
      layers: { class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[][][] }[];
    };
  };
  ftopo.class_name = "Functional";
  ftopo.keras_version = "3.3.3";
  for (const l of ftopo.config.layers) {
    if (l.class_name === "InputLayer") {
      l.config.batch_shape = l.config.batch_input_shape;
      delete l.config.batch_input_shape;
    }
    if (l.class_name === "LeakyReLU") {
      l.config.negative_slope = l.config.alpha;
      delete l.config.alpha;
    }
    l.inbound_nodes = l.inbound_nodes.map((call) => {
      const ts = call.map((r) => ({
        class_name: "__keras_tensor__",
        config: { keras_history: (r as unknown[]).slice(0, 3) },
      }));
      return { args: ts.length === 1 ? ts : [ts], kwargs: {} };
    }) as unknown as unknown[][][];
  }
  for (const [name, json] of [["sequential_cnn", python], ["functional_branches", fn]] as const) {
    const g = await importTfjsModel(json, { weights: shardReaderFor(modelPath(name)) });
    const { x, expected } = await fixtureIO(name);
    const tr = runForward(g, x, { keep: [] });
    const err = maxRelError(await read(tr.get(g.output)), expected);
    assert.ok(err <= TOL, `${name} variant: max rel. error ${err}`);
    tr.dispose();
    x.dispose();
    g.dispose();
  }
});

function assertOneLine(e: unknown, pattern: RegExp): true {
  assert.ok(e instanceof TfjsImportError, `expected TfjsImportError, got ${e}`);
  assert.equal(e.message.split("\n").length, 1, e.message);
  assert.match(e.message, /^Cannot import TensorFlow\.js model: /);
  assert.match(e.message, pattern);
  return true;
}

Deno.test("importTfjsModel(): unknown layer class and unsupported activation are one-line errors naming the layer", async () => {
  await useBackend("cpu");
  const weights = shardReaderFor(modelPath("sequential_cnn"));
  const json = await readJson("sequential_cnn");
  const layers =
    (json.modelTopology as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } })
      .config.layers;
  const before = tf.memory().numTensors;
  const lstm = structuredClone(json);
  (lstm.modelTopology as typeof json.modelTopology & { config: { layers: typeof layers } }).config.layers[5]
    .class_name = "LSTM";
  await assert.rejects(
    () => importTfjsModel(lstm, { weights }),
    (e) =>
      assertOneLine(e, /unsupported layer 'relu6' \(class LSTM\); supported classes: InputLayer, Conv2D/),
  );
  const tanh = structuredClone(json);
  (tanh.modelTopology as { config: { layers: typeof layers } }).config.layers[11].config.activation = "tanh";
  await assert.rejects(
    () => importTfjsModel(tanh, { weights }),
    (e) => assertOneLine(e, /unsupported layer 'logits' \(class Dense\): activation 'tanh' is not supported/),
  );
  const act = structuredClone(json);
  (act.modelTopology as { config: { layers: typeof layers } }).config.layers[12].config.activation = "elu";
  await assert.rejects(
    () => importTfjsModel(act, { weights }),
    (e) => assertOneLine(e, /unsupported layer 'probs' \(class Activation\): activation 'elu'/),
  );
  // Nothing the failed imports made is left behind.
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("importTfjsModel(): a missing weights shard is a one-line error naming the file", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(modelPath("functional_branches"), `${dir}/model.json`);
    await Deno.copyFile(`${FIXTURES}functional_branches/group1-shard1of3.bin`, `${dir}/group1-shard1of3.bin`);
    await Deno.copyFile(`${FIXTURES}functional_branches/group1-shard3of3.bin`, `${dir}/group1-shard3of3.bin`);
    await assert.rejects(
      () => importTfjsModel(`${dir}/model.json`),
      (e) =>
        assertOneLine(
          e,
          new RegExp(`cannot read weights file '${dir}/group1-shard2of3\\.bin' \\(no such file\\)`),
        ),
    );
    // A truncated shard names the weight that does not fit.
    await Deno.copyFile(`${FIXTURES}functional_branches/group1-shard2of3.bin`, `${dir}/group1-shard2of3.bin`);
    await Deno.writeFile(`${dir}/group1-shard3of3.bin`, new Uint8Array(10));
    await assert.rejects(
      () => importTfjsModel(`${dir}/model.json`),
      (e) =>
        assertOneLine(
          e,
          /weights file\(s\) 'group1-shard1of3\.bin'.* hold \d+ bytes, but weight '.*' needs bytes/,
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(
    () => importTfjsModel(`${FIXTURES}nope/model.json`),
    (e) => assertOneLine(e, /cannot read '.*nope\/model\.json' \(no such file\)/),
  );
  await assert.rejects(
    async () => importTfjsModel(await readJson("se_block")),
    (e) => assertOneLine(e, /the model has weights but none were given/),
  );
  await assert.rejects(
    () => importTfjsModel({ modelTopology: { class_name: "Sequential", config: { layers: [] } } }),
    (e) => assertOneLine(e, /Sequential model 'model' has no layers/),
  );
  await assert.rejects(() => importTfjsModel({ hello: 1 }), (e) => assertOneLine(e, /has no modelTopology/));
});

Deno.test("importTfjsModel(): a weight missing from the manifest, or of the wrong shape, names layer and weight", async () => {
  await useBackend("cpu");
  const json = await readJson("se_block");
  const weights = shardReaderFor(modelPath("se_block"));
  const renamed = structuredClone(json);
  renamed.weightsManifest![0].weights[0].name = "something_else/kernel";
  await assert.rejects(
    () => importTfjsModel(renamed, { weights }),
    (e) =>
      assertOneLine(
        e,
        /layer 'conv' \(class Conv2D\) needs weight 'conv\/kernel', which the weights manifest lacks/,
      ),
  );
  const reshaped = structuredClone(json);
  const topo = reshaped.modelTopology as {
    config: { layers: { name: string; config: Record<string, unknown> }[] };
  };
  topo.config.layers.find((l) => l.name === "conv")!.config.filters = 7;
  await assert.rejects(
    () => importTfjsModel(reshaped, { weights }),
    (e) =>
      assertOneLine(
        e,
        /layer 'conv' \(class Conv2D\): weight 'conv\/kernel' has shape \[3,3,3,8\], expected \[3,3,3,7\]/,
      ),
  );
});

Deno.test("importTfjsModel(): memory is flat over repeated import, forward and dispose", async () => {
  await useBackend("cpu");
  const { x } = await fixtureIO("se_block");
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    const g = await importTfjsModel(modelPath("se_block"));
    runForward(g, x).dispose();
    g.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
