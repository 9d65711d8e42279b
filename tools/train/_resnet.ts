/**
 * The small ResNet of `resnet_small` and `fewshot_resnet` (Keras functional API): a 3×3 stem with BN, ReLU
 * and max-pool, then three stages of one basic block each (two 3×3 conv-BN, identity or 1×1-conv-BN
 * shortcut, add, ReLU), the last two with stride 2, then global average pooling.
 * @module
 */
import { tf } from "@cnnlens/core";
import { type Seeds, SIZE } from "./_train_lib.ts";

/**
 * Builds the network.
 * @param seeds Initialiser seeds.
 * @param widths Channels of the stem/stage 1, stage 2, stage 3.
 * @param classes Add a linear classifier `fc` with this many outputs; omit to output the pooled embedding.
 * @param name Model name.
 * @returns The model (input [64, 64, 3]).
 */
export function smallResnet(
  seeds: Seeds,
  widths: [number, number, number],
  classes: number | null,
  name: string,
): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3], name: "input" });
  const conv = (n: string, x: tf.SymbolicTensor, f: number, k: number, s: number) =>
    tf.layers.conv2d({
      name: n,
      filters: f,
      kernelSize: k,
      strides: s,
      padding: "same",
      useBias: false,
      kernelInitializer: seeds.he(),
    }).apply(x) as tf.SymbolicTensor;
  const bn = (n: string, x: tf.SymbolicTensor) =>
    tf.layers.batchNormalization({ name: n }).apply(x) as tf.SymbolicTensor;
  const relu = (n: string, x: tf.SymbolicTensor) => tf.layers.reLU({ name: n }).apply(x) as tf.SymbolicTensor;
  let x = relu("relu1", bn("bn1", conv("conv1", input, widths[0], 3, 1)));
  x = tf.layers.maxPooling2d({ name: "pool1", poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  let cin = widths[0];
  widths.forEach((w, i) => {
    const p = `layer${i + 1}`;
    const s = i === 0 ? 1 : 2;
    let y = relu(`${p}_relu1`, bn(`${p}_bn1`, conv(`${p}_conv1`, x, w, 3, s)));
    y = bn(`${p}_bn2`, conv(`${p}_conv2`, y, w, 3, 1));
    const short = s === 1 && cin === w ? x : bn(`${p}_down_bn`, conv(`${p}_down_conv`, x, w, 1, s));
    x = relu(`${p}_relu2`, tf.layers.add({ name: `${p}_add` }).apply([y, short]) as tf.SymbolicTensor);
    cin = w;
  });
  let out = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tf.SymbolicTensor;
  if (classes !== null) {
    out = tf.layers.dense({ name: "fc", units: classes, kernelInitializer: seeds.glorot() }).apply(
      out,
    ) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: out, name });
}
