/**
 * Trains `conv4_leaky`: Conv4 (four blocks of 3×3 conv, BatchNorm, LeakyReLU 0.1, 2×2 max-pool; the few-shot
 * literature's backbone) with a linear classifier on the flattened map, on the synthetic classes A.
 *
 *     npx deno run -A tools/train/conv4_leaky.ts
 * @module
 */
import { tf } from "@cnnlens/core";
import { runClassifier } from "./_classifier.ts";
import { CLASSES, type Seeds, SIZE } from "./_train_lib.ts";

const CHANNELS = 32;

function build(seeds: Seeds): tf.LayersModel {
  const m = tf.sequential({ name: "conv4_leaky" });
  for (let i = 0; i < 4; i++) {
    m.add(tf.layers.conv2d({
      ...(i === 0 ? { inputShape: [SIZE, SIZE, 3] } : {}),
      name: `block${i + 1}_conv`,
      filters: CHANNELS,
      kernelSize: 3,
      padding: "same",
      useBias: false,
      kernelInitializer: seeds.he(),
    }));
    m.add(tf.layers.batchNormalization({ name: `block${i + 1}_bn` }));
    m.add(tf.layers.leakyReLU({ name: `block${i + 1}_lrelu`, alpha: 0.1 }));
    m.add(tf.layers.maxPooling2d({ name: `block${i + 1}_pool`, poolSize: 2 }));
  }
  m.add(tf.layers.flatten({ name: "flatten" }));
  m.add(tf.layers.dense({ name: "fc", units: CLASSES, kernelInitializer: seeds.glorot() }));
  return m;
}

await runClassifier({
  name: "conv4_leaky",
  description:
    `Conv4: 4 × (conv3×3 ${CHANNELS} channels, BN, LeakyReLU 0.1, max-pool 2), flatten 4×4×${CHANNELS}, FC 6`,
  build,
  epochs: 5,
  batchSize: 32,
  lr: 2e-3,
  trainCount: 2400,
  seed: 14,
  flip: true,
});
