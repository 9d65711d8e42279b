/**
 * The batched gAP pass shared by `decompose`, `hierarchy` and the sanity checks: for N decisions and one
 * layer `l`, one backward pass through the sub-graph between `l` and the decisions gives `G = ∂d/∂F^l`
 * (Eq. 2) for every decision at once, `A = G ⊙ F^l` (Eq. 3) and the four channel measures (Eq. 4 and the
 * Table 1 alternatives). Only the sub-graph above `l` is recomputed: a forward trace of the whole graph
 * (`base`) supplies everything below, and `F^l` is stacked N times (one batch item per decision) — the
 * same gradients as stacking the input N times, without re-running the layers below `l`.
 *
 * Neuron decisions whose receptive field in `l` is a window are evaluated on exact receptive-field crops
 * (see `receptive_field.ts`), one batched pass per crop size.
 * @module
 */
import {
  backwardWalk,
  type Decision,
  decisionNode,
  type Graph,
  runForward,
  type Tensor,
  tf,
  tiledBase,
  type Trace,
} from "@cnnlens/core";
import { GAP_VJP } from "./backward_rules.ts";
import { receptiveField } from "./receptive_field.ts";

/** The contribution measures of the paper's Table 1. */
export type Measure = "AA" | "MA" | "AG" | "MG";

/** Every measure, in the order of Table 1. */
export const MEASURES: readonly Measure[] = ["AA", "MA", "AG", "MG"];

/**
 * One neuron `F[channel, y, x]` of a feature map, as a decision to decompose (a node of the gAP tree).
 */
export interface GapNeuron {
  /** The layer (node name) holding the neuron. */
  layer: string;
  /** Channel (the model's channel number). */
  channel: number;
  /** [y, x] in the layer's own resolution. */
  position: [number, number];
}

/** What can be decomposed: any core {@linkcode Decision}, or a neuron of a feature map. */
export type Target = Decision | GapNeuron;

/**
 * Whether a target is a {@linkcode GapNeuron} (rather than a core `Decision`).
 * @param t The target.
 * @returns True for a neuron.
 * @example
 * ```ts
 * import { classLogit } from "@cnnlens/core";
 * import { isNeuron } from "@cnnlens/gap";
 * if (isNeuron(classLogit(0)) || !isNeuron({ layer: "relu2", channel: 1, position: [0, 2] })) throw new Error();
 * ```
 */
export function isNeuron(t: Target): t is GapNeuron {
  return typeof (t as GapNeuron).layer === "string" && Array.isArray((t as GapNeuron).position);
}

