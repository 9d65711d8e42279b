/**
 * The driver shared by the classifier scripts: build, train on `train`, pick nothing on `val` (it is only
 * logged), evaluate on `train`/`val`/`test`, save, check the importer, write `train_log.json`.
 * @module
 */
import { tf } from "@cnnlens/core";
import { join } from "node:path";
import { SYNTH_MEAN, SYNTH_STD, SYNTH_VERSION, synthClassNames } from "../../packages/eval/src/synth/mod.ts";
import {
  accuracy,
  CLASSES,
  crossEntropy,
  DATA_SEED,
  importerCheck,
  loadSplit,
  machine,
  modelMetadata,
  MODELS_DIR,
  predict,
  saveModel,
  Seeds,
  SIZE,
  TEST_SUBSET,
  trainingBackend,
  trainLoop,
} from "./_train_lib.ts";

/** What a classifier script specifies. */
export interface ClassifierRun {
  /** Folder name under packages/eval/models/. */
  name: string;
  /** One line for the log and the README. */
  description: string;
  /** Builds the (uncompiled) model; input [64, 64, 3] NHWC, output 6 logits. */
  build: (seeds: Seeds) => tf.LayersModel;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Training images. */
  trainCount: number;
  /** Seed of initialisation and batch order. */
  seed: number;
  /** Random horizontal flips. */
  flip: boolean;
}

/**
 * Trains, evaluates, saves and logs one classifier. A trial that saves nothing: `CNNLENS_TRAIN_TRIAL=1`, with
 * `CNNLENS_TRAIN_EPOCHS` / `CNNLENS_TRAIN_COUNT` to shorten it.
 * @param run The run.
 */
export async function runClassifier(run: ClassifierRun): Promise<void> {
  const quick = Deno.env.get("CNNLENS_TRAIN_TRIAL") === "1";
  if (quick) {
    run = {
      ...run,
      epochs: Number(Deno.env.get("CNNLENS_TRAIN_EPOCHS") ?? run.epochs),
      trainCount: Number(Deno.env.get("CNNLENS_TRAIN_COUNT") ?? run.trainCount),
    };
  }
  const backend = await trainingBackend();
  const t0 = performance.now();
  const train = await loadSplit("train", run.trainCount);
  const val = await loadSplit("val", 600);
  const test = await loadSplit("test", 600);
  const model = run.build(new Seeds(run.seed));
  const params = model.countParams();
  console.error(`${run.name}: ${params} parameters, backend ${backend}`);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const tTrain = performance.now();
  const epochs = await trainLoop(
    vars,
    train,
    (x, y) => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      return { loss: crossEntropy(logits, y), logits };
    },
    {
      epochs: run.epochs,
      batchSize: run.batchSize,
      lr: run.lr,
      seed: run.seed,
      flip: run.flip,
      onEpoch: async () => {
        const l = predict(model, val.x, val.n);
        const a = await accuracy(l, val.y);
        l.dispose();
        return a;
      },
    },
  );
  const trainSeconds = (performance.now() - tTrain) / 1000;
  const evalOn = async (d: typeof train, n = d.n) => {
    const l = predict(model, d.x, n);
    const a = await accuracy(l, d.y.subarray(0, n));
    l.dispose();
    return Number(a.toFixed(4));
  };
  const results = {
    train_accuracy: await evalOn(train),
    val_accuracy: await evalOn(val),
    test_accuracy: await evalOn(test),
    test_subset: { first: TEST_SUBSET, accuracy: await evalOn(test, Math.min(TEST_SUBSET, test.n)) },
  };
  console.error(run.name, JSON.stringify(results));
  if (quick) {
    console.error("trial run: nothing saved");
    return;
  }
  const dir = join(MODELS_DIR, run.name);
  const bytes = await saveModel(model, dir, modelMetadata(synthClassNames("test")));
  const check = await importerCheck(dir, test.x, 16);
  const log = {
    name: run.name,
    description: run.description,
    parameters: params,
    bytes,
    layers: model.layers.map((l) => `${l.name}:${l.getClassName()}`),
    input: { shape: [SIZE, SIZE, 3], layout: "NHWC", scale: "1/255", mean: SYNTH_MEAN, std: SYNTH_STD },
    output: `${CLASSES} logits (classes: ${synthClassNames("test").join(", ")})`,
    data: {
      generator: "packages/eval/src/synth",
      version: SYNTH_VERSION,
      seed: DATA_SEED,
      size: SIZE,
      train: train.n,
      val: val.n,
      test: test.n,
    },
    training: {
      optimizer: "adam",
      lr: run.lr,
      schedule: "linear warm-up over epoch 1, then cosine to 2 % of lr",
      batch_size: run.batchSize,
      epochs: run.epochs,
      flip: run.flip,
      seed: run.seed,
      loss: "softmax cross-entropy",
      backend,
    },
    epochs,
    results,
    importer: { inputs: 16, max_abs_diff: check.maxAbsDiff, max_abs_output: check.maxAbs },
    train_seconds: Number(trainSeconds.toFixed(1)),
    total_seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    command: `npx deno run -A tools/train/${run.name}.ts`,
    machine: await machine(),
    date: new Date().toISOString(),
  };
  await Deno.writeTextFile(join(dir, "train_log.json"), JSON.stringify(log, null, 2) + "\n");
  console.error(`saved ${dir} (${bytes} bytes); importer max |diff| ${check.maxAbsDiff.toExponential(2)}`);
  model.dispose();
}
