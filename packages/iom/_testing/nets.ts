/**
 * Small networks and inputs shared by the IOM tests.
 * @module
 */
import { type Graph, GraphBuilder, type Tensor, tf } from "@cnnlens/core";
import { randomRef } from "../../core/src/_testing/reference.ts";
export { onBackends } from "../../core/src/_testing/assert.ts";

/** conv-ReLU-maxpool-conv-ReLU-maxpool-linear on 3×8×8 (biases everywhere; `bias = false` drops them). */
export function plainNet(seed = 3, bias = true, classes = 5): Graph {
  const b = new GraphBuilder([3, 8, 8], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3, bias });
  x = b.op("relu1", "relu", x);
  x = b.maxpool("pool1", x, 2);
  x = b.conv("conv2", x, { out: 6, k: 3, bias });
  x = b.op("relu2", "relu", x);
  x = b.maxpool("pool2", x, 2);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, classes, bias);
  return b.build(x);
}

/**
 * BatchNorm (random statistics), a residual add, LeakyReLU, a padded average pool, a strided grouped
 * conv, a dilated depthwise conv with multiplier 2, identity, GAP, reshape and a linear head.
 */
export function residualNet(seed = 5): Graph {
  const b = new GraphBuilder([3, 8, 8], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  x = b.bn("bn1", x, true);
  const r1 = b.op("relu1", "relu", x);
  let y = b.conv("conv2", r1, { out: 4, k: 3, bias: false });
  y = b.bn("bn2", y, true);
  y = b.op("lrelu", "leakyrelu", y, { alpha: 0.1 });
  const s = b.op("add", "add", [y, r1]);
  let z = b.op("relu2", "relu", s);
  z = b.add("apool", "avgpool", [z], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  z = b.conv("conv3", z, { out: 6, k: 3, stride: 2, pad: 1, group: 2 });
  z = b.op("relu3", "relu", z);
  z = b.conv("dw", z, { out: 12, k: 3, pad: 2, dilation: 2, group: 6 });
  z = b.op("id", "identity", z);
  z = b.op("gap", "globalavgpool", z);
  z = b.op("reshape", "reshape", z, { shape: [12] });
  z = b.linear("fc", z, 4);
  return b.build(z);
}

/** A seeded input: float32-rounded CHW values and the NHWC tensor holding them. */
export function image(shape: number[], seed: number): { chw: Float64Array; x: Tensor } {
  const ref = randomRef(shape, seed);
  const f32 = Float32Array.from(ref.data);
  const x = tf.tidy(() =>
    tf.transpose(tf.tensor4d(f32, [1, ...shape] as [number, number, number, number]), [0, 2, 3, 1])
  );
  return { chw: Float64Array.from(f32), x };
}
