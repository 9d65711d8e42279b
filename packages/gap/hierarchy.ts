/**
 * Hierarchical decomposition (section 3.2): decompose a decision into the top channels of a layer, each
 * channel's most contributing neuron (Eq. 5) into the next lower layer, and so on — an evidence tree.
 * @module
 */
import { type Decision, decisionNode, type Graph, type Tensor, type Trace } from "@cnnlens/core";
import {
  argmax2d,
  type GapNeuron,
  layerShape,
  type Measure,
  MEASURES,
  runPasses,
  type Target,
  withBase,
} from "./_engine.ts";
import { type ActivationMap, rankChannels } from "./decompose.ts";
import { mergeChannels } from "./nms.ts";
import { defaultLayers } from "./stage_layers.ts";

/** A node of the gAP tree: a neuron of `layer` that supports its parent's decision. */
export interface GapTreeNode {
  /** The layer the neuron lives in. */
  layer: string;
  /** Its channel. */
  channel: number;
  /** Its position [y, x]: the peak of the channel's activation map for the parent decision (Eq. 5). */
  position: [number, number];
  /** The channel's contribution to the parent decision (Eq. 4 under the chosen measure). */
  contribution: number;
  /** Channels merged into this one (their masks overlap this one's with IoU > mergeIoU), in order. */
  merged: number[];
  /** The layer this neuron was decomposed into (absent at the bottom and before expansion). */
  into?: string;
  /** Its decomposition into `into`: one contribution per channel. */
  alpha?: number[];
  /** Its top channels in `into`, by descending contribution. */
  children: GapTreeNode[];
  /** The channel's activation map for the parent decision (not part of `tree.json`). */
  map?: ActivationMap;
}

/** The root of the gAP tree: the decision and its decomposition into the first layer. */
export interface GapTree {
  /** The decision: its label, the node it reads and its value. */
  decision: { label: string; node: string; value: number };
  /** The measure the contributions use. */
  measure: Measure;
  /** The first layer. */
  into: string;
  /** The decision's decomposition into `into`. */
  alpha: number[];
  /** The top channels of `into`, by descending contribution. */
  children: GapTreeNode[];
}

/** Options shared by {@linkcode hierarchy} and {@linkcode expandNode}. */
export interface TreeOptions {
  /** Channels kept per decomposition (after merging). @default 3 */
  top?: number;
  /** Merge a channel into a kept one when their thresholded maps overlap with IoU above this. @default 0.9 */
  mergeIoU?: number;
  /** Mask threshold for merging: a map's mask is `A > threshold · max(A)`. @default 0.5 */
  threshold?: number;
  /** Contribution measure used for ranking and for `alpha`. @default "AA" */
  measure?: Measure;
  /** A forward trace of the graph on the input with every node kept (reused across calls). */
  base?: Trace;
  /** Evaluate neuron decisions on exact receptive-field crops. @default true */
  crop?: boolean;
  /** Most decisions per backward pass. @default derived from the memory budget */
  maxBatch?: number;
  /** Attach each node's activation map (`node.map`). @default true */
  maps?: boolean;
}

/** Options of {@linkcode hierarchy}. */
export interface HierarchyOptions extends TreeOptions {
  /** Layers, deep to shallow; the decision decomposes into the first. @default {@linkcode defaultLayers} */
  layers?: string[];
  /** Number of decomposition levels (≤ the number of layers). @default all layers */
  depth?: number;
}

/** Options of {@linkcode expandNode}. */
export interface ExpandOptions extends TreeOptions {
  /** Further layers (deep to shallow, below `intoLayer`) to keep decomposing into. @default none */
  below?: string[];
}

function checkOrder(graph: Graph, top: string, layers: string[]): void {
  let above = graph.node(top).name;
  for (const l of layers) {
    const name = graph.node(l).name;
    layerShape(graph, name);
    if (!graph.descendants([name]).includes(above)) {
      throw new RangeError(
        `Layers must go from deep to shallow: '${above}' does not depend on '${name}'`,
      );
    }
    above = name;
  }
}

interface Pending {
  target: Target;
  holder: { into?: string; alpha?: number[]; children: GapTreeNode[] };
}

