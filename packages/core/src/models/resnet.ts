import type { Graph } from "../graph/graph.ts";
import { GraphBuilder } from "./builder.ts";

/** Options shared by the architectures built in code. */
export interface ArchOptions {
  /** Number of classes of the final FC layer. @default 1000 */
  classes?: number;
  /** Input size [H, W]. @default [224, 224] */
  size?: [number, number];
  /** Random seed. @default 0 */
  seed?: number;
  /** Width multiplier for channels (1 = torchvision). @default 1 */
  width?: number;
  /** Give BatchNorm random running statistics (so BN is non-trivial in tests). @default false */
  randomBn?: boolean;
}

function basicBlock(
  b: GraphBuilder,
  x: string,
  p: string,
  planes: number,
  stride: number,
  rbn: boolean,
): string {
  const cin = b.shape(x)[0];
  let y = b.conv(`${p}.conv1`, x, { out: planes, k: 3, stride, bias: false });
  y = b.bn(`${p}.bn1`, y, rbn);
  y = b.op(`${p}.relu`, "relu", y);
  y = b.conv(`${p}.conv2`, y, { out: planes, k: 3, bias: false });
  y = b.bn(`${p}.bn2`, y, rbn);
  let sc = x;
  if (stride !== 1 || cin !== planes) {
    sc = b.conv(`${p}.downsample.0`, x, { out: planes, k: 1, stride, pad: 0, bias: false });
    sc = b.bn(`${p}.downsample.1`, sc, rbn);
  }
  const s = b.op(`${p}.add`, "add", [y, sc]);
  return b.op(`${p}.relu`, "relu", s);
}

function bottleneck(
  b: GraphBuilder,
  x: string,
  p: string,
  planes: number,
  stride: number,
  rbn: boolean,
): string {
  const cin = b.shape(x)[0];
  const out = planes * 4;
  let y = b.conv(`${p}.conv1`, x, { out: planes, k: 1, pad: 0, bias: false });
  y = b.bn(`${p}.bn1`, y, rbn);
  y = b.op(`${p}.relu`, "relu", y);
  y = b.conv(`${p}.conv2`, y, { out: planes, k: 3, stride, bias: false });
  y = b.bn(`${p}.bn2`, y, rbn);
  y = b.op(`${p}.relu`, "relu", y);
  y = b.conv(`${p}.conv3`, y, { out, k: 1, pad: 0, bias: false });
  y = b.bn(`${p}.bn3`, y, rbn);
  let sc = x;
  if (stride !== 1 || cin !== out) {
    sc = b.conv(`${p}.downsample.0`, x, { out, k: 1, stride, pad: 0, bias: false });
    sc = b.bn(`${p}.downsample.1`, sc, rbn);
  }
  const s = b.op(`${p}.add`, "add", [y, sc]);
  return b.op(`${p}.relu`, "relu", s);
}

function resnet(blocks: number[], kind: "basic" | "bottleneck", o: ArchOptions): Graph {
  const [h, w] = o.size ?? [224, 224];
  const b = new GraphBuilder([3, h, w], o.seed ?? 0);
  const wm = o.width ?? 1;
  const rbn = o.randomBn ?? false;
  let x = b.conv("conv1", b.inputName, { out: Math.round(64 * wm), k: 7, stride: 2, pad: 3, bias: false });
  x = b.bn("bn1", x, rbn);
  x = b.op("relu", "relu", x);
  x = b.maxpool("maxpool", x, 3, 2, 1);
  const block = kind === "basic" ? basicBlock : bottleneck;
  blocks.forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      x = block(b, x, `layer${s + 1}.${i}`, Math.round(64 * wm * 2 ** s), i === 0 && s > 0 ? 2 : 1, rbn);
    }
  });
  x = b.op("avgpool", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, o.classes ?? 1000);
  return b.build(x);
}

/**
 * ResNet-18 as torchvision defines it (11,689,512 parameters at 1000 classes), seeded random weights.
 * @param options Classes, input size, seed, width.
 * @returns The graph.
 */
export function resnet18(options: ArchOptions = {}): Graph {
  return resnet([2, 2, 2, 2], "basic", options);
}

/**
 * ResNet-50 as torchvision defines it (25,557,032 parameters at 1000 classes), seeded random weights.
 * @param options Classes, input size, seed, width.
 * @returns The graph.
 */
export function resnet50(options: ArchOptions = {}): Graph {
  return resnet([3, 4, 6, 3], "bottleneck", options);
}
