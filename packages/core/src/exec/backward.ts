import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import { getRule } from "../rules/registry.ts";
import type { Trace } from "./forward.ts";
import type { JvpRule, VjpRule } from "../rules/vjp.ts";
import "../rules/vjp.ts";

/** Options for {@linkcode backwardWalk}. */
export interface BackwardOptions {
  /** Nodes whose accumulated cotangents to return. */
  to: string[];
  /**
   * The rule kind to apply per node: `vjp` (core, the chain rule) or a kind a method registered with the
   * same signature (IOM's `excitation`).
   * @default "vjp"
   */
  kind?: string;
}

/**
 * Reverse-mode walk over the graph: start from cotangents at `seeds`, apply the per-op rule of `kind` node
 * by node in reverse topological order, accumulating over consumers, and return the cotangents that
 * reach the `to` nodes. Only nodes between the seeds and the targets are visited.
 *
 * @param graph The graph.
 * @param trace A forward trace holding every visited node's inputs and output.
 * @param seeds Node → cotangent (backend layout); the caller keeps ownership.
 * @param options Targets and rule kind.
 * @returns Node → cotangent for each `to` node (zeros where nothing reaches); caller disposes.
 */
export function backwardWalk(
  graph: Graph,
  trace: Trace,
  seeds: Map<string, Tensor>,
  options: BackwardOptions,
): Map<string, Tensor> {
  const kind = options.kind ?? "vjp";
  const to = new Set(options.to.map((n) => graph.node(n).name));
  const seedNames = [...seeds.keys()].map((n) => graph.node(n).name);
  const below = new Set([...graph.ancestors(seedNames), ...seedNames]);
  const above = new Set([...graph.descendants([...to]), ...to]);
  const live = new Set([...below].filter((n) => above.has(n)));
  const ct = new Map<string, Tensor>();
  for (const [k, v] of seeds) {
    const name = graph.node(k).name;
    const prev = ct.get(name);
    ct.set(name, prev ? tf.add(prev, v) : v.clone());
    prev?.dispose();
  }
  for (let idx = graph.nodes.length - 1; idx >= 0; idx--) {
    const n = graph.nodes[idx];
    if (!live.has(n.name)) continue;
    const dy = ct.get(n.name);
    const needed = n.inputs.map((i) => live.has(i));
    if (dy && needed.some((x) => x) && n.op !== "input") {
      const rule = getRule<VjpRule>(kind, n.op, n.name);
      const grads = tidyList(() => rule(n, n.inputs.map((i) => trace.get(i)), trace.get(n.name), dy, needed));
      n.inputs.forEach((i, j) => {
        let g = grads[j];
        if (!g) return;
        if (g === dy || n.inputs.some((k) => trace.values.get(k) === g)) g = g.clone();
        if (!needed[j]) return g.dispose();
        const prev = ct.get(i);
        if (prev) {
          ct.set(i, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        } else ct.set(i, g);
      });
    }
    if (!to.has(n.name) && dy) {
      dy.dispose();
      ct.delete(n.name);
    }
  }
  const out = new Map<string, Tensor>();
  for (const name of to) {
    out.set(name, ct.get(name) ?? tf.zerosLike(trace.get(name)));
  }
  return out;
}

/** Options for {@linkcode jvpWalk}. */
export interface JvpOptions {
  /** The node whose tangent to return. */
  to: string;
  /** Rule kind. @default "jvp" */
  kind?: string;
}

/**
 * Forward-mode walk: push tangents given at some nodes through every node up to `to`, applying the
 * per-op `jvp` rules (the Jacobian of the sub-graph between them, applied matrix-free).
 *
 * @param graph The graph.
 * @param trace A forward trace holding every visited node's inputs and output.
 * @param tangents Node → tangent (backend layout); the caller keeps ownership.
 * @param options The target node and rule kind.
 * @returns The tangent at `to` (zeros if none reaches it); caller disposes.
 */
export function jvpWalk(
  graph: Graph,
  trace: Trace,
  tangents: Map<string, Tensor>,
  options: JvpOptions,
): Tensor {
  const kind = options.kind ?? "jvp";
  const to = graph.node(options.to).name;
  const starts = [...tangents.keys()].map((n) => graph.node(n).name);
  const live = new Set([...graph.ancestors([to]), to]);
  const reach = new Set(graph.descendants(starts));
  const t = new Map<string, Tensor>();
  for (const [k, v] of tangents) t.set(graph.node(k).name, v);
  const made: Tensor[] = [];
  try {
    for (const n of graph.nodes) {
      if (!live.has(n.name) || !reach.has(n.name) || t.has(n.name)) continue;
      const ins = n.inputs.map((i) => t.get(i) ?? null);
      if (ins.every((x) => x === null)) continue;
      const rule = getRule<JvpRule>(kind, n.op, n.name);
      const v = tf.tidy(() => rule(n, n.inputs.map((i) => trace.get(i)), trace.get(n.name), ins));
      t.set(n.name, v);
      made.push(v);
    }
    const res = t.get(to);
    return res ? (made.includes(res) ? res : res.clone()) : tf.zerosLike(trace.get(to));
  } finally {
    for (const m of made) if (m !== t.get(to)) m.dispose();
  }
}

/** tf.tidy for a list with nulls: keeps the non-null tensors. */
function tidyList(f: () => (Tensor | null)[]): (Tensor | null)[] {
  let out: (Tensor | null)[] = [];
  tf.tidy(() => {
    out = f();
    for (const t of out) if (t) tf.keep(t);
  });
  return out;
}
