import type { Graph } from "../graph/graph.ts";
import { GraphBuilder } from "./builder.ts";
import type { ArchOptions } from "./resnet.ts";

/** Options for the few-shot backbones. */
export interface FewShotOptions extends Omit<ArchOptions, "classes"> {
  /** Channels per block. @default 64 */
  channels?: number;
  /** LeakyReLU slope. @default 0.1 (Conv4), 0.2 (Conv64F) */
  slope?: number;
  /** Add a linear classifier with this many classes after flattening; omit for an embedding network. */
  classes?: number;
}

/**
 * Conv4: 4 × (conv3×3, BN, LeakyReLU 0.1, maxpool 2), 64 channels; the output is the flattened feature
 * map (an embedding), or logits when `classes` is given.
 * @param options Size (default 84×84), channels, slope, classes, seed.
 * @returns The graph.
 */
export function conv4(options: FewShotOptions = {}): Graph {
  return fewShot(options, [true, true, true, true], options.slope ?? 0.1);
}

/**
 * Conv64F (as in DN4/CovaMNet): 4 × (conv3×3, BN, LeakyReLU 0.2), max-pool after the first two blocks
 * only; output the 64 × 21 × 21 feature map flattened at 84×84 input.
 * @param options Size (default 84×84), channels, slope, classes, seed.
 * @returns The graph.
 */
export function conv64f(options: FewShotOptions = {}): Graph {
  return fewShot(options, [true, true, false, false], options.slope ?? 0.2);
}

function fewShot(o: FewShotOptions, pools: boolean[], slope: number): Graph {
  const [h, w] = o.size ?? [84, 84];
  const b = new GraphBuilder([3, h, w], o.seed ?? 0);
  let x = b.inputName;
  pools.forEach((pool, i) => {
    x = b.conv(`features.${i}.0`, x, { out: o.channels ?? 64, k: 3 });
    x = b.bn(`features.${i}.1`, x, o.randomBn);
    x = b.op(`features.${i}.2`, "leakyrelu", x, { alpha: slope });
    if (pool) x = b.maxpool(`features.${i}.3`, x, 2, 2);
  });
  x = b.op("flatten", "flatten", x);
  if (o.classes) x = b.linear("fc", x, o.classes);
  return b.build(x);
}
