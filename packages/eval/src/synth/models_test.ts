/**
 * The committed models of packages/eval/models/ (trained by tools/train/): each loads through the project's
 * tfjs importer, reproduces tfjs's own `predict` on generated images, and reaches the accuracy its
 * train_log.json records on the same test subset.
 */
import assert from "node:assert/strict";
import { importTfjsModel, runForward, tf, useBackend } from "@cnnlens/core";
import { join } from "node:path";
import { fewShotEpisode } from "./few_shot_episode.ts";
import { drawScene } from "./scene.ts";
import { SYNTH_MEAN, SYNTH_STD, synthInput } from "./synth_input.ts";
import { SYNTH_VERSION, synthClassNames, synthSamples } from "./synth_sample.ts";

const MODELS = new URL("../../models/", import.meta.url).pathname;
const CLASSIFIERS = ["vgg_bn", "resnet_small", "iom_cnn6", "conv4_leaky"];
const EMBEDDING = "fewshot_resnet";

// deno-lint-ignore no-explicit-any
type Log = any;

async function readLog(name: string): Promise<Log> {
  return JSON.parse(await Deno.readTextFile(join(MODELS, name, "train_log.json")));
}

/** tfjs's own loader on the committed files (model.json + its shards). */
async function loadWithTfjs(name: string): Promise<tf.LayersModel> {
  const dir = join(MODELS, name);
  const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  const parts = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) =>
    Deno.readFileSync(join(dir, p))
  );
  const bytes = new Uint8Array(parts.reduce((s: number, p: Uint8Array) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.byteLength;
  }
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
    weightData: bytes.buffer,
  }));
}

/** The importer's output for an NHWC batch. */
async function importerOutput(name: string, x: Float32Array, n: number): Promise<Float32Array> {
  const g = await importTfjsModel(join(MODELS, name, "model.json"));
  const input = tf.tensor4d(x, [n, 64, 64, 3]);
  const trace = runForward(g, input, { keep: [] });
  const out = await trace.get(g.output).data() as Float32Array;
  trace.dispose();
  input.dispose();
  g.dispose();
  return out;
}