async function expandLevels(
  graph: Graph,
  input: Tensor,
  base: Trace,
  start: Pending[],
  layers: string[],
  o: TreeOptions,
): Promise<number[]> {
  const measure = o.measure ?? "AA";
  if (!MEASURES.includes(measure)) {
    throw new RangeError(`Unknown measure '${measure}': use one of ${MEASURES.join(", ")}`);
  }
  const top = o.top ?? 3;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a positive integer, got ${top}`);
  const values: number[] = [];
  let frontier = start;
  for (let d = 0; d < layers.length && frontier.length; d++) {
    const layer = graph.node(layers[d]).name;
    const [, H, W] = layerShape(graph, layer);
    const next: Pending[] = [];
    const levelNext: Pending[][] = frontier.map(() => []);
    await runPasses(
      graph,
      input,
      layer,
      frontier.map((f) => f.target),
      { base, crop: o.crop, maxBatch: o.maxBatch },
      async (chunk) => {
        for (const item of chunk.items) {
          if (d === 0) values[item.index] = item.value;
          const alpha = item.contributions[measure];
          const { kept, read } = await mergeChannels(
            rankChannels(alpha),
            (cs) => chunk.readMaps(item.index, cs, "activation"),
            { top, mergeIoU: o.mergeIoU, threshold: o.threshold },
          );
          const holder = frontier[item.index].holder;
          holder.into = layer;
          holder.alpha = Array.from(alpha);
          holder.children = kept.map(({ channel, merged }) => {
            const data = read.get(channel) as Float32Array;
            const position = argmax2d(data, W); // Eq. 5
            const node: GapTreeNode = {
              layer,
              channel,
              position,
              contribution: alpha[channel],
              merged,
              children: [],
            };
            if (o.maps ?? true) node.map = { layer, channel, height: H, width: W, data, peak: position };
            return node;
          });
          if (d + 1 < layers.length) {
            levelNext[item.index] = holder.children.map((c) => ({
              target: { layer, channel: c.channel, position: c.position },
              holder: c,
            }));
          }
        }
      },
    );
    for (const l of levelNext) next.push(...l);
    frontier = next;
  }
  return values;
}

/**
 * Build the gAP evidence tree (section 3.2): decompose `decision` into the first layer, keep the `top`
 * channels by contribution after merging duplicates (channels whose masks `A > threshold·max A` overlap
 * a better channel's with IoU > `mergeIoU`, NMS in contribution order), decompose each kept channel's
 * peak neuron (Eq. 5) into the next layer, and so on for `depth` levels. Each level's decisions are
 * decomposed together in batched backward passes. The result is the `tree.json` of the CLI contract (see
 * {@linkcode treeToJson}), with each node's activation map attached for rendering.
 *
 * @param graph The model.
 * @param input The image, batch 1, backend layout.
 * @param decision The decision to explain (e.g. `classLogit(c)`).
 * @param options Layers (deep to shallow), top, depth, merging, measure.
 * @returns The tree.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { hierarchy } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const tree = await hierarchy(g, x, classLogit(1), { top: 2 }); // default layers: relu2, relu1
 * const child = tree.children[0];
 * if (tree.into !== "relu2" || child.into !== "relu1" || child.children[0].into !== undefined) {
 *   throw new Error();
 * }
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function hierarchy(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: HierarchyOptions = {},
): Promise<GapTree> {
  const layers = (options.layers ?? defaultLayers(graph)).map((l) => graph.node(l).name);
  if (!layers.length) throw new RangeError("hierarchy() needs at least one layer");
  const depth = options.depth ?? layers.length;
  if (!Number.isInteger(depth) || depth < 1 || depth > layers.length) {
    throw new RangeError(`depth must be an integer in 1..${layers.length} (one per layer), got ${depth}`);
  }
  const node = decisionNode(graph, decision);
  checkOrder(graph, node, layers.slice(0, depth));
  const root: GapTree = {
    decision: { label: decision.label, node, value: NaN },
    measure: options.measure ?? "AA",
    into: layers[0],
    alpha: [],
    children: [],
  };
  await withBase(graph, input, options.base, async (base) => {
    const [value] = await expandLevels(
      graph,
      input,
      base,
      [{ target: decision, holder: root }],
      layers.slice(0, depth),
      options,
    );
    root.decision.value = value;
  });
  return root;
}

/**
 * Decompose one tree node on demand (the interactive tree): its neuron (`layer`, `channel`, `position`)
 * into `intoLayer`, and on through `below` if given. Returns a new node with `into`, `alpha` and
 * `children` set; the given node is not changed. A node of a `tree.json` read back works as well.
 *
 * @param graph The model.
 * @param input The image the tree was built on.
 * @param node The node (or any neuron) to expand.
 * @param intoLayer A layer below the node's layer.
 * @param options Top, merging, measure, further layers, and a base trace to reuse.
 * @returns The expanded node.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { expandNode, hierarchy } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const tree = await hierarchy(g, x, classLogit(1), { layers: ["relu2"] });
 * const leaf = tree.children[1];
 * const grown = await expandNode(g, x, leaf, "relu1", { top: 4, mergeIoU: 1 }); // no merging
 * if (grown.into !== "relu1" || grown.children.length !== 4 || leaf.children.length !== 0) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function expandNode(
  graph: Graph,
  input: Tensor,
  node: GapNeuron & Partial<GapTreeNode>,
  intoLayer: string,
  options: ExpandOptions = {},
): Promise<GapTreeNode> {
  const layers = [intoLayer, ...(options.below ?? [])].map((l) => graph.node(l).name);
  checkOrder(graph, node.layer, layers);
  const out: GapTreeNode = {
    layer: graph.node(node.layer).name,
    channel: node.channel,
    position: [node.position[0], node.position[1]],
    contribution: node.contribution ?? NaN,
    merged: node.merged ? [...node.merged] : [],
    children: [],
  };
  if (node.map) out.map = node.map;
  await withBase(graph, input, options.base, async (base) => {
    await expandLevels(
      graph,
      input,
      base,
      [{ target: { layer: out.layer, channel: out.channel, position: out.position }, holder: out }],
      layers,
      options,
    );
  });
  return out;
}

/** The JSON form of a tree node (no maps). */
export type GapTreeNodeJson = Omit<GapTreeNode, "map" | "children"> & { children: GapTreeNodeJson[] };

/** The JSON form of a tree: what `cnnlens explain --method gap` writes as `tree.json`. */
export type GapTreeJson = Omit<GapTree, "children"> & { children: GapTreeNodeJson[] };

function nodeJson(n: GapTreeNode): GapTreeNodeJson {
  const out: GapTreeNodeJson = {
    layer: n.layer,
    channel: n.channel,
    position: [n.position[0], n.position[1]],
    contribution: n.contribution,
    merged: [...n.merged],
    children: n.children.map(nodeJson),
  };
  if (n.into !== undefined) {
    out.into = n.into;
    out.alpha = n.alpha ? [...n.alpha] : [];
  }
  // Keep the contract's key order: children last.
  const { children, ...rest } = out;
  return { ...rest, children };
}

/**
 * The tree as plain JSON data — the CLI contract's `tree.json`: the root `{decision, measure, into, alpha,
 * children}` and nodes `{layer, channel, position, contribution, merged, into?, alpha?, children}`,
 * children in descending contribution; activation maps are dropped.
 *
 * @param tree The tree from {@linkcode hierarchy}.
 * @returns A deep copy without maps, ready for `JSON.stringify`.
 * @example
 * ```ts
 * import { treeToJson } from "@cnnlens/gap";
 * const json = treeToJson({
 *   decision: { label: "class 1 logit", node: "fc", value: 2 }, measure: "AA", into: "relu2",
 *   alpha: [0.5, 1.5],
 *   children: [{ layer: "relu2", channel: 1, position: [0, 0], contribution: 1.5, merged: [], children: [],
 *     map: { layer: "relu2", channel: 1, height: 1, width: 1, data: Float32Array.of(1.5), peak: [0, 0] } }],
 * });
 * if ("map" in json.children[0]) throw new Error();
 * ```
 */
export function treeToJson(tree: GapTree): GapTreeJson {
  return {
    decision: { ...tree.decision },
    measure: tree.measure,
    into: tree.into,
    alpha: [...tree.alpha],
    children: tree.children.map(nodeJson),
  };
}

/**
 * Every node of a tree, depth first (parents before children), with its depth (1 for the root's children).
 * @param tree The tree (or a node).
 * @returns The nodes.
 * @example
 * ```ts
 * import { treeNodes } from "@cnnlens/gap";
 * const leaf = { layer: "a", channel: 2, position: [0, 0] as [number, number], contribution: 1, merged: [], children: [] };
 * const nodes = treeNodes({ children: [{ ...leaf, channel: 1, children: [leaf] }] });
 * if (nodes.map((n) => `${n.node.channel}@${n.depth}`).join() !== "1@1,2@2") throw new Error();
 * ```
 */
export function treeNodes(tree: { children: GapTreeNode[] }): { node: GapTreeNode; depth: number }[] {
  const out: { node: GapTreeNode; depth: number }[] = [];
  const walk = (n: { children: GapTreeNode[] }, depth: number) => {
    for (const c of n.children) {
      out.push({ node: c, depth });
      walk(c, depth + 1);
    }
  };
  walk(tree, 1);
  return out;
}
