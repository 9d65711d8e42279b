/**
 * Trains `iom_cnn6`: the six-convolution CNN of the IOM paper's experiments (section 8: "a CNN with 6
 * convolutional layers"; its appendix with the exact layers is not in the text we have), read here as six
 * 3×3 convolutions with biases and ReLU, no BatchNorm, max-pooling between stages, flatten, one linear
 * layer to the logits.
 *
 *     npx deno run -A tools/train/iom_cnn6.ts
 * @module
 */
import { tf } from "@cnnlens/core";
import { runClassifier } from "./_classifier.ts";
import { CLASSES, type Seeds, SIZE } from "./_train_lib.ts";

function build(seeds: Seeds): tf.LayersModel {
  const m = tf.sequential({ name: "iom_cnn6" });
  const conv = (i: number, filters: number) =>
    m.add(tf.layers.conv2d({
      ...(i === 1 ? { inputShape: [SIZE, SIZE, 3] } : {}),
      name: `conv${i}`,
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: seeds.he(),
    }));
  const pool = (i: number) => m.add(tf.layers.maxPooling2d({ name: `pool${i}`, poolSize: 2 }));
  conv(1, 8);
  pool(1);
  conv(2, 16);
  conv(3, 16);
  pool(2);
  conv(4, 32);
  conv(5, 32);
  pool(3);
  conv(6, 64);
  pool(4);
  m.add(tf.layers.flatten({ name: "flatten" }));
  m.add(tf.layers.dense({ name: "fc", units: CLASSES, kernelInitializer: seeds.glorot() }));
  return m;
}

await runClassifier({
  name: "iom_cnn6",
  description: "IOM paper's 6-conv CNN (our reading): conv3×3+ReLU with 8 | 16, 16 | 32, 32 | 64 channels, " +
    "max-pool after each group, flatten 4×4×64, FC 6; no BatchNorm",
  build,
  epochs: 5,
  batchSize: 32,
  lr: 1e-3,
  trainCount: 2400,
  seed: 13,
  flip: true,
});