async function tfjsOutput(name: string, x: Float32Array, n: number): Promise<Float32Array> {
  const m = await loadWithTfjs(name);
  const input = tf.tensor4d(x, [n, 64, 64, 3]);
  const y = m.predict(input) as tf.Tensor;
  const out = await y.data() as Float32Array;
  tf.dispose([input, y]);
  m.dispose();
  return out;
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

Deno.test("committed models: the five of tools/train, each under 2 MB and 8 MB together, logged with their run", async () => {
  const dirs = [...Deno.readDirSync(MODELS)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  assert.deepEqual(dirs, [...CLASSIFIERS, EMBEDDING].sort());
  let total = 0;
  for (const name of dirs) {
    let bytes = 0;
    for (const f of Deno.readDirSync(join(MODELS, name))) {
      bytes += Deno.statSync(join(MODELS, name, f.name)).size;
    }
    assert.ok(bytes < 2 * 1024 * 1024, `${name}: ${bytes} bytes`);
    total += bytes;
    const log = await readLog(name);
    assert.equal(log.name, name);
    assert.equal(
      log.data.version,
      SYNTH_VERSION,
      `${name} was trained on generator v${log.data.version}: retrain`,
    );
    assert.match(log.command, new RegExp(`tools/train/${name}\\.ts`));
    assert.ok(Number(log.machine.nproc) >= 1 && log.machine.arch.length > 0);
    assert.ok(log.train_seconds > 0 && log.epochs.length === log.training.epochs);
    // model.json says what its outputs are and how its input is normalised.
    const meta = JSON.parse(await Deno.readTextFile(join(MODELS, name, "model.json"))).userDefinedMetadata;
    if (name === EMBEDDING) assert.equal(meta.embedding, true);
    else assert.deepEqual(meta.labels, synthClassNames("test"));
    assert.deepEqual([meta.input.mean, meta.input.std], [SYNTH_MEAN, SYNTH_STD]);
    assert.equal(meta.dataset.version, SYNTH_VERSION);
  }
  assert.ok(total < 8 * 1024 * 1024, `${total} bytes in all`);
});

Deno.test("committed classifiers: importTfjsModel reproduces tfjs predict and the logged test accuracy", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const first = (await readLog(CLASSIFIERS[0])).results.test_subset.first as number;
  const samples = synthSamples("test", first, { seed: 1 });
  const x = synthInput(samples.map((s) => s.image));
  for (const name of CLASSIFIERS) {
    const log = await readLog(name);
    assert.equal(log.results.test_subset.first, first);
    assert.ok(log.results.test_accuracy > 0.9, `${name}: logged test accuracy ${log.results.test_accuracy}`);
    const ours = await importerOutput(name, x, first);
    const ref = await tfjsOutput(name, x.subarray(0, 8 * 64 * 64 * 3), 8);
    const err = maxRelError(ours.subarray(0, ref.length), ref);
    assert.ok(err < 1e-4, `${name}: importer vs tfjs max relative error ${err}`);
    let ok = 0;
    samples.forEach((s, i) => {
      const row = ours.subarray(i * 6, (i + 1) * 6);
      if (row.indexOf(Math.max(...row)) === s.label) ok++;
    });
    const acc = ok / first;
    assert.ok(
      Math.abs(acc - log.results.test_subset.accuracy) <= 0.01,
      `${name}: ${acc} on the first ${first} test images, logged ${log.results.test_subset.accuracy}`,
    );
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("committed few-shot embedding: importer = tfjs, and the logged 5-way 1-shot accuracy on the episode subset", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const log = await readLog(EMBEDDING);
  const sub = log.results.classes_b.episode_subset;
  const pool = synthSamples("fewshot", sub.pool, { seed: 1 });
  const x = synthInput(pool.map((s) => s.image));
  const f = await importerOutput(EMBEDDING, x, sub.pool);
  const ref = await tfjsOutput(EMBEDDING, x.subarray(0, 8 * 64 * 64 * 3), 8);
  assert.ok(maxRelError(f.subarray(0, ref.length), ref) < 1e-4);
  const d = f.length / sub.pool;
  assert.equal(d, 64);
  // Nearest prototype by cosine similarity (prototype = mean of the unit support embeddings).
  const unit = (i: number) => {
    const v = Array.from(f.subarray(i * d, (i + 1) * d));
    const n = Math.hypot(...v);
    return v.map((t) => t / n);
  };
  const cos = (a: number[], b: number[]) => a.reduce((s, t, k) => s + t * b[k], 0) / Math.hypot(...b);
  const labels = pool.map((s) => s.label);
  let hits = 0, total = 0, acc = 0;
  for (let e = 0; e < sub.episodes; e++) {
    const ep = fewShotEpisode(labels, e, sub);
    const protos = ep.support.map((items) => {
      const p = new Array(d).fill(0);
      for (const i of items) unit(i).forEach((t, k) => p[k] += t / items.length);
      return p;
    });
    let ok = 0, n = 0;
    ep.query.forEach((items, j) => {
      for (const i of items) {
        const q = unit(i);
        const s = protos.map((p) => cos(q, p));
        if (s.indexOf(Math.max(...s)) === j) ok++;
        n++;
      }
    });
    acc += ok / n;
    hits += ok;
    total += n;
  }
  acc /= sub.episodes;
  assert.ok(Math.abs(acc - sub.accuracy) <= 0.01, `episode accuracy ${acc}, logged ${sub.accuracy}`);
  assert.ok(hits / total > 0.4, "well above the 5-way chance of 0.2");
  assert.ok(log.results.classes_b["5way_1shot"].mean > 0.4);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("committed classifiers look at the object: without it they fall to chance, without distractors they do not", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const n = 96;
  const samples = synthSamples("test", n, { seed: 1 });
  const variants = {
    full: samples.map((s) => s.image),
    noObject: samples.map((s) => drawScene(s.spec, { object: false }).image),
    noDistractors: samples.map((s) => drawScene(s.spec, { distractors: false }).image),
  };
  for (const name of CLASSIFIERS) {
    const acc: Record<string, number> = {};
    for (const [k, images] of Object.entries(variants)) {
      const out = await importerOutput(name, synthInput(images), n);
      acc[k] = samples.filter((s, i) => {
        const row = out.subarray(i * 6, (i + 1) * 6);
        return row.indexOf(Math.max(...row)) === s.label;
      }).length / n;
    }
    assert.ok(acc.full >= 0.9, `${name}: ${JSON.stringify(acc)}`);
    assert.ok(
      acc.noObject <= 0.35,
      `${name} still finds the class without the object: ${JSON.stringify(acc)}`,
    );
    assert.ok(acc.noDistractors >= acc.full - 0.05, `${name}: ${JSON.stringify(acc)}`);
  }
  assert.equal(tf.memory().numTensors, before);
});
