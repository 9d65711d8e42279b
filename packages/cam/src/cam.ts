/**
 * CAM (Zhou et al., CVPR 2016): class activation maps of GAP + FC networks.
 * @module
 */
import {
  backwardWalk,
  decisionNode,
  findRule,
  type Graph,
  type GraphNode,
  registeredOps,
  registerRule,
  tf,
} from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";
import { decisionSeed } from "./_util.ts";

/** Rule kind: how an op takes part in a CAM head (target layer → global pooling → FC). */
export const CAM_HEAD = "cam-head";

/**
 * A `cam-head` rule: `"pool"` for a global average over the spatial axes, `"through"` for an op that keeps
 * a channel vector as it is (flatten, identity, reshape to `[C]`), `"fc"` for the classifier, `null` when
 * this node cannot be part of a CAM head.
 */
export type CamHeadRule = (node: GraphNode) => "pool" | "through" | "fc" | null;

const spatialMean = (n: GraphNode) => {
  const axes = (n.attrs.axes ?? []).map((a) => a < 0 ? a + 4 : a).sort();
  return axes.length === 2 && axes[0] === 2 && axes[1] === 3 ? "pool" : null;
};
registerRule<CamHeadRule>(CAM_HEAD, "globalavgpool", () => "pool");
registerRule<CamHeadRule>(CAM_HEAD, "reducemean", spatialMean);
registerRule<CamHeadRule>(CAM_HEAD, "flatten", () => "through");
registerRule<CamHeadRule>(CAM_HEAD, "identity", () => "through");
registerRule<CamHeadRule>(CAM_HEAD, "reshape", (n) => n.shape.length === 1 ? "through" : null);
registerRule<CamHeadRule>(CAM_HEAD, "gemm", () => "fc");

/**
 * Walk from a layer through global average pooling (and flatten/reshape) to the fully connected layer,
 * following the consumers that lead to the decision node.
 * @param graph The graph.
 * @param layer Target layer.
 * @param decisionAt The node the decision reads.
 * @returns The FC (gemm) node.
 * @throws {RangeError} When the path is not layer → global average pooling → FC.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { camHead } from "@cnnlens/cam";
 * const g = tinyNet(); // relu2 → gap → flatten → fc
 * if (camHead(g, "relu2", "fc").name !== "fc") throw new Error("fc");
 * g.dispose();
 * ```
 */
export function camHead(graph: Graph, layer: string, decisionAt: string): GraphNode {
  const toDecision = new Set([...graph.ancestors([decisionAt]), decisionAt]);
  let node = graph.node(layer);
  let pooled = false;
  for (;;) {
    const next = graph.consumers(node.name).filter((c) => toDecision.has(c));
    if (next.length !== 1) {
      throw new RangeError(
        `CAM needs layer '${layer}' to reach the decision through global average pooling and one FC layer: node '${node.name}' has ${next.length} consumers on the way to '${decisionAt}'`,
      );
    }
    node = graph.node(next[0]);
    const role = findRule<CamHeadRule>(CAM_HEAD, node.op)?.(node) ?? null;
    if (role === null || (role === "fc" && !pooled)) {
      throw new RangeError(
        `CAM needs layer '${layer}' → global average pooling → FC: node '${node.name}' (op '${node.op}') is not part of such a head (${CAM_HEAD} rules cover ${
          registeredOps(CAM_HEAD).join(", ")
        }); use Grad-CAM, which equals CAM on GAP + FC networks up to a factor`,
      );
    }
    if (role === "pool") pooled = true;
    if (role === "fc") return node;
  }
}

/**
 * CAM: `M = ReLU(Σ_k w_k A_k)` where `w_k` is the FC weight that connects channel `k` (after global
 * average pooling) to the class (Eq. 2 of Zhou et al.; the ReLU as pytorch-grad-cam). The FC layer is found
 * by walking from the layer through the `cam-head` rule table (GAP, flatten, reshape, identity). The
 * class row comes from the decision itself: `w = W · ∂d/∂(FC output)`, which for `classLogit(c)` is exactly
 * column `c` of the FC weight `W [C, classes]`; for a decision read after the FC (a probability, a
 * similarity on the logits) it is its linearisation at the forward point.
 *
 * @param graph The graph (target layer → GAP → FC).
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision A decision read at or after the FC layer.
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { cam } from "@cnnlens/cam";
 * const g = tinyNet(); // … relu2 → gap → flatten → fc
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await cam(g, x, classLogit(1), { perLayer: true });
 * const w = await g.node("fc").params.weight.data(); // [6, 3]
 * if (Math.abs(r.perLayer![0].weights![4] - w[4 * 3 + 1]) > 1e-6) throw new Error("FC column 1");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const cam: CamFunction = defineCam({
  id: "cam",
  capture: "trace",
  weights: ({ graph, decision, layer, trace }) => {
    const dnode = decisionNode(graph, decision);
    const fc = camHead(graph, layer, dnode);
    const c = graph.node(layer).shape[0];
    const weight = fc.params.weight;
    if (weight.shape[0] !== c) {
      throw new RangeError(
        `CAM: FC layer '${fc.name}' takes ${weight.shape[0]} inputs but layer '${layer}' has ${c} channels`,
      );
    }
    return tf.tidy(() => {
      const seed = decisionSeed(decision, trace.get(dnode));
      const r = backwardWalk(graph, trace, new Map([[dnode, seed]]), { to: [fc.name] }).get(fc.name)!;
      // Eq. 2 (CAM): the FC weights of the class, w_k = W[k, c].
      return tf.matMul(r, weight, false, true);
    });
  },
});
