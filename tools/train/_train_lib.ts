/**
 * Shared pieces of the training scripts: data from the synthetic generator (cached in the system's temp
 * folder), a seeded training loop over tfjs layers models, evaluation, saving in the TensorFlow.js layers
 * format (`model.json` + `weights.bin`), the check that the project's importer reproduces the saved model,
 * and `train_log.json`.
 * @module
 */
import { importTfjsModel, runForward, tf, useBackend } from "@cnnlens/core";
import { join } from "node:path";
import {
  fewShotEpisode,
  hashSeed,
  Prng,
  SYNTH_MEAN,
  SYNTH_STD,
  SYNTH_VERSION,
  synthInput,
  synthSamples,
  type SynthSplit,
} from "../../packages/eval/src/synth/mod.ts";
import { enableWasmTraining } from "./_wasm_training.ts";

/** Where the committed models go. */
export const MODELS_DIR = new URL("../../packages/eval/models/", import.meta.url).pathname;

/** Image size of every model. */
export const SIZE = 64;
/** Number of classes A. */
export const CLASSES = 6;
/** The data set's seed (the generator's default). */
export const DATA_SEED = 1;
/** Test images re-checked by `packages/eval/src/synth/models_test.ts` through the importer. */
export const TEST_SUBSET = 96;

/** A split in memory: NHWC float input and labels. */
export interface Data {
  /** [N, 64, 64, 3], normalised as `synthInput` does. */
  x: Float32Array;
  /** Class indices. */
  y: Int32Array;
  /** N. */
  n: number;
}

/**
 * Generates (or reads from the temp cache) the first `count` samples of a split.
 * @param split Split name.
 * @param count How many.
 * @returns The data.
 */
