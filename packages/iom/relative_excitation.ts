/**
 * Relative positive and negative excitation (PANE §6.1) of a decided output onto the input, or onto any
 * node that feeds it:
 *
 * ```
 * r-Exc⁺ = Π_{i=N..1} Exc⁺_i            r-Exc⁻ = Exc⁻_N · Π_{i=N-1..1} Exc⁺_i
 * ```
 *
 * the row of the decided output, propagated backwards as a masked VJP with the per-op rules registered
 * under kinds `excitation` and `excitation-` (see `rules/register.ts`); no matrix is ever built.
 *
 * Which layer is `N`. Ops that map each output to a single term (ReLU, LeakyReLU, max-pool, BatchNorm,
 * Flatten/Reshape, Identity) have no negative excitation, so reading `N` as "the op that produced the
 * decided node" would make r-Exc⁻ vanish whenever the decision sits after a ReLU or a Flatten. `N` is
 * therefore the first op below the decision that mixes several signed terms (gemm, conv2d, average
 * pooling, global average pooling, residual add) — the op with an `excitation-` rule. Because every
 * single-term op has one input, the ops between the decision and `N` form one chain. The walk runs
 * `Exc⁺` down that chain, applies `Exc⁺_N` and `Exc⁻_N` at `N`, stacks the two rows as a batch of two,
 * and runs one `Exc⁺` walk from `N`'s inputs to the target, so r-Exc⁺ and r-Exc⁻ share every masked
 * transpose call.
 * @module
 */
import {
  backwardWalk,
  type Decision,
  decisionNode,
  findRule,
  getRule,
  type Graph,
  runForward,
  type Tensor,
  tf,
  type Trace,
  type VjpRule,
} from "@cnnlens/core";
import { EXCITATION, NEGATIVE_EXCITATION } from "./rules/register.ts";

/** Options for {@linkcode relativeExcitation}. */
export interface RelativeExcitationOptions {
  /** The node the excitation maps onto. @default the graph input */
  to?: string;
  /** A forward trace of `input` keeping every node up to the decision (saves one forward pass). */
  trace?: Trace;
  /**
   * The positive and negative rule kinds.
   * @default ["excitation", "excitation-"]
   */
  kinds?: [string, string];
}

/** What {@linkcode relativeExcitation} returns. Dispose it when done. */
export interface RelativeExcitation {
  /** r-Exc⁺ of the decision onto the target node, `[1, …]` in the backend layout (NHWC for maps). */
  pos: Tensor;
  /** r-Exc⁻, same shape. */
  neg: Tensor;
  /** The decision's value, shape `[1]`. */
  value: Tensor;
  /** The node the decision reads. */
  decisionNode: string;
  /** The node excitation maps onto. */
  target: string;
  /**
   * The layer `N` whose negative excitation r-Exc⁻ uses, or null when no op between the decision and
   * the target mixes signed terms (then r-Exc⁻ is zero).
   */
  negativeLayer: string | null;
  /** Release the tensors. */
  dispose(): void;
}

/**
 * The layer `N` of r-Exc⁻: walk down the chain of single-term ops from the decision to the first op with
 * a negative-excitation rule.
 * @param graph The graph.
 * @param from The decision node.
 * @param target The target node.
 * @param live Nodes between target and decision.
 * @param negativeKind The negative rule kind.
 * @returns The node name, or null.
 */
export function negativeLayer(
  graph: Graph,
  from: string,
  target: string,
  live: Set<string>,
  negativeKind = NEGATIVE_EXCITATION,
): string | null {
  let n = graph.node(from).name;
  while (n !== target) {
    const node = graph.node(n);
    if (findRule(negativeKind, node.op)) return n;
    const ins = node.inputs.filter((i) => live.has(i));
    if (ins.length !== 1) return null;
    n = ins[0];
  }
  return null;
}

