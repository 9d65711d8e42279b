import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import { getRule } from "../rules/registry.ts";
import type { ForwardRule } from "../rules/forward.ts";

/** Node values of one forward pass (backend layout, batched). Dispose it when done. */
export interface Trace {
  /** The graph that ran. */
  graph: Graph;
  /** Node name → value, for the nodes kept. */
  values: Map<string, Tensor>;
  /**
   * The value of a node (by name or alias); throws if it was not kept.
   * @param name Node name.
   */
  get(name: string): Tensor;
  /** Release the tensors this trace owns (not the given input, overrides or base values). */
  dispose(): void;
}

/** Options for {@linkcode runForward}. */
export interface ForwardOptions {
  /**
   * Which node values to keep in the trace: `"all"`, or a list of names (the output is always kept).
   * @default "all"
   */
  keep?: "all" | string[];
  /**
   * Replace node values: the given tensors stand for those nodes' outputs, and only nodes that depend on
   * them are recomputed (the rest is read from `base`, or computed if `base` lacks it).
   */
  overrides?: Map<string, Tensor>;
  /** A previous trace to read unaffected node values from (for ablations and decompositions). */
  base?: Trace;
  /** Stop after this node (its value is kept). @default the graph output */
  until?: string;
  /**
   * Add these tensors to node outputs (used to take gradients at any node in one backward pass).
   * @internal
   */
  probes?: Map<string, Tensor>;
}

/**
 * Run the graph forward.
 *
 * @param graph The graph.
 * @param input The input batch in backend layout (NHWC for images; see {@linkcode toBackendLayout}).
 * @param options What to keep, values to override, where to stop.
 * @returns A trace of the kept node values.
 * @example
 * ```ts
 * import { runForward, tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const trace = runForward(g, tf.ones([1, 8, 8, 3]));
 * const out = trace.get(g.output);
 * if (out.shape[1] !== 3) throw new Error("3 classes expected");
 * trace.dispose();
 * g.dispose();
 * ```
 */
export function runForward(graph: Graph, input: Tensor | null, options: ForwardOptions = {}): Trace {
  const until = graph.node(options.until ?? graph.output).name;
  const overrides = new Map<string, Tensor>();
  for (const [k, v] of options.overrides ?? []) overrides.set(graph.node(k).name, v);
  const probes = new Map<string, Tensor>();
  for (const [k, v] of options.probes ?? []) probes.set(graph.node(k).name, v);
  const keepAll = (options.keep ?? "all") === "all";
  const keep = new Set<string>(keepAll ? [] : (options.keep as string[]).map((n) => graph.node(n).name));
  keep.add(until);
  const base = options.base;
  const dirty = overrides.size && base ? new Set(graph.descendants([...overrides.keys()])) : null;

  // Nodes needed to compute `until`.
  const needed = new Set([...graph.ancestors([until]), until]);
  const order = graph.nodes.filter((n) => needed.has(n.name));
  const remaining = new Map<string, number>();
  for (const n of order) for (const i of n.inputs) remaining.set(i, (remaining.get(i) ?? 0) + 1);

  const values = new Map<string, Tensor>();
  const owned = new Set<Tensor>();
  const foreign = new Set<Tensor>();
  const release = (name: string) => {
    const left = (remaining.get(name) ?? 0) - 1;
    remaining.set(name, left);
    if (left <= 0 && !keepAll && !keep.has(name)) {
      const t = values.get(name);
      if (t && owned.has(t)) {
        t.dispose();
        owned.delete(t);
      }
      values.delete(name);
    }
  };
  try {
    for (const n of order) {
      let v: Tensor;
      if (overrides.has(n.name)) {
        v = overrides.get(n.name)!;
        foreign.add(v);
      } else if (n.op === "input") {
        if (!input) {
          throw new TypeError("runForward needs an input tensor (or an override of the input node)");
        }
        v = input;
        foreign.add(v);
      } else if (base && (!dirty || !dirty.has(n.name)) && base.values.has(n.name) && !probes.size) {
        v = base.values.get(n.name)!;
        foreign.add(v);
      } else {
        const rule = getRule<ForwardRule>("forward", n.op, n.name);
        const ins = n.inputs.map((i) => values.get(i)!);
        v = tf.tidy(() => rule(n, ins));
        owned.add(v);
      }
      const p = probes.get(n.name);
      if (p) {
        v = tf.add(v, p);
        owned.add(v);
      }
      values.set(n.name, v);
      for (const i of n.inputs) release(i);
    }
  } catch (e) {
    for (const t of owned) t.dispose();
    throw e;
  }
  return makeTrace(graph, values, owned);
}

/** Wrap a value map as a {@linkcode Trace} owning `owned`. @internal */
export function makeTrace(graph: Graph, values: Map<string, Tensor>, owned: Set<Tensor>): Trace {
  return {
    graph,
    values,
    get(name: string) {
      const n = graph.node(name).name;
      const t = values.get(n);
      if (!t) throw new RangeError(`Node '${name}' was not kept in this forward pass: add it to 'keep'`);
      return t;
    },
    dispose() {
      for (const t of owned) if (!t.isDisposed) t.dispose();
      owned.clear();
      values.clear();
    },
  };
}
