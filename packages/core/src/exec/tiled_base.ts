import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import type { Trace } from "./forward.ts";

/** What {@linkcode tiledBase} returns. */
export interface TiledBase {
  /** `base`'s values with the frontier tiled; its `dispose()` releases only the tiled copies. */
  trace: Trace;
  /** Whether the recomputed part reads the graph input directly (then pass a tiled input to runForward). */
  readsInput: boolean;
}

/**
 * A base trace for running a stack of `n` overrides of `layer` at once: `runForward(graph, input, {
 * overrides: [[layer, stacked]], base: trace, until })` recomputes only `layer`'s descendants up to `until`,
 * and those read some values from outside that part (residual shortcuts, attention gates' inputs, …). Here
 * those values are `base`'s, tiled `n` times along the batch axis; every other value is `base`'s own.
 * Constant nodes are not tiled (they broadcast), nor is the graph input (`runForward` takes it as an
 * argument: tile it yourself when `readsInput`).
 * @param graph The graph.
 * @param base A trace of the original batch that kept the values the recomputed part reads.
 * @param layer The overridden node.
 * @param until The last node to compute.
 * @param n How many overrides are stacked (batch multiple).
 * @returns The tiled trace and whether the input is read.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf, tiledBase } from "@cnnlens/core";
 * const b = new GraphBuilder([2, 4, 4]);
 * const c = b.conv("c", b.inputName, { out: 2, pad: 1 });
 * const g = b.build(b.op("add", "add", [b.conv("d", c, { out: 2, pad: 1 }), c])); // the shortcut reads c
 * const x = tf.randomNormal([1, 4, 4, 2]);
 * const base = runForward(g, x);
 * const { trace, readsInput } = tiledBase(g, base, "d", "add", 3);
 * const three = tf.concat([base.get("d"), tf.zerosLike(base.get("d")), base.get("d")]);
 * const run = runForward(g, x, { overrides: new Map([["d", three]]), base: trace });
 * const out = run.get("add");
 * if (out.shape[0] !== 3 || readsInput) throw new Error();
 * tf.dispose([x, three]);
 * [run, base, trace].forEach((t) => t.dispose());
 * g.dispose();
 * ```
 */
export function tiledBase(graph: Graph, base: Trace, layer: string, until: string, n: number): TiledBase {
  const l = graph.node(layer).name;
  const upto = new Set([...graph.ancestors([until]), graph.node(until).name]);
  const dirty = new Set(graph.descendants([l]).filter((d) => upto.has(d)));
  const frontier = new Set<string>();
  for (const d of dirty) {
    for (const i of graph.node(d).inputs) if (!dirty.has(i) && i !== l) frontier.add(i);
  }
  const values = new Map(base.values);
  const owned: Tensor[] = [];
  if (n !== 1) {
    for (const f of frontier) {
      if (f === graph.input || graph.node(f).op === "const") continue;
      const v = base.values.get(f);
      if (!v) {
        throw new RangeError(
          `The base trace lacks node '${f}': run it with keep: "all" (the default of runForward)`,
        );
      }
      const t = tf.tile(v, [n, ...Array(v.rank - 1).fill(1)]);
      owned.push(t);
      values.set(f, t);
    }
  }
  const trace: Trace = {
    graph,
    values,
    get(name: string) {
      const t = values.get(graph.node(name).name);
      if (!t) throw new RangeError(`Node '${name}' was not kept in this forward pass: add it to 'keep'`);
      return t;
    },
    dispose() {
      for (const t of owned) t.dispose();
      owned.length = 0;
    },
  };
  return { trace, readsInput: frontier.has(graph.input) };
}
