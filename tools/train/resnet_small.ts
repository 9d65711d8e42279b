/**
 * Trains `resnet_small`: a small ResNet classifier (stem, three basic blocks, global average pooling, FC)
 * on the synthetic classes A.
 *
 *     npx deno run -A tools/train/resnet_small.ts
 * @module
 */
import { runClassifier } from "./_classifier.ts";
import { smallResnet } from "./_resnet.ts";
import { CLASSES } from "./_train_lib.ts";

await runClassifier({
  name: "resnet_small",
  description:
    "ResNet-style: conv3×3-BN-ReLU (16) + max-pool, basic blocks of 16, 32 (stride 2), 64 (stride 2) " +
    "channels with 1×1 projection shortcuts, global average pooling, FC 6",
  build: (seeds) => smallResnet(seeds, [16, 32, 64], CLASSES, "resnet_small"),
  epochs: 5,
  batchSize: 32,
  lr: 2e-3,
  trainCount: 2400,
  seed: 12,
  flip: true,
});
