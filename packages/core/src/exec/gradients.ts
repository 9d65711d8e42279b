import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import { backendShape } from "../graph/layout.ts";
import { type Decision, decisionNode } from "../targets/decision.ts";
import { makeTrace, runForward, type Trace } from "./forward.ts";

/** What {@linkcode gradients} returns. Dispose it when done. */
export interface GradientResult {
  /** The decision per batch item, shape [N]. */
  value: Tensor;
  /** Node → ∂decision/∂node (backend layout, batched). */
  grads: Map<string, Tensor>;
  /** The forward values of the `wrt` nodes, the decision node and any `keep` nodes. */
  trace: Trace;
  /** Release everything. */
  dispose(): void;
}

/**
 * The gradient of a decision with respect to any set of nodes, in one forward and one backward pass
 * (tfjs autodiff over the whole graph: zero "probe" tensors are added to the requested node outputs and
 * differentiated). Batch items are independent: item i's gradient is that of item i's decision.
 *
 * @param graph The graph.
 * @param input Input batch (backend layout).
 * @param decision What to differentiate.
 * @param wrt Node names.
 * @param keep Extra node values to keep in the returned trace.
 * @returns Value, gradients and trace.
 * @example
 * ```ts
 * import { classLogit, gradients, tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const r = gradients(g, tf.ones([1, 8, 8, 3]), classLogit(0), ["conv1"]);
 * if (r.grads.get("conv1")!.shape[3] !== 4) throw new Error("4 channels expected");
 * r.dispose();
 * g.dispose();
 * ```
 */
export function gradients(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  wrt: string[],
  keep: string[] = [],
): GradientResult {
  const names = wrt.map((n) => graph.node(n).name);
  const dnode = decisionNode(graph, decision);
  const batch = input.shape[0];
  const probes = names.map((n) => tf.zeros(backendShape(graph.node(n).shape, batch)));
  const keepNames = [...new Set([...names, dnode, ...keep.map((k) => graph.node(k).name)])];
  let value: Tensor | undefined;
  const kept = new Map<string, Tensor>();
  try {
    const gs = tf.grads((...ps: Tensor[]) => {
      const trace = runForward(graph, input, {
        probes: new Map(names.map((n, i) => [n, ps[i]])),
        keep: keepNames,
        until: lastOf(graph, [...keepNames]),
      });
      for (const k of keepNames) kept.set(k, tf.keep(trace.get(k)));
      value = tf.keep(tf.reshape(decision.read(trace.get(dnode)), [batch]));
      return tf.sum(value);
    })(probes);
    const grads = new Map(names.map((n, i) => [n, gs[i]]));
    const owned = new Set([...kept.values()].filter((t) => t !== input));
    const trace = makeTrace(graph, kept, owned);
    return {
      value: value!,
      grads,
      trace,
      dispose() {
        value!.dispose();
        for (const g of grads.values()) g.dispose();
        trace.dispose();
      },
    };
  } catch (e) {
    value?.dispose();
    for (const t of kept.values()) if (t !== input) t.dispose();
    throw e;
  } finally {
    probes.forEach((p) => p.dispose());
  }
}

function lastOf(graph: Graph, names: string[]): string {
  return names.reduce((a, b) => graph.indexOf(a) >= graph.indexOf(b) ? a : b);
}
