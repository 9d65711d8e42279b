/**
 * Trains `fewshot_resnet`: the small ResNet as an embedding (the 64-d global-average-pooled feature), trained
 * as a cosine classifier on the synthetic classes A (logits = 10 · cos(embedding, w_c)), and evaluated on
 * 5-way K-shot episodes and retrieval over the disjoint classes B (nearest prototype by cosine similarity).
 * The saved model is the embedding network alone (its output is the embedding).
 *
 *     npx deno run -A tools/train/fewshot_resnet.ts
 * @module
 */
import { tf } from "@cnnlens/core";
import { join } from "node:path";
import { SYNTH_MEAN, SYNTH_STD, SYNTH_VERSION, synthClassNames } from "../../packages/eval/src/synth/mod.ts";
import { smallResnet } from "./_resnet.ts";
import {
  accuracy,
  CLASSES,
  crossEntropy,
  type Data,
  DATA_SEED,
  episodeAccuracy,
  importerCheck,
  loadSplit,
  machine,
  modelMetadata,
  MODELS_DIR,
  predict,
  saveModel,
  Seeds,
  SIZE,
  trainingBackend,
  trainLoop,
} from "./_train_lib.ts";

const NAME = "fewshot_resnet";
const SCALE = 10;
const SEED = 15;
const EPOCHS = 5, BATCH = 32, LR = 2e-3, TRAIN = 2400;
/** The episode subset re-checked by packages/eval/src/synth/models_test.ts through the importer. */
export const EPISODE_SUBSET = { pool: 120, episodes: 100, ways: 5, shots: 1, queries: 5, seed: 1 };

const trial = Deno.env.get("CNNLENS_TRAIN_TRIAL") === "1";
const epochsN = trial ? Number(Deno.env.get("CNNLENS_TRAIN_EPOCHS") ?? EPOCHS) : EPOCHS;
const trainN = trial ? Number(Deno.env.get("CNNLENS_TRAIN_COUNT") ?? TRAIN) : TRAIN;

const backend = await trainingBackend();
const t0 = performance.now();
const train = await loadSplit("train", trainN);
const val = await loadSplit("val", 600);
const test = await loadSplit("test", 600);
const pool = await loadSplit("fewshot", 600);
const seeds = new Seeds(SEED);
const net = smallResnet(seeds, [16, 32, 64], null, NAME);
const dim = (net.outputs[0].shape as number[])[1];
const w = tf.variable(seeds.glorot().apply([dim, CLASSES]) as tf.Tensor2D, true, "cosine_classifier");
const params = net.countParams();
console.error(
  `${NAME}: ${params} parameters (+ ${dim * CLASSES} in the cosine classifier), backend ${backend}`,
);

const cosineLogits = (f: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const fn = tf.div(f, tf.add(tf.norm(f, 2, 1, true), 1e-6));
    const wn = tf.div(w, tf.add(tf.norm(w, 2, 0, true), 1e-6));
    return tf.mul(tf.matMul(fn, wn), SCALE) as tf.Tensor2D;
  });
const classify = async (d: Data, n = d.n) => {
  const f = predict(net, d.x, n);
  const l = cosineLogits(f);
  const a = await accuracy(l, d.y.subarray(0, n));
  tf.dispose([f, l]);
  return Number(a.toFixed(4));
};
const embed = async (x: Float32Array, n: number) => {
  const f = predict(net, x, n);
  const out = await f.data() as Float32Array;
  f.dispose();
  return out;
};

const vars = [...net.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val), w];
const tTrain = performance.now();
const epochs = await trainLoop(
  vars,
  train,
  (x, y) => {
    const logits = cosineLogits(net.apply(x, { training: true }) as tf.Tensor2D);
    return { loss: crossEntropy(logits, y), logits };
  },
  { epochs: epochsN, batchSize: BATCH, lr: LR, seed: SEED, flip: true, onEpoch: () => classify(val) },
);
const trainSeconds = (performance.now() - tTrain) / 1000;

