/**
 * Where FAM reads a model: the explained feature map `f(X)` (a layer), how it becomes the compared
 * embedding (FAM's own pooling, a named embedding node with the transformation module between them, or an
 * explicit `W`), and the forward pass that produces both. Resolved once per explanation, before any
 * forward pass, so bad names and unsupported heads fail fast.
 * @module
 */
import { getRule, runForward, tf } from "@cnnlens/core";
import type { Graph, GraphNode, Tensor } from "@cnnlens/core";
import { type MetricChoice, resolveMetric, type SimilarityMetric } from "./metric.ts";
import { poolFeatures, type Pooling } from "./pooling.ts";
import { FAM_PATH, type FamPathRule } from "./path_rules.ts";

/** Options shared by every FAM entry point. */
export interface FamOptions {
  /**
   * The explained feature map `f(X) = [A^1 … A^N]`: a node name (or alias) with a `[N, H, W]` output.
   * @default graph.lastSpatialNode() (with `embedding`: the last feature map the embedding depends on)
   */
  layer?: string;
  /**
   * The node whose output is the compared embedding. Omitted: FAM pools the layer itself with `pooling`.
   * Given: `Z` is that node's value; nodes between the layer and it (global pooling, flatten, an FC
   * transformation module, a BatchNorm on the vector) are mapped back by the `fam-path` rules (Eq. 18).
   */
  embedding?: string;
  /** Pooling `p` from the layer to the embedding when no `embedding` node is named. @default "gap" */
  pooling?: Pooling;
  /** Temperature of `lse` pooling. @default 1 */
  temperature?: number;
  /**
   * An explicit transformation module weight `W` [N, J] (Eqs. 16-18): the compared embedding is
   * `Z' = Z × W` (or the `embedding` node's value, then not walked) and `C = W × C'^T`. The caller keeps
   * ownership.
   */
  transform?: Tensor;
  /** The similarity: `cosine` (Eq. 15), `euclidean` (negative squared distance) or your own. @default "cosine" */
  metric?: MetricChoice;
  /** Images per forward pass. @default 32 */
  batchSize?: number;
}