/**
 * r-Exc⁺ and r-Exc⁻ of a decision onto the input (or any node feeding the decision) for one input.
 *
 * The decision's row is `∂decision/∂node` at the decision node: a one-hot row for `classLogit` and
 * `neuron` decisions (the paper's case); for other decisions, the excitation is the same combination of
 * the per-unit rows (the walk is linear in the row).
 *
 * @param graph The graph.
 * @param input The input, batch of one, backend layout (`[1, H, W, C]` for images).
 * @param decision The decided output.
 * @param options Target node, a trace to reuse, rule kinds.
 * @returns The two relative excitations and where r-Exc⁻ branched.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { relativeExcitation } from "./relative_excitation.ts";
 * const g = tinyNet();
 * const r = relativeExcitation(g, tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1), classLogit(0));
 * if (r.pos.shape.join() !== "1,8,8,3" || r.negativeLayer !== "fc") throw new Error();
 * r.dispose();
 * ```
 */
export function relativeExcitation(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: RelativeExcitationOptions = {},
): RelativeExcitation {
  const [posKind, negKind] = options.kinds ?? [EXCITATION, NEGATIVE_EXCITATION];
  if (input.shape[0] !== 1) {
    throw new RangeError(
      `relativeExcitation() explains one input at a time: got a batch of ${input.shape[0]}`,
    );
  }
  const d = decisionNode(graph, decision);
  const target = graph.node(options.to ?? graph.input).name;
  const below = new Set(graph.ancestors([d]));
  if (!below.has(target)) {
    throw new RangeError(
      `Node '${target}' does not feed the decision node '${d}': excitation maps onto a node below it`,
    );
  }
  const above = new Set([...graph.descendants([target]), target]);
  const live = new Set([...below, d].filter((n) => above.has(n)));
  for (const n of graph.nodes) if (live.has(n.name) && n.name !== target) getRule(posKind, n.op, n.name);

  const trace = options.trace ?? runForward(graph, input, { keep: "all", until: d });
  try {
    const top = negativeLayer(graph, d, target, live, negKind);
    const res = tf.tidy(() => {
      const dv = trace.get(d);
      const value = tf.reshape(decision.read(dv), [1]);
      const seed = tf.grad((v: Tensor) => tf.sum(decision.read(v)))(dv);
      if (!top) {
        const pos = backwardWalk(graph, trace, new Map([[d, seed]]), { to: [target], kind: posKind })
          .get(target)!;
        return { pos, neg: tf.zerosLike(pos), value };
      }
      const atTop = top === d
        ? seed
        : backwardWalk(graph, trace, new Map([[d, seed]]), { to: [top], kind: posKind }).get(top)!;
      const node = graph.node(top);
      const ins = node.inputs.map((i) => trace.get(i));
      const needed = node.inputs.map((i) => live.has(i));
      const out = trace.get(top);
      const p = getRule<VjpRule>(posKind, node.op, top)(node, ins, out, atTop, needed);
      const q = getRule<VjpRule>(negKind, node.op, top)(node, ins, out, atTop, needed);
      const seeds = new Map<string, Tensor>();
      node.inputs.forEach((name, j) => {
        if (!needed[j] || !p[j] || !q[j]) return;
        const both = tf.concat([p[j]!, q[j]!], 0);
        const prev = seeds.get(name);
        seeds.set(name, prev ? tf.add(prev, both) : both);
      });
      if (atTop !== seed) atTop.dispose();
      // backwardWalk's results are tf.keep()-ed, so no tidy releases them: dispose explicitly.
      const walked = backwardWalk(graph, trace, seeds, { to: [target], kind: posKind }).get(target)!;
      const rows = walked.shape[0] === 2 ? walked : tf.broadcastTo(walked, [2, ...walked.shape.slice(1)]);
      const rest = rows.shape.slice(1).map(() => 0);
      const size = [1, ...rows.shape.slice(1)];
      const pos = tf.slice(rows, [0, ...rest], size);
      const neg = tf.slice(rows, [1, ...rest], size);
      walked.dispose();
      return { pos, neg, value };
    });
    return {
      ...res,
      decisionNode: d,
      target,
      negativeLayer: top,
      dispose() {
        res.pos.dispose();
        res.neg.dispose();
        res.value.dispose();
      },
    };
  } finally {
    if (!options.trace) trace.dispose();
  }
}
