import type { Graph } from "../graph/graph.ts";
import { GraphBuilder } from "../models/builder.ts";

/**
 * A tiny classifier for tests and examples: conv(3→4)-ReLU-maxpool-conv(4→6)-BN-ReLU-GAP-flatten-fc(3)
 * on 8×8 inputs, seeded, with non-trivial BN statistics and biases.
 * @param seed Random seed.
 * @returns The graph.
 */
export function tinyNet(seed = 1): Graph {
  const b = new GraphBuilder([3, 8, 8], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  x = b.op("relu1", "relu", x);
  x = b.maxpool("pool1", x, 2, 2);
  x = b.conv("conv2", x, { out: 6, k: 3 });
  x = b.bn("bn2", x, true);
  x = b.op("relu2", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}