const round = (r: { mean: number; ci95: number }) => ({
  mean: Number(r.mean.toFixed(4)),
  ci95: Number(r.ci95.toFixed(4)),
});
const episodes = {
  "5way_1shot": round(
    await episodeAccuracy(embed, pool, { ways: 5, shots: 1, queries: 15, episodes: 600, seed: 1 }),
  ),
  "5way_5shot": round(
    await episodeAccuracy(embed, pool, { ways: 5, shots: 5, queries: 15, episodes: 600, seed: 1 }),
  ),
};
const subsetPool: Data = {
  x: pool.x.subarray(0, EPISODE_SUBSET.pool * SIZE * SIZE * 3),
  y: pool.y.subarray(0, EPISODE_SUBSET.pool),
  n: EPISODE_SUBSET.pool,
};
const subset = await episodeAccuracy(embed, subsetPool, EPISODE_SUBSET);

// Retrieval over B: each pool image queries the others; recall@1 = nearest neighbour has the same class.
const feats = await embed(pool.x, pool.n);
let hits = 0;
for (let i = 0; i < pool.n; i++) {
  let best = -1, bestS = -Infinity;
  const ni = Math.hypot(...feats.subarray(i * dim, (i + 1) * dim));
  for (let j = 0; j < pool.n; j++) {
    if (j === i) continue;
    let dot = 0, nj = 0;
    for (let k = 0; k < dim; k++) {
      dot += feats[i * dim + k] * feats[j * dim + k];
      nj += feats[j * dim + k] ** 2;
    }
    const s = dot / (ni * Math.sqrt(nj) + 1e-12);
    if (s > bestS) {
      bestS = s;
      best = j;
    }
  }
  if (pool.y[best] === pool.y[i]) hits++;
}

const results = {
  classes_a: {
    train_accuracy: await classify(train),
    val_accuracy: await classify(val),
    test_accuracy: await classify(test),
  },
  classes_b: {
    pool: pool.n,
    episodes_each: 600,
    queries_per_class: 15,
    ...episodes,
    retrieval_recall_at_1: Number((hits / pool.n).toFixed(4)),
    episode_subset: { ...EPISODE_SUBSET, accuracy: Number(subset.mean.toFixed(4)) },
  },
};
console.error(NAME, JSON.stringify(results));
if (trial) {
  console.error("trial run: nothing saved");
  Deno.exit(0);
}
const dir = join(MODELS_DIR, NAME);
const bytes = await saveModel(net, dir, modelMetadata(null));
const check = await importerCheck(dir, test.x, 16);
const log = {
  name: NAME,
  description: "small ResNet embedding (conv3×3-BN-ReLU 16 + max-pool, basic blocks 16/32/64, GAP → 64-d), " +
    `trained as a cosine classifier (scale ${SCALE}) on classes A; few-shot by nearest cosine prototype on B`,
  parameters: params,
  bytes,
  layers: net.layers.map((l) => `${l.name}:${l.getClassName()}`),
  input: { shape: [SIZE, SIZE, 3], layout: "NHWC", scale: "1/255", mean: SYNTH_MEAN, std: SYNTH_STD },
  output: `${dim}-d embedding (layer 'gap')`,
  data: {
    generator: "packages/eval/src/synth",
    version: SYNTH_VERSION,
    seed: DATA_SEED,
    size: SIZE,
    train: train.n,
    val: val.n,
    test: test.n,
    fewshot: pool.n,
    classes_a: synthClassNames("train"),
    classes_b: synthClassNames("fewshot"),
  },
  training: {
    optimizer: "adam",
    lr: LR,
    schedule: "linear warm-up over epoch 1, then cosine to 2 % of lr",
    batch_size: BATCH,
    epochs: epochsN,
    flip: true,
    seed: SEED,
    loss: `softmax cross-entropy of ${SCALE} · cos(embedding, w_c) over the ${CLASSES} classes A`,
    backend,
  },
  epochs,
  results,
  importer: { inputs: 16, max_abs_diff: check.maxAbsDiff, max_abs_output: check.maxAbs },
  train_seconds: Number(trainSeconds.toFixed(1)),
  total_seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  command: `npx deno run -A tools/train/${NAME}.ts`,
  machine: await machine(),
  date: new Date().toISOString(),
};
await Deno.writeTextFile(join(dir, "train_log.json"), JSON.stringify(log, null, 2) + "\n");
console.error(`saved ${dir} (${bytes} bytes); importer max |diff| ${check.maxAbsDiff.toExponential(2)}`);
