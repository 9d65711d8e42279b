/**
 * Small graphs for NAFlow's tests, built with the core's GraphBuilder.
 * @module
 */
import { type Graph, GraphBuilder } from "@cnnlens/core";

/** conv-BN-ReLU → residual block (conv-BN-ReLU-conv-BN + identity) → ReLU → GAP → FC. */
export function residualNet(seed = 3, size = 6): Graph {
  const b = new GraphBuilder([2, size, size], seed);
  let x = b.conv("stem", b.inputName, { out: 3, k: 3 });
  x = b.bn("stem_bn", x, true);
  x = b.op("stem_relu", "relu", x);
  let y = b.conv("block.conv1", x, { out: 3, k: 3 });
  y = b.bn("block.bn1", y, true);
  y = b.op("block.relu", "relu", y);
  y = b.conv("block.conv2", y, { out: 3, k: 3 });
  y = b.bn("block.bn2", y, true);
  const s = b.op("block.add", "add", [y, x]);
  x = b.op("block.relu_out", "relu", s);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  return b.build(b.linear("fc", x, 3));
}

/**
 * conv-ReLU → SE gate (GAP → 1×1 conv → ReLU → 1×1 conv → sigmoid, multiplied back) → CBAM-style spatial
 * gate (channel mean ⊕ channel max → 3×3 conv → sigmoid, multiplied back) → conv-ReLU → GAP → FC.
 */
export function gatedNet(seed = 4, size = 6): Graph {
  const b = new GraphBuilder([2, size, size], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  x = b.op("relu1", "relu", x);
  // SE: channel gate [C, 1, 1].
  let g = b.op("se.pool", "globalavgpool", x);
  g = b.conv("se.fc1", g, { out: 2, k: 1, pad: 0 });
  g = b.op("se.relu", "relu", g);
  g = b.conv("se.fc2", g, { out: 4, k: 1, pad: 0 });
  g = b.op("se.sigmoid", "sigmoid", g);
  x = b.op("se.mul", "mul", [x, g]);
  // CBAM spatial attention: gate [1, H, W].
  const avg = b.op("sa.mean", "reducemean", x, { axes: [1], keepdims: true });
  const max = b.op("sa.max", "reducemax", x, { axes: [1], keepdims: true });
  let a = b.op("sa.cat", "concat", [avg, max], { axis: 1 });
  a = b.conv("sa.conv", a, { out: 1, k: 3 });
  a = b.op("sa.sigmoid", "sigmoid", a);
  x = b.op("sa.mul", "mul", [x, a]);
  x = b.conv("conv2", x, { out: 4, k: 3 });
  x = b.op("relu2", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  return b.build(b.linear("fc", x, 3));
}
