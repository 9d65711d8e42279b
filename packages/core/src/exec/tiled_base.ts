import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { Graph } from "../graph/graph.ts";
import type { Trace } from "./forward.ts";

/** What {@linkcode tiledBase} returns. */
export interface TiledBase {
  /** `base`'s values with the frontier tiled (pass it as `runForward`'s `base`; it owns nothing). */
  trace: Trace;
  /** The input to pass to `runForward`: tiled `n` times when the recomputed part reads it, else `input`. */
  input: Tensor;
  /** Release the tiled copies (values and input), never `base`'s own values or `input`. */
  dispose(): void;
}

/**
 * A base trace for running a stack of `n` overrides of `layer` at once: `runForward(graph, tiled.input, {
 * overrides: [[layer, stacked]], base: tiled.trace, until })` recomputes only `layer`'s descendants up to
 * `until`, and those read some values from outside that part (residual shortcuts, attention gates' inputs,
 * the input itself). Here those values are `base`'s, tiled `n` times along the batch axis; every other value
 * is `base`'s own. Constant nodes are not tiled (they broadcast).
 * @param graph The graph.
 * @param base A trace of the original batch that kept the values the recomputed part reads.
 * @param input The original batch's input.
 * @param layer The overridden node.
 * @param until The last node to compute.
 * @param n How many overrides are stacked (batch multiple).
 * @returns The tiled trace and input, and their release.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf, tiledBase } from "@cnnlens/core";
 * const b = new GraphBuilder([2, 4, 4]);
 * const c = b.conv("c", b.inputName, { out: 2, pad: 1 });
 * const g = b.build(b.op("add", "add", [b.conv("d", c, { out: 2, pad: 1 }), c])); // the shortcut reads c
 * const x = tf.randomNormal([1, 4, 4, 2]);
 * const base = runForward(g, x);
 * const tiled = tiledBase(g, base, x, "d", "add", 3);
 * const three = tf.concat([base.get("d"), tf.zerosLike(base.get("d")), base.get("d")]);
 * const run = runForward(g, tiled.input, { overrides: new Map([["d", three]]), base: tiled.trace });
 * if (run.get("add").shape[0] !== 3 || tiled.input !== x) throw new Error();
 * tf.dispose([x, three]);
 * [run, base, tiled].forEach((t) => t.dispose());
 * g.dispose();
 * ```
 */
export function tiledBase(
  graph: Graph,
  base: Trace,
  input: Tensor,
  layer: string,
  until: string,
  n: number,
): TiledBase {
  const l = graph.node(layer).name;
  const upto = new Set([...graph.ancestors([until]), graph.node(until).name]);
  const dirty = new Set(graph.descendants([l]).filter((d) => upto.has(d)));
  const frontier = new Set<string>();
  for (const d of dirty) {
    for (const i of graph.node(d).inputs) if (!dirty.has(i) && i !== l) frontier.add(i);
  }
  const values = new Map(base.values);
  const owned: Tensor[] = [];
  const tile = (v: Tensor) => {
    const t = tf.tile(v, [n, ...Array(v.rank - 1).fill(1)]);
    owned.push(t);
    return t;
  };
  let x = input;
  for (const f of n === 1 ? [] : frontier) {
    if (graph.node(f).op === "const") continue;
    if (f === graph.input) {
      x = tile(input);
      continue;
    }
    const v = base.values.get(f);
    if (!v) {
      tf.dispose(owned);
      throw new RangeError(
        `The base trace lacks node '${f}': run it with keep: "all" (the default of runForward)`,
      );
    }
    values.set(f, tile(v));
  }
  const trace: Trace = {
    graph,
    values,
    get(name: string) {
      const t = values.get(graph.node(name).name);
      if (!t) throw new RangeError(`Node '${name}' was not kept in this forward pass: add it to 'keep'`);
      return t;
    },
    dispose() {},
  };
  return {
    trace,
    input: x,
    dispose() {
      for (const t of owned) t.dispose();
      owned.length = 0;
    },
  };
}
