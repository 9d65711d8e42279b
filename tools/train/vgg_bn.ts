/**
 * Trains `vgg_bn`: a VGG-style classifier (3×3 convolutions with BatchNorm and ReLU, 2×2 max-pooling,
 * a flattened feature map into two fully connected layers) on the synthetic classes A.
 *
 *     npx deno run -A tools/train/vgg_bn.ts
 * @module
 */
import { tf } from "@cnnlens/core";
import { runClassifier } from "./_classifier.ts";
import { CLASSES, type Seeds, SIZE } from "./_train_lib.ts";

function build(seeds: Seeds): tf.LayersModel {
  const m = tf.sequential({ name: "vgg_bn" });
  const block = (b: number, widths: number[]) => {
    widths.forEach((f, i) => {
      const first = b === 1 && i === 0;
      m.add(tf.layers.conv2d({
        ...(first ? { inputShape: [SIZE, SIZE, 3] } : {}),
        name: `conv${b}_${i + 1}`,
        filters: f,
        kernelSize: 3,
        padding: "same",
        useBias: false,
        kernelInitializer: seeds.he(),
      }));
      m.add(tf.layers.batchNormalization({ name: `bn${b}_${i + 1}` }));
      m.add(tf.layers.reLU({ name: `relu${b}_${i + 1}` }));
    });
    m.add(tf.layers.maxPooling2d({ name: `pool${b}`, poolSize: 2 }));
  };
  block(1, [8]);
  block(2, [16, 16]);
  block(3, [32, 32]);
  block(4, [64]);
  m.add(tf.layers.flatten({ name: "flatten" }));
  m.add(tf.layers.dense({ name: "fc1", units: 64, kernelInitializer: seeds.he() }));
  m.add(tf.layers.reLU({ name: "relu_fc1" }));
  m.add(tf.layers.dense({ name: "fc2", units: CLASSES, kernelInitializer: seeds.glorot() }));
  return m;
}

await runClassifier({
  name: "vgg_bn",
  description: "VGG-style: conv3×3-BN-ReLU blocks of 1, 2, 2, 1 convolutions with 8, 16, 32, 64 channels, " +
    "max-pool after each block, flatten 4×4×64, FC 64 + ReLU, FC 6",
  build,
  epochs: 5,
  batchSize: 32,
  lr: 2e-3,
  trainCount: 2400,
  seed: 11,
  flip: true,
});