export async function loadSplit(split: SynthSplit, count: number): Promise<Data> {
  const dir = join(Deno.env.get("TMPDIR") ?? "/tmp", "cnnlens-synth-cache");
  const file = join(dir, `v${SYNTH_VERSION}_s${DATA_SEED}_${SIZE}_${split}_${count}.bin`);
  const per = SIZE * SIZE * 3;
  try {
    const bytes = await Deno.readFile(file);
    const x = new Float32Array(bytes.buffer, 0, count * per).slice();
    const y = new Int32Array(bytes.buffer, count * per * 4, count).slice();
    return { x, y, n: count };
  } catch {
    // not cached yet
  }
  const t0 = performance.now();
  const samples = synthSamples(split, count, { seed: DATA_SEED, size: SIZE });
  const x = synthInput(samples.map((s) => s.image));
  const y = Int32Array.from(samples.map((s) => s.label));
  console.error(`generated ${split} × ${count} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await Deno.mkdir(dir, { recursive: true });
  const out = new Uint8Array(count * per * 4 + count * 4);
  out.set(new Uint8Array(x.buffer), 0);
  out.set(new Uint8Array(y.buffer), count * per * 4);
  await Deno.writeFile(file, out);
  return { x, y, n: count };
}

/** Picks the backend for training: wasm with the training kernels (`CNNLENS_TRAIN_BACKEND` overrides). */
export async function trainingBackend(): Promise<string> {
  enableWasmTraining();
  const name = (Deno.env.get("CNNLENS_TRAIN_BACKEND") ?? "wasm") as "wasm" | "cpu";
  const info = await useBackend(name);
  return info.name;
}

/** Seeded He-normal initialiser (layers are given distinct seeds by `seeds.next()`). */
export class Seeds {
  #rng: Prng;
  /** @param seed Base seed. */
  constructor(seed: number) {
    this.#rng = new Prng(hashSeed(seed, 0x1417));
  }
  /** @returns A kernel initialiser with a fresh seed. */
  he(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.#rng.uint32() % 1e9 });
  }
  /** @returns A Glorot-uniform initialiser with a fresh seed. */
  glorot(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.#rng.uint32() % 1e9 });
  }
}

/** Batched inference in eval mode. */
export function predict(model: tf.LayersModel, x: Float32Array, n: number, batch = 100): tf.Tensor2D {
  const parts: tf.Tensor[] = [];
  const per = SIZE * SIZE * 3;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const xb = tf.tensor4d(x.subarray(i * per, (i + m) * per), [m, SIZE, SIZE, 3]);
    parts.push(tf.tidy(() => model.predict(xb) as tf.Tensor));
    xb.dispose();
  }
  const out = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}

/** Top-1 accuracy of logits against labels. */
export async function accuracy(logits: tf.Tensor2D, y: Int32Array): Promise<number> {
  const am = tf.argMax(logits, 1);
  const p = await am.data();
  am.dispose();
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (p[i] === y[i]) ok++;
  return ok / y.length;
}

/** What one epoch reports. */
export interface EpochLog {
  epoch: number;
  lr: number;
  loss: number;
  train_accuracy: number;
  val_accuracy: number | null;
  seconds: number;
}

/** Options of {@linkcode trainLoop}. */
export interface LoopOptions {
  /** Epochs. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Peak learning rate (Adam), cosine-decayed to 2 % over the run after a one-epoch linear warm-up. */
  lr: number;
  /** Shuffling seed. */
  seed: number;
  /** Random horizontal flips (every class is mirror-invariant). */
  flip?: boolean;
  /** Called after each epoch; returns the validation accuracy to log (or null). */
  onEpoch?: (epoch: number) => Promise<number | null>;
}

/**
 * A seeded minibatch loop: `lossFn(xBatch, yBatch)` is minimised with Adam; the batch order is a Prng
 * permutation per epoch.
 * @param vars Trainable variables (`model.trainableWeights` values).
 * @param data Training data.
 * @param lossFn Loss and logits for a batch (training mode).
 * @param o Schedule.
 * @returns One log entry per epoch.
 */
export async function trainLoop(
  vars: tf.Variable[],
  data: Data,
  lossFn: (x: tf.Tensor4D, y: tf.Tensor1D) => { loss: tf.Scalar; logits: tf.Tensor2D },
  o: LoopOptions,
): Promise<EpochLog[]> {
  const rng = new Prng(hashSeed(o.seed, 0xba7c));
  const per = SIZE * SIZE * 3;
  const steps = Math.floor(data.n / o.batchSize);
  const total = steps * o.epochs;
  const opt = tf.train.adam(o.lr);
  const logs: EpochLog[] = [];
  const xb = new Float32Array(o.batchSize * per);
  const yb = new Int32Array(o.batchSize);
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    const order = rng.shuffle(Array.from({ length: data.n }, (_, i) => i));
    let lossSum = 0, correct = 0, seen = 0;
    let lr = o.lr;
    for (let s = 0; s < steps; s++, step++) {
      for (let b = 0; b < o.batchSize; b++) {
        const i = order[s * o.batchSize + b];
        const src = data.x.subarray(i * per, (i + 1) * per);
        if (o.flip && rng.next() < 0.5) {
          const dst = xb.subarray(b * per, (b + 1) * per);
          for (let r = 0; r < SIZE; r++) {
            for (let c = 0; c < SIZE; c++) {
              const a = (r * SIZE + c) * 3, z = (r * SIZE + SIZE - 1 - c) * 3;
              dst[a] = src[z];
              dst[a + 1] = src[z + 1];
              dst[a + 2] = src[z + 2];
            }
          }
        } else xb.set(src, b * per);
        yb[b] = data.y[i];
      }
      const warm = steps;
      lr = step < warm
        ? o.lr * (step + 1) / warm
        : o.lr * (0.02 + 0.98 * 0.5 * (1 + Math.cos(Math.PI * (step - warm) / Math.max(1, total - warm))));
      (opt as unknown as { learningRate: number }).learningRate = lr;
      const x = tf.tensor4d(xb, [o.batchSize, SIZE, SIZE, 3]);
      const y = tf.tensor1d(yb, "int32");
      let logits: tf.Tensor2D | null = null;
      const loss = opt.minimize(
        () => {
          const r = lossFn(x, y);
          logits = tf.keep(r.logits);
          return r.loss;
        },
        true,
        vars,
      )!;
      lossSum += (await loss.data())[0] * o.batchSize;
      const am = tf.argMax(logits!, 1);
      const p = await am.data();
      for (let b = 0; b < o.batchSize; b++) if (p[b] === yb[b]) correct++;
      seen += o.batchSize;
      tf.dispose([x, y, loss, am, logits!]);
    }
    const val = o.onEpoch ? await o.onEpoch(epoch) : null;
    const e: EpochLog = {
      epoch,
      lr: Number(lr.toPrecision(4)),
      loss: Number((lossSum / seen).toFixed(4)),
      train_accuracy: Number((correct / seen).toFixed(4)),
      val_accuracy: val === null ? null : Number(val.toFixed(4)),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    };
    logs.push(e);
    console.error(JSON.stringify(e), `tensors=${tf.memory().numTensors}`);
  }
  opt.dispose();
  return logs;
}

/** Softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, logits.shape[1]), logits) as tf.Scalar;
}

/**
 * What the saved `model.json` says about its input and output (`userDefinedMetadata`, which tfjs keeps and
 * the importer ignores): class names, normalisation, data set.
 * @param labels Class names of the outputs, or null for an embedding.
 * @returns The metadata.
 */
export function modelMetadata(labels: string[] | null): Record<string, unknown> {
  return {
    ...(labels ? { labels } : { embedding: true }),
    input: { shape: [SIZE, SIZE, 3], layout: "NHWC", scale: 1 / 255, mean: SYNTH_MEAN, std: SYNTH_STD },
    dataset: { generator: "@cnnlens/eval synth", version: SYNTH_VERSION, seed: DATA_SEED },
  };
}

/**
 * Saves a layers model as `dir/model.json` + `dir/weights.bin` (one shard) through a save handler.
 * @param model The model.
 * @param dir Folder (created; earlier files replaced).
 * @param metadata `userDefinedMetadata` of model.json (see {@linkcode modelMetadata}).
 * @returns Total bytes written.
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  metadata: Record<string, unknown>,
): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  let bytes = 0;
  await model.save(tf.io.withSaveHandler(async (a) => {
    const data = new Uint8Array(a.weightData as ArrayBuffer);
    const json = {
      format: "layers-model",
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
      userDefinedMetadata: metadata,
    };
    await Deno.writeFile(join(dir, "weights.bin"), data);
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(json) + "\n");
    // The repository's formatter owns JSON layout: format model.json as `deno fmt --check` wants it.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", join(dir, "model.json")],
      cwd: new URL("../../", import.meta.url).pathname,
    }).output();
    if (!fmt.success) throw new Error(`deno fmt ${join(dir, "model.json")} failed`);
    bytes = data.byteLength + (await Deno.stat(join(dir, "model.json"))).size;
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: "JSON",
        weightDataBytes: data.byteLength,
      },
    };
  }));
  return bytes;
}

/**
 * Loads the saved files through tfjs (`tf.loadLayersModel`) and through the project's importer, and returns
 * the largest absolute difference of their outputs on `n` inputs (and tfjs's own outputs).
 * @param dir Model folder.
 * @param x Inputs (NHWC).
 * @param n How many.
 * @returns Max |importer − tfjs| and the max |tfjs|.
 */
export async function importerCheck(
  dir: string,
  x: Float32Array,
  n: number,
): Promise<{ maxAbsDiff: number; maxAbs: number }> {
  const path = join(dir, "model.json");
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await readArtifacts(path)));
  const input = tf.tensor4d(x.subarray(0, n * SIZE * SIZE * 3), [n, SIZE, SIZE, 3]);
  const ref = loaded.predict(input) as tf.Tensor;
  const g = await importTfjsModel(path);
  const trace = runForward(g, input, { keep: [] });
  const out = trace.get(g.output);
  const a = await ref.data(), b = await out.data();
  let maxAbsDiff = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  trace.dispose();
  g.dispose();
  tf.dispose([input, ref]);
  loaded.dispose();
  return { maxAbsDiff, maxAbs };
}

/** Reads `model.json` + shards into tfjs ModelArtifacts. */
export async function readArtifacts(path: string): Promise<tf.io.ModelArtifacts> {
  const json = JSON.parse(await Deno.readTextFile(path));
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const parts: Uint8Array[] = [];
  for (const g of json.weightsManifest) for (const p of g.paths) parts.push(await Deno.readFile(dir + p));
  const total = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    total.set(p, o);
    o += p.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
    weightData: total.buffer,
  };
}

/** The machine, for the logs. */
export async function machine(): Promise<
  { nproc: string; arch: string; os: string; deno: string; tfjs: string }
> {
  const run = async (cmd: string, args: string[]) => {
    try {
      const out = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
      return new TextDecoder().decode(out.stdout).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    nproc: await run("nproc", []),
    arch: await run("uname", ["-m"]),
    os: `${Deno.build.os} ${await run("uname", ["-r"])}`,
    deno: Deno.version.deno,
    tfjs: tf.version.tfjs,
  };
}

/** 5-way K-shot episode accuracy of an embedding with cosine similarity to class prototypes. */
export async function episodeAccuracy(
  embed: (x: Float32Array, n: number) => Promise<Float32Array>,
  pool: Data,
  options: { ways: number; shots: number; queries: number; episodes: number; seed: number },
): Promise<{ mean: number; ci95: number }> {
  const feats = await embed(pool.x, pool.n);
  const d = feats.length / pool.n;
  const unit = new Float32Array(feats.length);
  for (let i = 0; i < pool.n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += feats[i * d + k] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < d; k++) unit[i * d + k] = feats[i * d + k] * inv;
  }
  const accs: number[] = [];
  for (let e = 0; e < options.episodes; e++) {
    const ep = fewShotEpisode(pool.y, e, options);
    const protos = ep.support.map((items) => {
      const p = new Float64Array(d);
      for (const i of items) for (let k = 0; k < d; k++) p[k] += unit[i * d + k] / items.length;
      return p;
    });
    let ok = 0, all = 0;
    ep.query.forEach((items, j) => {
      for (const i of items) {
        let best = -1, bestS = -Infinity;
        protos.forEach((p, c) => {
          let dot = 0, pn = 0;
          for (let k = 0; k < d; k++) {
            dot += unit[i * d + k] * p[k];
            pn += p[k] * p[k];
          }
          const s = dot / Math.sqrt(pn);
          if (s > bestS) {
            bestS = s;
            best = c;
          }
        });
        if (best === j) ok++;
        all++;
      }
    });
    accs.push(ok / all);
  }
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const sd = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
  return { mean, ci95: 1.96 * sd / Math.sqrt(accs.length) };
}
