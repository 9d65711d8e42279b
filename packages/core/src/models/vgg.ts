import type { Graph } from "../graph/graph.ts";
import { GraphBuilder } from "./builder.ts";
import type { ArchOptions } from "./resnet.ts";

const VGG16 = [
  64,
  64,
  "M",
  128,
  128,
  "M",
  256,
  256,
  256,
  "M",
  512,
  512,
  512,
  "M",
  512,
  512,
  512,
  "M",
] as const;

/**
 * VGG-16 as torchvision defines it (138,357,544 parameters at 1000 classes and 224×224), seeded random
 * weights; `batchNorm` gives VGG-16-BN. The classifier's dropout is the identity at inference.
 * @param options Classes, input size (must give a 7×7 map after the features, like torchvision's
 * adaptive pool at 224), seed, width, and `batchNorm`.
 * @returns The graph.
 */
export function vgg16(options: ArchOptions & { batchNorm?: boolean } = {}): Graph {
  const [h, w] = options.size ?? [224, 224];
  const b = new GraphBuilder([3, h, w], options.seed ?? 0);
  const wm = options.width ?? 1;
  let x = b.inputName;
  let i = 0;
  for (const v of VGG16) {
    if (v === "M") {
      x = b.maxpool(`features.${i++}`, x, 2, 2);
      continue;
    }
    x = b.conv(`features.${i++}`, x, { out: Math.round(v * wm), k: 3 });
    if (options.batchNorm) x = b.bn(`features.${i++}`, x, options.randomBn);
    x = b.op(`features.${i++}`, "relu", x);
  }
  const [, fh, fw] = b.shape(x);
  if (fh !== 7 || fw !== 7) {
    if (fh % 7 || fw % 7) {
      throw new RangeError(
        `vgg16(): input ${h}×${w} gives a ${fh}×${fw} feature map; use a multiple of 32 ≥ 224`,
      );
    }
    x = b.add("avgpool", "avgpool", [x], { kernel: [fh / 7, fw / 7], strides: [fh / 7, fw / 7] });
  }
  x = b.op("flatten", "flatten", x);
  const hidden = Math.round(4096 * wm);
  x = b.linear("classifier.0", x, hidden);
  x = b.op("classifier.1", "relu", x);
  x = b.linear("classifier.3", x, hidden);
  x = b.op("classifier.4", "relu", x);
  x = b.linear("classifier.6", x, options.classes ?? 1000);
  return b.build(x);
}