/** A crop of the layer (the whole map when it spans it). */
export interface Crop {
  /** First row. */
  y0: number;
  /** First column. */
  x0: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** Per-decision results of one chunk. */
export interface ChunkItem {
  /** Index into the targets given to {@linkcode runPasses}. */
  index: number;
  /** The decision's value. */
  value: number;
  /** Per-channel contributions for every measure. */
  contributions: Record<Measure, Float32Array>;
  /** The crop of the layer the item was evaluated on. */
  crop: Crop;
}

/** One batched pass: its items, and lazy access to their maps while the callback runs. */
export interface Chunk {
  /** The items of this pass. */
  items: ChunkItem[];
  /**
   * Full-size (H×W, row-major) maps of some channels of one item: zeros outside its crop.
   * @param index The item's target index.
   * @param channels Channels to read.
   * @param what Activation maps `A = G ⊙ F` (Eq. 3) or gradient maps `G` (Eq. 2).
   */
  readMaps(index: number, channels: number[], what?: "activation" | "gradient"): Promise<Float32Array[]>;
  /**
   * All channels of one item as one K×H×W array (CHW order).
   * @param index The item's target index.
   * @param what Activation maps or gradient maps.
   */
  readAll(index: number, what?: "activation" | "gradient"): Promise<Float32Array>;
}

/** Options of {@linkcode runPasses}. */
export interface PassOptions {
  /** A forward trace of the whole graph on the same input that keeps every node (`keep: "all"`). */
  base: Trace;
  /** Evaluate local neuron decisions on receptive-field crops. @default true */
  crop?: boolean;
  /** Most decisions per backward pass. @default derived from `maxElements` */
  maxBatch?: number;
  /**
   * Budget (in float32 values) for the activations of one pass's sub-graph; passes are split to stay
   * under it. @default 2 ** 25
   */
  maxElements?: number;
}

/** The layer as a feature map: [K, H, W]. */
export function layerShape(graph: Graph, layer: string): [number, number, number] {
  const n = graph.node(layer);
  if (n.shape.length !== 3) {
    throw new RangeError(
      `gAP decomposes into feature maps: layer '${n.name}' has shape [${n.shape}], not [C, H, W]`,
    );
  }
  return n.shape as [number, number, number];
}

/** The node a target reads. */
export function targetNode(graph: Graph, t: Target): string {
  return isNeuron(t) ? graph.node(t.layer).name : decisionNode(graph, t);
}

/** A short label for a target. */
export function targetLabel(t: Target): string {
  return isNeuron(t) ? `${t.layer}[${t.channel}, ${t.position[0]}, ${t.position[1]}]` : t.label;
}

/** Check that every target depends on `layer` and that neuron targets are in range. */
export function validateTargets(graph: Graph, layer: string, targets: Target[]): void {
  const l = graph.node(layer).name;
  const below = new Set([...graph.descendants([l]), l]);
  for (const t of targets) {
    const node = targetNode(graph, t);
    if (!below.has(node)) {
      throw new RangeError(
        `Cannot decompose '${targetLabel(t)}' into layer '${l}': node '${node}' does not depend on it ` +
          `(choose a layer below the decision)`,
      );
    }
    if (isNeuron(t)) {
      const s = graph.node(t.layer).shape;
      const [y, x] = t.position;
      const ok = s.length === 3 && Number.isInteger(t.channel) && t.channel >= 0 && t.channel < s[0] &&
        Number.isInteger(y) && y >= 0 && y < s[1] && Number.isInteger(x) && x >= 0 && x < s[2];
      if (!ok) {
        throw new RangeError(
          `Neuron [${t.channel}, ${y}, ${x}] is out of range for layer '${t.layer}' of shape [${s}]`,
        );
      }
    }
  }
}

interface Planned {
  index: number;
  crop: Crop;
  /** Offset of the crop in the neuron's own layer (subtract from its position). */
  offset: [number, number];
}

/** Rough float count of the sub-graph's activations for one item on a crop covering `fraction` of l. */
function perItemElements(graph: Graph, layer: string, until: string, fraction: number): number {
  const needed = new Set([...graph.ancestors([until]), until]);
  let total = 0;
  for (const name of graph.descendants([layer])) {
    if (!needed.has(name)) continue;
    const s = graph.node(name).shape;
    total += s.reduce((a, b) => a * b, 1) * (s.length === 3 ? fraction : 1);
  }
  const [k, h, w] = graph.node(layer).shape;
  return total + 4 * k * h * w * fraction;
}

/**
 * Run gAP for `targets` into `layer` in batched backward passes, calling `onChunk` once per pass (maps
 * are readable only during the callback; everything is released after it).
 *
 * @param graph The graph.
 * @param input The input (batch 1, backend layout) the base trace was computed from.
 * @param layer The layer to decompose into.
 * @param targets The decisions.
 * @param options Base trace, cropping and batching.
 * @param onChunk Called per pass.
 */
export async function runPasses(
  graph: Graph,
  input: Tensor,
  layer: string,
  targets: Target[],
  options: PassOptions,
  onChunk: (chunk: Chunk) => Promise<void> | void,
): Promise<void> {
  const l = graph.node(layer).name;
  const [K, H, W] = layerShape(graph, l);
  validateTargets(graph, l, targets);
  const F = options.base.get(l);
  if (F.shape[0] !== 1) {
    throw new RangeError(`gAP explains one image at a time: got a batch of ${F.shape[0]}`);
  }
  const full: Crop = { y0: 0, x0: 0, height: H, width: W };
  const groups = new Map<string, Planned[]>();
  targets.forEach((t, index) => {
    let p: Planned = { index, crop: full, offset: [0, 0] };
    if (isNeuron(t) && (options.crop ?? true)) {
      const rf = receptiveField(graph, l, t.layer, t.position);
      if (rf && rf.crop.height * rf.crop.width <= 0.5 * H * W) {
        p = {
          index,
          crop: rf.crop,
          offset: [t.position[0] - rf.position[0], t.position[1] - rf.position[1]],
        };
      }
    }
    const key = p.crop === full ? "full" : `${p.crop.height}x${p.crop.width}`;
    const g = groups.get(key) ?? [];
    g.push(p);
    groups.set(key, g);
  });
  const budget = options.maxElements ?? 2 ** 25;
  for (const group of groups.values()) {
    const until = group.map((p) => targetNode(graph, targets[p.index]))
      .reduce((a, b) => graph.indexOf(a) >= graph.indexOf(b) ? a : b);
    const { height: h, width: w } = group[0].crop;
    const per = perItemElements(graph, l, until, (h * w) / (H * W));
    const size = Math.max(1, options.maxBatch ?? Math.floor(budget / Math.max(per, 1)));
    for (let s = 0; s < group.length; s += size) {
      await runChunk(graph, input, l, [K, H, W], targets, group.slice(s, s + size), options.base, onChunk);
    }
  }
}

async function runChunk(
  graph: Graph,
  input: Tensor,
  layer: string,
  [K, H, W]: [number, number, number],
  targets: Target[],
  items: Planned[],
  base: Trace,
  onChunk: (chunk: Chunk) => Promise<void> | void,
): Promise<void> {
  const n = items.length;
  const F = base.get(layer);
  const { height: h, width: w } = items[0].crop;
  const cropped = h !== H || w !== W;
  const nodes = items.map((p) => targetNode(graph, targets[p.index]));
  const until = nodes.reduce((a, b) => graph.indexOf(a) >= graph.indexOf(b) ? a : b);
  const fc = tf.tidy(() =>
    cropped
      ? tf.concat(items.map((p) => tf.slice(F, [0, p.crop.y0, p.crop.x0, 0], [1, h, w, K])), 0)
      : n === 1
      ? F.clone()
      : tf.tile(F, [n, 1, 1, 1])
  );
  const tb = cropped ? { trace: base, input, dispose() {} } : tiledBase(graph, base, input, layer, until, n);
  let value: Tensor | undefined;
  let G: Tensor | undefined;
  let A: Tensor | undefined;
  try {
    // One forward pass of the sub-graph above the layer (everything below comes from the base trace),
    // then one backward walk from all decisions at once (Eq. 2).
    const tr = runForward(graph, tb.input, {
      overrides: new Map([[layer, fc]]),
      base: tb.trace,
      until,
      keep: "all",
    });
    try {
      const seeds = new Map<string, Tensor>();
      const parts: Tensor[] = new Array(n);
      tf.tidy(() => {
        for (const node of new Set(nodes)) {
          const v = tr.get(node);
          const mine = items.map((_, j) => j).filter((j) => nodes[j] === node);
          let seed: Tensor | null = null;
          // Neurons: the decision is Σ v_j ⊙ e_j with a one-hot e_j; its cotangent is e_j.
          const cols = new Array<number>(n).fill(-1);
          for (const j of mine) {
            const t = targets[items[j].index];
            if (!isNeuron(t)) continue;
            const [, ww, cc] = (v.shape as number[]).slice(1);
            cols[j] = ((t.position[0] - items[j].offset[0]) * ww + t.position[1] - items[j].offset[1]) * cc +
              t.channel;
          }
          if (cols.some((c) => c >= 0)) {
            const onehot = tf.reshape(
              tf.cast(tf.oneHot(tf.tensor1d(cols, "int32"), v.size / n), "float32"),
              v.shape,
            );
            const all = tf.sum(tf.reshape(tf.mul(v, onehot), [n, -1]), 1);
            for (const j of mine) if (cols[j] >= 0) parts[j] = tf.keep(tf.slice(all, [j], [1]));
            seed = onehot;
          }
          // Other decisions: their cotangent by autodiff of the read function alone.
          const reads = mine.filter((j) => cols[j] < 0);
          if (reads.length) {
            const readAt = (vv: Tensor, j: number) =>
              tf.reshape((targets[items[j].index] as Decision).read(tf.slice(vv, [j], [1])), [1]);
            for (const j of reads) parts[j] = tf.keep(readAt(v, j));
            const cot = tf.grad((vv: Tensor) => tf.sum(tf.concat(reads.map((j) => readAt(vv, j)))))(v);
            seed = seed ? tf.add(seed, cot) : cot;
          }
          seeds.set(node, tf.keep(seed!));
        }
      });
      value = tf.tidy(() => parts.length === 1 ? parts[0].clone() : tf.concat(parts));
      parts.forEach((t) => t.dispose());
      const out = backwardWalk(graph, tr, seeds, { to: [layer], kind: GAP_VJP });
      seeds.forEach((t) => t.dispose());
      G = out.get(layer)!;
    } finally {
      tr.dispose();
    }
    A = tf.mul(G!, fc);
    const stats = tf.tidy(() => {
      const z = H * W;
      // Eq. 4 (AA): α_k = (1/Z) Σ_{x,y} A_k; AG: the same over G_k. Outside a crop G = A = 0 exactly, so
      // sums over the crop divided by the full Z are the full-map means, and the maxima include 0.
      const aa = tf.div(tf.sum(A!, [1, 2]), z);
      const ag = tf.div(tf.sum(G!, [1, 2]), z);
      let ma = tf.max(A!, [1, 2]);
      let mg = tf.max(G!, [1, 2]);
      if (cropped) {
        ma = tf.maximum(ma, 0);
        mg = tf.maximum(mg, 0);
      }
      return tf.stack([aa, ma, ag, mg]);
    });
    const [sv, vv] = await Promise.all([stats.data(), value!.data()]);
    stats.dispose();
    const chunkItems: ChunkItem[] = items.map((p, j) => {
      const pick = (m: number) => Float32Array.from(sv.subarray((m * n + j) * K, (m * n + j + 1) * K));
      return {
        index: p.index,
        value: vv[j],
        contributions: { AA: pick(0), MA: pick(1), AG: pick(2), MG: pick(3) },
        crop: p.crop,
      };
    });
    const row = (index: number) => {
      const j = items.findIndex((p) => p.index === index);
      if (j < 0) throw new RangeError(`Item ${index} is not in this pass`);
      return j;
    };
    const embed = (j: number, data: Float32Array, c: number): Float32Array => {
      const { y0, x0 } = items[j].crop;
      if (!cropped) return data.slice(c * H * W, (c + 1) * H * W);
      const out = new Float32Array(H * W);
      for (let y = 0; y < h; y++) {
        out.set(data.subarray(c * h * w + y * w, c * h * w + (y + 1) * w), (y0 + y) * W + x0);
      }
      return out;
    };
    await onChunk({
      items: chunkItems,
      async readMaps(index, channels, what = "activation") {
        const j = row(index);
        if (!channels.length) return [];
        const src = what === "activation" ? A! : G!;
        const t = tf.tidy(() =>
          tf.transpose(tf.gather(tf.slice(src, [j], [1]), tf.tensor1d(channels, "int32"), 3), [0, 3, 1, 2])
        );
        const data = await t.data() as Float32Array;
        t.dispose();
        return channels.map((_, c) => embed(j, data, c));
      },
      async readAll(index, what = "activation") {
        const j = row(index);
        const src = what === "activation" ? A! : G!;
        const t = tf.tidy(() => tf.transpose(tf.slice(src, [j], [1]), [0, 3, 1, 2]));
        const data = await t.data() as Float32Array;
        t.dispose();
        if (!cropped) return Float32Array.from(data);
        const out = new Float32Array(K * H * W);
        for (let c = 0; c < K; c++) out.set(embed(j, data, c), c * H * W);
        return out;
      },
    });
  } finally {
    fc.dispose();
    tb.dispose();
    value?.dispose();
    G?.dispose();
    A?.dispose();
  }
}

/**
 * Eq. 5: the position of the maximum of a row-major H×W map (ties: the first in row-major order).
 * @param map The map.
 * @param width Its width.
 * @returns [y, x].
 */
export function argmax2d(map: ArrayLike<number>, width: number): [number, number] {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  return [Math.floor(best / width), best % width];
}

/** Run `fn` with a base trace, computing (and releasing) one when none is given. */
export async function withBase<T>(
  graph: Graph,
  input: Tensor,
  base: Trace | undefined,
  fn: (base: Trace) => Promise<T>,
): Promise<T> {
  if (base) return await fn(base);
  const own = runForward(graph, input);
  try {
    return await fn(own);
  } finally {
    own.dispose();
  }
}