/** A resolved FAM configuration (see {@linkcode famPlan}). */
export interface FamPlan {
  /** The graph. */
  graph: Graph;
  /** The explained layer's node name. */
  layer: string;
  /** Channels N of the layer. */
  channels: number;
  /** Height of the layer's maps. */
  height: number;
  /** Width of the layer's maps. */
  width: number;
  /** The embedding node, or null when FAM pools the layer itself. */
  embedding: string | null;
  /** FAM's pooling when it pools the layer itself, else null. */
  pooling: Pooling | null;
  /** LSE temperature. */
  temperature: number;
  /** Nodes from the embedding node back to the layer (excluded), each mapped by its `fam-path` rule. */
  path: GraphNode[];
  /** The explicit transformation weight, if given. */
  transform: Tensor | null;
  /** Size D of the compared embedding. */
  dim: number;
  /** The metric. */
  metric: SimilarityMetric;
  /** Images per forward pass. */
  batchSize: number;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const isMap = (s: number[]) => s.length === 3 && s[1] * s[2] > 1;

function defaultLayerFor(graph: Graph, e: GraphNode): GraphNode {
  if (isMap(e.shape)) return e;
  const anc = graph.ancestors([e.name]).map((n) => graph.node(n));
  const maps = anc.filter((n) => isMap(n.shape) && n.op !== "input" && n.op !== "const");
  if (!maps.length) {
    throw new RangeError(`Embedding node '${e.name}' depends on no feature map: name the layer to explain`);
  }
  return maps[maps.length - 1];
}

/**
 * Resolve what FAM explains and how: the layer, the embedding and the path between them.
 * @param graph The model.
 * @param options Layer, embedding, pooling, transform, metric.
 * @returns The plan.
 * @example
 * ```ts
 * import { famPlan } from "@cnnlens/fam";
 * import { tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const plan = famPlan(g, { embedding: "fc" });
 * if (plan.layer !== "relu2" || plan.path.map((n) => n.name).join() !== "fc,flatten,gap") throw new Error();
 * g.dispose();
 * ```
 */
export function famPlan(graph: Graph, options: FamOptions = {}): FamPlan {
  const metric = resolveMetric(options.metric ?? "cosine");
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const temperature = options.temperature ?? 1;
  const e = options.embedding !== undefined ? graph.node(options.embedding) : null;
  const layerNode = options.layer !== undefined
    ? graph.node(options.layer)
    : e
    ? defaultLayerFor(graph, e)
    : graph.lastSpatialNode();
  if (layerNode.shape.length !== 3) {
    throw new RangeError(
      `Layer '${layerNode.name}' has shape [${layerNode.shape}], not a feature map [N, H, W]: ` +
        `choose one of ${graph.spatialNodes().slice(-3).map((n) => `'${n.name}'`).join(", ")}`,
    );
  }
  const [channels, height, width] = layerNode.shape;
  const w = options.transform ?? null;
  const path: GraphNode[] = [];
  let dim: number;
  if (e) {
    if (e.name !== layerNode.name && !graph.ancestors([e.name]).includes(layerNode.name)) {
      throw new RangeError(`Embedding '${e.name}' does not depend on layer '${layerNode.name}'`);
    }
    dim = prod(e.shape);
    if (!w) {
      // Walk from the embedding back to the layer, validating each node's rule before any forward pass.
      for (let cur = e; cur.name !== layerNode.name;) {
        const rule = getRule<FamPathRule>(FAM_PATH, cur.op, cur.name);
        if (cur.inputs.length !== 1) {
          throw new RangeError(`FAM cannot map contributions through node '${cur.name}' (${cur.op})`);
        }
        const inp = graph.node(cur.inputs[0]);
        rule(cur, inp.shape, null);
        path.push(cur);
        cur = inp;
      }
    }
  } else {
    dim = channels;
  }
  if (w) {
    const expect = [channels, e ? dim : w.shape[1]];
    if (w.rank !== 2 || w.shape[0] !== expect[0] || w.shape[1] !== expect[1]) {
      throw new RangeError(
        `transform W has shape [${w.shape}], expected [${expect}] (layer channels × embedding size)`,
      );
    }
    dim = w.shape[1]!;
  }
  return {
    graph,
    layer: layerNode.name,
    channels,
    height,
    width,
    embedding: e?.name ?? null,
    pooling: e ? null : options.pooling ?? "gap",
    temperature,
    path,
    transform: w,
    dim,
    metric,
    batchSize,
  };
}

/** Layer maps and compared embeddings of a batch (see {@linkcode forwardFeatures}). Dispose both. */
export interface Features {
  /** Layer maps [B, H_l, W_l, N] (backend layout), or null when not asked for. */
  maps: Tensor | null;
  /** Compared embeddings [B, D]. */
  embeddings: Tensor;
}

function flatEmbedding(v: Tensor): Tensor {
  const b = v.shape[0];
  return v.rank === 4 ? tf.reshape(tf.transpose(v, [0, 3, 1, 2]), [b, -1]) : tf.reshape(v, [b, -1]);
}

/**
 * Forward passes only (FAM needs no backward pass): the layer maps and the compared embeddings of a batch
 * of images, `batchSize` images at a time, stopping at the embedding node (or at the layer when FAM pools
 * it itself).
 * @param plan The plan.
 * @param images Images [B, H, W, C] (backend layout).
 * @param keepMaps Whether to return the layer maps. @default true
 * @returns Maps and embeddings (new tensors).
 */
export function forwardFeatures(plan: FamPlan, images: Tensor, keepMaps = true): Features {
  if (images.rank !== 4) {
    throw new RangeError(`Images must be a batch [B, H, W, C] in backend layout, got [${images.shape}]`);
  }
  const c = plan.graph.node(plan.graph.input).shape[0];
  if (images.shape[3] !== c) {
    throw new RangeError(`Images have ${images.shape[3]} channels, the model's input has ${c}`);
  }
  const until = plan.embedding ?? plan.layer;
  const b = images.shape[0];
  const maps: Tensor[] = [];
  const embs: Tensor[] = [];
  try {
    for (let i = 0; i < b; i += plan.batchSize) {
      const n = Math.min(plan.batchSize, b - i);
      const chunk = n === b ? images : tf.slice(images, [i, 0, 0, 0], [n, -1, -1, -1]);
      const trace = runForward(plan.graph, chunk, { keep: [plan.layer, until], until });
      try {
        const a = trace.get(plan.layer);
        if (keepMaps) maps.push(tf.clone(a));
        embs.push(tf.tidy(() => {
          if (plan.embedding) return flatEmbedding(trace.get(plan.embedding));
          const z = poolFeatures(a, plan.pooling!, plan.temperature);
          return plan.transform ? tf.matMul(z, plan.transform) : z; // Eq. 16: Z' = Z × W
        }));
      } finally {
        trace.dispose();
        if (chunk !== images) chunk.dispose();
      }
    }
    const cat = (ts: Tensor[]) => {
      if (ts.length === 1) return ts[0];
      const t = tf.concat(ts, 0);
      ts.forEach((x) => x.dispose());
      return t;
    };
    return { maps: keepMaps ? cat(maps) : null, embeddings: cat(embs) };
  } catch (err) {
    maps.forEach((t) => t.dispose());
    embs.forEach((t) => t.dispose());
    throw err;
  }
}
