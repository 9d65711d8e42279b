/**
 * The sparse surrogate model of Fig. 9: the network with every channel that the top-k decomposition did
 * not select removed at each decomposed layer. Its prediction agreeing with the original model's (the
 * match rate) says how well the tree approximates the model.
 * @module
 */
import { type Graph, runForward, type Tensor, tf, type Trace } from "@cnnlens/core";
import type { Replacement } from "./ablation.ts";
import { layerShape } from "./_engine.ts";
import { type GapTree, treeNodes } from "./hierarchy.ts";

/**
 * The channels a tree selected, per layer (the union over all its nodes of that layer).
 * @param tree The tree.
 * @returns Layer → channels.
 * @example
 * ```ts
 * import { type GapTree, treeChannels } from "@cnnlens/gap";
 * const n = (layer: string, channel: number, children: GapTree["children"] = []) =>
 *   ({ layer, channel, position: [0, 0] as [number, number], contribution: 1, merged: [], children });
 * const tree: GapTree = { decision: { label: "", node: "fc", value: 0 }, measure: "AA", into: "hi", alpha: [],
 *   children: [n("hi", 4, [n("lo", 1), n("lo", 2)]), n("hi", 7, [n("lo", 1)])] };
 * if ([...treeChannels(tree).get("lo")!].join() !== "1,2") throw new Error();
 * ```
 */
export function treeChannels(tree: GapTree): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const { node } of treeNodes(tree)) {
    let s = out.get(node.layer);
    if (!s) out.set(node.layer, s = new Set());
    s.add(node.channel);
  }
  return out;
}

/** What {@linkcode sparseSurrogate} returns. */
export interface SurrogateResult {
  /** The surrogate's output (the graph output, flattened). */
  output: Float32Array;
  /** Its arg-max (the predicted class for a classifier). */
  predicted: number;
}

/**
 * Run the sparse surrogate: at each layer, shallow to deep, channels not in `keep` are removed (zero, or
 * their spatial mean), and everything above is recomputed from the masked values.
 *
 * @param graph The model.
 * @param input The image, batch 1, backend layout.
 * @param keep A tree (its {@linkcode treeChannels}) or layer → channels to keep.
 * @param options Replacement of removed channels (default zero) and a base trace to reuse.
 * @returns The surrogate's output and prediction.
 * @example
 * ```ts
 * import { tf, tinyNet } from "@cnnlens/core";
 * import { sparseSurrogate } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const all = await sparseSurrogate(g, x, new Map([["relu2", [0, 1, 2, 3, 4, 5]]]));
 * const none = await sparseSurrogate(g, x, new Map([["relu2", []]]));
 * // Nothing removed: the model itself. Everything removed: only the classifier's bias is left.
 * if (all.output.length !== 3 || none.output.length !== 3) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function sparseSurrogate(
  graph: Graph,
  input: Tensor,
  keep: GapTree | Map<string, Iterable<number>>,
  options: { replace?: Replacement; base?: Trace } = {},
): Promise<SurrogateResult> {
  const sets = keep instanceof Map ? keep : treeChannels(keep);
  const layers = [...sets.keys()].map((l) => graph.node(l).name)
    .sort((a, b) => graph.indexOf(a) - graph.indexOf(b));
  const traces: Trace[] = [];
  const made: Tensor[] = [];
  try {
    let trace = options.base ?? runForward(graph, input);
    if (!options.base) traces.push(trace);
    for (const l of layers) {
      const [K] = layerShape(graph, l);
      const m = new Float32Array(K);
      for (const c of sets.get(l) ?? []) {
        if (!Number.isInteger(c) || c < 0 || c >= K) {
          throw new RangeError(`Channel ${c} is out of range for '${l}'`);
        }
        m[c] = 1;
      }
      const F = trace.get(l);
      const masked = tf.tidy(() => {
        const keepM = tf.reshape(tf.tensor1d(m), [1, 1, 1, K]);
        const fill = options.replace === "mean" ? tf.mean(F, [1, 2], true) : tf.zeros([1, 1, 1, K]);
        return tf.add(tf.mul(F, keepM), tf.mul(fill, tf.sub(1, keepM)));
      });
      made.push(masked);
      trace = runForward(graph, input, { overrides: new Map([[l, masked]]), base: trace });
      traces.push(trace);
    }
    const output = Float32Array.from(await trace.get(graph.output).data() as Float32Array);
    let predicted = 0;
    for (let i = 1; i < output.length; i++) if (output[i] > output[predicted]) predicted = i;
    return { output, predicted };
  } finally {
    for (const t of traces.reverse()) t.dispose();
    for (const t of made) t.dispose();
  }
}
