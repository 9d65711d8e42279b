import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import { backendAxis } from "../graph/layout.ts";

/**
 * A decision: a scalar per batch item, read from one node of the model. Every method explains a
 * decision; targets are plain values, built by the functions below.
 */
export interface Decision {
  /** The node the decision reads (default: the graph output). Undefined means the graph output. */
  node?: string;
  /** Short description for reports, e.g. `class 3 logit`. */
  label: string;
  /**
   * Map the node's batched value (backend layout) to one scalar per batch item, shape [N].
   * Must be differentiable with tfjs ops.
   */
  read: (value: Tensor) => Tensor;
  /** Kind tag, for methods that treat similarity decisions specially. */
  kind: "class" | "probability" | "neuron" | "channel" | "similarity" | "custom";
  /** For similarity decisions: the metric and reference embeddings [K, D]. */
  similarity?: { metric: "cosine" | "euclidean"; references: Tensor };
}

/**
 * The node a decision reads, resolved against a graph.
 * @param graph The graph.
 * @param d The decision.
 * @returns The node name.
 */
export function decisionNode(graph: Graph, d: Decision): string {
  return graph.node(d.node ?? graph.output).name;
}

function column(v: Tensor, c: number): Tensor {
  const flat = tf.reshape(v, [v.shape[0], -1]);
  const width = flat.shape[1]!;
  if (!Number.isInteger(c) || c < 0 || c >= width) {
    throw new RangeError(`Class ${c} is out of range: the output has classes 0..${width - 1}`);
  }
  return tf.reshape(tf.slice(flat, [0, c], [-1, 1]), [-1]);
}

/**
 * The pre-softmax logit of class `c` (the default decision).
 * @param c Class index.
 * @param node Node holding the logits. @default the graph output
 * @returns A decision.
 * @example
 * ```ts
 * import { classLogit, tf } from "@cnnlens/core";
 * const d = classLogit(1);
 * const v = d.read(tf.tensor2d([[0.5, 2, 3]]));
 * if ((await v.data())[0] !== 2) throw new Error("logit 1 is 2");
 * ```
 */
export function classLogit(c: number, node?: string): Decision {
  return { node, label: `class ${c} logit`, kind: "class", read: (v) => column(v, c) };
}

/**
 * The softmax probability of class `c`.
 * @param c Class index.
 * @param node Node holding the logits. @default the graph output
 * @returns A decision.
 */
export function classProbability(c: number, node?: string): Decision {
  return {
    node,
    label: `class ${c} probability`,
    kind: "probability",
    read: (v) => column(tf.softmax(tf.reshape(v, [v.shape[0], -1])), c),
  };
}

/**
 * One neuron `F[k, y, x]` of a feature map (or `F[k]` of a vector node).
 * @param node The node.
 * @param k Channel.
 * @param y Row (feature maps only).
 * @param x Column (feature maps only).
 * @returns A decision.
 */
export function neuron(node: string, k: number, y?: number, x?: number): Decision {
  return {
    node,
    label: y === undefined ? `${node}[${k}]` : `${node}[${k}, ${y}, ${x}]`,
    kind: "neuron",
    read: (v) => {
      if (v.rank === 4) {
        const [, h, w, c] = v.shape;
        if (k < 0 || k >= c || y === undefined || x === undefined || y < 0 || y >= h || x < 0 || x >= w) {
          throw new RangeError(
            `Neuron [${k}, ${y}, ${x}] is out of range for node '${node}' of shape [${c}, ${h}, ${w}]`,
          );
        }
        return tf.reshape(tf.slice(v, [0, y, x, k], [-1, 1, 1, 1]), [-1]);
      }
      return column(v, k);
    },
  };
}

/**
 * The spatial mean of channel `k` of a feature map.
 * @param node The node.
 * @param k Channel.
 * @returns A decision.
 */
export function channelMean(node: string, k: number): Decision {
  return {
    node,
    label: `${node} channel ${k} mean`,
    kind: "channel",
    read: (v) => {
      const ax = backendAxis(1, v.rank);
      const c = v.shape[ax]!;
      if (k < 0 || k >= c) {
        throw new RangeError(`Channel ${k} is out of range for node '${node}': 0..${c - 1}`);
      }
      const ch = tf.gather(v, [k], ax);
      return tf.reshape(tf.mean(tf.reshape(ch, [v.shape[0], -1]), 1), [-1]);
    },
  };
}

function asMatrix(refs: Tensor): Tensor {
  return refs.rank === 1 ? tf.reshape(refs, [1, -1]) : tf.reshape(refs, [refs.shape[0], -1]);
}

/**
 * Cosine similarity of the node's (flattened) embedding to reference embeddings, averaged over the K
 * references (FAM Eq. 11).
 * @param references Reference embeddings [K, D] (or [D]); the caller keeps ownership.
 * @param node The embedding node. @default the graph output
 * @returns A decision.
 */
export function cosineSimilarity(references: Tensor, node?: string): Decision {
  return {
    node,
    label: `cosine similarity to ${references.rank === 1 ? 1 : references.shape[0]} reference(s)`,
    kind: "similarity",
    similarity: { metric: "cosine", references },
    read: (v) => {
      const z = tf.reshape(v, [v.shape[0], -1]);
      const r = asMatrix(references);
      const zn = tf.div(z, tf.norm(z, 2, 1, true));
      const rn = tf.div(r, tf.norm(r, 2, 1, true));
      return tf.mean(tf.matMul(zn, rn, false, true), 1);
    },
  };
}

/**
 * Negative squared Euclidean distance of the embedding to the references, averaged over K.
 * @param references Reference embeddings [K, D] (or [D]); the caller keeps ownership.
 * @param node The embedding node. @default the graph output
 * @returns A decision.
 */
export function negSquaredEuclidean(references: Tensor, node?: string): Decision {
  return {
    node,
    label: `negative squared distance to ${references.rank === 1 ? 1 : references.shape[0]} reference(s)`,
    kind: "similarity",
    similarity: { metric: "euclidean", references },
    read: (v) => {
      const z = tf.reshape(v, [v.shape[0], 1, -1]);
      const r = tf.expandDims(asMatrix(references), 0);
      return tf.neg(tf.mean(tf.sum(tf.square(tf.sub(z, r)), 2), 1));
    },
  };
}

/**
 * One decision per batch item (e.g. a different class for each image): item i reads `decisions[i]`.
 * All decisions must read the same node.
 * @param decisions One decision per batch item.
 * @returns A decision.
 */
export function perItem(decisions: Decision[]): Decision {
  const node = decisions[0].node;
  if (decisions.some((d) => d.node !== node)) throw new RangeError("perItem() needs decisions on one node");
  return {
    node,
    label: decisions.map((d) => d.label).join("; "),
    kind: decisions[0].kind,
    read: (v) => {
      if (v.shape[0] !== decisions.length) {
        throw new RangeError(`perItem() got ${decisions.length} decisions for a batch of ${v.shape[0]}`);
      }
      const parts = decisions.map((d, i) => d.read(tf.slice(v, [i], [1])));
      return tf.concat(parts, 0);
    },
  };
}
