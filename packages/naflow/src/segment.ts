import type { Graph } from "@cnnlens/core";

/**
 * One unit of a chain segmentation: the layer `g_l` of the paper, mapping the value of node `from` (its
 * input `A^l`) to the value of node `to` (its output `A^{l+1}`).
 */
export interface ChainUnit {
  /** The unit's input node (a node every path from the source to the sink passes through). */
  from: string;
  /** The unit's output node (the next such node). */
  to: string;
  /**
   * Nodes strictly inside the unit, in topological order: empty for a single layer, the branches of a
   * block (a residual branch and its shortcut, an attention gate, the arms of a concatenation) otherwise.
   */
  inner: string[];
  /**
   * True when the unit's inside is not a chain: it has inner nodes, or `to` reads `from` more than once
   * (`add(x, x)`). A block is inverted as one linearised layer (see `leastSquaresInverse`).
   */
  block: boolean;
}

/**
 * The nodes that lie on some path from `source` to `sink` (both included), in topological order.
 * @param graph The graph.
 * @param source Start node.
 * @param sink End node (a descendant of `source`).
 * @returns Node names.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { pathNodes } from "@cnnlens/naflow";
 * const g = tinyNet();
 * if (pathNodes(g, "pool1", "bn2").join() !== "pool1,conv2,bn2") throw new Error();
 * g.dispose();
 * ```
 */
export function pathNodes(graph: Graph, source: string, sink: string): string[] {
  const s = graph.node(source).name;
  const t = graph.node(sink).name;
  if (s === t) return [s];
  const below = new Set([...graph.ancestors([t]), t]);
  if (!below.has(s)) throw new RangeError(`Node '${t}' does not depend on node '${s}'`);
  // Forward reachability from `s`, restricted to ancestors of `t` (linear in the graph size).
  const reach = new Set([s]);
  const out: string[] = [];
  for (const n of graph.nodes) {
    if (n.name === s) {
      out.push(s);
      continue;
    }
    if (!below.has(n.name)) continue;
    if (n.inputs.some((i) => reach.has(i))) {
      reach.add(n.name);
      out.push(n.name);
    }
  }
  return out;
}

/**
 * Chain segmentation: cut the sub-graph between `source` and `sink` at every node that all paths from
 * `source` to `sink` pass through (the chain's articulation nodes). Consecutive articulation nodes bound
 * one unit: a single layer when the later one reads only the earlier one, once; otherwise a block (from
 * the node where the graph forks to the node where its branches re-join), whatever the architecture
 * (ResNet additions, SE/CBAM/BAM gates, Inception-style concatenations).
 *
 * In topological order restricted to the path nodes, a node lies on every path iff no edge jumps over it
 * (an edge `u → w` with `pos(u) < pos(v) < pos(w)` gives a path avoiding `v`; without one, every path must
 * step onto `v`).
 *
 * @param graph The graph.
 * @param source Start node (e.g. the graph input).
 * @param sink End node (e.g. the last spatial feature map).
 * @returns The units from shallow to deep; `units[0].from === source`, the last `to === sink`.
 * @example
 * ```ts
 * import { resnet18 } from "@cnnlens/core";
 * import { segmentChain } from "@cnnlens/naflow";
 * const g = resnet18({ size: [64, 64], classes: 2, width: 0.25 });
 * const units = segmentChain(g, g.input, g.lastSpatialNode().name);
 * // conv1, bn1, relu, maxpool, then one block + one ReLU per residual block
 * if (units.length !== 4 + 2 * 8 || !units[4].block) throw new Error("unexpected segmentation");
 * g.dispose();
 * ```
 */
export function segmentChain(graph: Graph, source: string, sink: string): ChainUnit[] {
  const nodes = pathNodes(graph, source, sink);
  const pos = new Map(nodes.map((n, i) => [n, i]));
  // Difference array: +1 at u+1, −1 at w for each edge u → w; a node is crossed if the prefix sum > 0.
  const diff = new Array<number>(nodes.length + 1).fill(0);
  for (const n of nodes) {
    const w = pos.get(n)!;
    for (const i of graph.node(n).inputs) {
      const u = pos.get(i);
      if (u === undefined || w - u < 2) continue;
      diff[u + 1]++;
      diff[w]--;
    }
  }
  const cuts: number[] = [];
  let crossing = 0;
  for (let i = 0; i < nodes.length; i++) {
    crossing += diff[i];
    if (crossing === 0) cuts.push(i);
  }
  const units: ChainUnit[] = [];
  for (let k = 1; k < cuts.length; k++) {
    const from = nodes[cuts[k - 1]];
    const to = nodes[cuts[k]];
    const inner = nodes.slice(cuts[k - 1] + 1, cuts[k]);
    const reads = graph.node(to).inputs.filter((i) => i === from || inner.includes(i)).length;
    units.push({ from, to, inner, block: inner.length > 0 || reads > 1 });
  }
  return units;
}
