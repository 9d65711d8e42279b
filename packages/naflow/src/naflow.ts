import {
  backwardWalk,
  type Decision,
  decisionNode,
  getRule,
  type GradientResult,
  gradients,
  type Graph,
  type Tensor,
  tf,
  toNCHW,
} from "@cnnlens/core";
import "./rules/register.ts";
import { INVERSE_KIND, type InverseContext, type InverseRule } from "./inverse.ts";
import { leastSquaresInverse, type LeastSquaresOptions } from "./least_squares.ts";
import type { SolveStats } from "./lsqr.ts";
import { type ChainUnit, pathNodes, segmentChain } from "./segment.ts";
import { NAFLOW_VJP_KIND } from "./conv_transpose.ts";
import { contributionDecision } from "./similarity.ts";
import { withFlowCache } from "./flow_cache.ts";

/**
 * The least-squares settings {@linkcode naflow} uses unless told otherwise: Tikhonov damping at the
 * layer's RMS gain, stopped at a relative tolerance of 3·10⁻³ or 20 iterations (measured on ResNet-18 in
 * the README: the maps are then within Pearson 0.999 of the converged solve; `damping: 0` is the literal
 * pseudo-inverse of Eqs. 6-10, which real networks make too ill-conditioned to converge).
 */
export const NAFLOW_SOLVER_DEFAULTS: Readonly<Required<LeastSquaresOptions>> = {
  damping: 1,
  tolerance: 3e-3,
  maxIterations: 20,
};

/**
 * Options for {@linkcode naflow}. The solver fields default to {@linkcode NAFLOW_SOLVER_DEFAULTS}
 * (`damping` 1, `tolerance` 3e-3, `maxIterations` 20).
 */
export interface NAFlowOptions extends LeastSquaresOptions {
  /**
   * The layer the flow starts from (`BPFM^{N+1} = A^{N+1}`, `Λ^{N+1} = ∂y/∂A^{N+1}`).
   * @default the last spatial feature map (H·W > 1) the decision depends on (for a classifier: the map
   * that feeds global pooling, `graph.lastSpatialNode()`)
   */
  layer?: string;
  /** Also give the network input a map (`L^1`; costs one more least-squares solve at full resolution). @default false */
  includeInput?: boolean;
  /** Give the layers inside blocks (residual branches, attention gates) maps too. @default true */
  innerLayers?: boolean;
  /** Return every layer's back-propagated feature map and importance coefficients (CHW). @default false */
  keepFeatureMaps?: boolean;
  /** Called with each layer as soon as its map is read out (deep to shallow), for streaming consumers. */
  onLayer?: (layer: FlowLayer) => void;
}

/**
 * How a layer's back-propagated feature map was obtained: `start` (the start layer, `BPFM = A`), `rule`
 * (its consumer's per-op NA-BP rule), `block` (its consumer block inverted as one linearised layer),
 * `split` (an input of a join inside a block: the proportional split).
 */
export type FlowVia = "start" | "rule" | "block" | "split";

/** One layer of the flow. */
export interface FlowLayer {
  /** Node name. */
  name: string;
  /** The node's op. */
  op: string;
  /** Per-sample shape [C, H, W] (NCHW terms). */
  shape: number[];
  /** The attention map `L^l` (Eq. 2), H × W row-major at the layer's own resolution. */
  map: Float32Array;
  /**
   * Relative residual `‖J δ − (y' − y)‖ / ‖y' − y‖` of the least-squares solve that produced this layer's
   * BPFM (how much of the deeper map it does not reproduce); `null` where an exact rule produced it.
   */
  residual: number | null;
  /** LSQR iterations of that solve (0 for exact rules). */
  iterations: number;
  /** Whether that solve met its tolerance (true for exact rules). */
  converged: boolean;
  /** How the BPFM was obtained. */
  via: FlowVia;
  /** The node (or block output) whose NA-BP produced this layer's BPFM. */
  unit: string;
  /** True for layers inside a block (off the main chain). */
  inner: boolean;
  /** `BPFM^l`, C × H × W (only with `keepFeatureMaps`). */
  bpfm?: Float32Array;
  /** `Λ^l`, C × H × W (only with `keepFeatureMaps`). */
  coefficients?: Float32Array;
}

/** What {@linkcode naflow} returns. */
export interface NAFlowResult {
  /** The flow, shallow to deep (topological order), ending with the start layer. */
  layers: FlowLayer[];
  /** The start layer's name. */
  start: string;
  /** The explained decision and its value. */
  decision: { label: string; value: number };
  /** Total LSQR iterations over every least-squares solve. */
  iterations: number;
  /** Number of least-squares solves. */
  solves: number;
}

/**
 * The layer a flow starts from by default: the last spatial feature map (H·W > 1) among the decision
 * node and its ancestors.
 * @param graph The graph.
 * @param node The decision's node.
 * @returns The node name.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { startLayer } from "@cnnlens/naflow";
 * const g = tinyNet();
 * if (startLayer(g, g.output) !== g.lastSpatialNode().name) throw new Error("the map that feeds GAP");
 * if (startLayer(g, "conv2") !== "conv2") throw new Error("a spatial decision node starts at itself");
 * g.dispose();
 * ```
 */
export function startLayer(graph: Graph, node: string): string {
  const cands = [...graph.ancestors([node]), graph.node(node).name]
    .map((n) => graph.node(n))
    .filter((n) =>
      n.shape.length === 3 && n.shape[1] * n.shape[2] > 1 && n.op !== "input" && n.op !== "const"
    );
  if (!cands.length) {
    throw new RangeError(`Node '${node}' depends on no spatial feature map to start a flow from`);
  }
  return cands[cands.length - 1].name;
}

/** Where a BPFM came from. */
interface Origin {
  stats: SolveStats | null;
  via: FlowVia;
  unit: string;
}

/** A BPFM and where it came from. */
interface Produced extends Origin {
  value: Tensor;
}

/**
 * NAFlow (Liao, Gao & Zhang): one attention map per layer, from the start layer back to the first layer,
 * with the neurons the decision did not use abandoned. As METHODS.md reads the paper:
 *
 * - the graph between the input and the start layer is cut into units (chain segmentation,
 *   {@linkcode segmentChain}): single layers, and blocks from a fork to its join;
 * - `BPFM^{N+1} = A^{N+1}` at the start layer; going shallower, each unit's NA-BP rule (the core registry's
 *   `inverse` rules: BN Eq. 11, ReLU Eq. 12, LeakyReLU Eq. 13, max-pool Eq. 14, least squares Eqs. 6-10 for
 *   convolutions, linear layers, and blocks as one linearised layer) turns its output's BPFM into its
 *   input's; inside a block, the join splits its BPFM between its inputs in proportion to their forward
 *   values and each branch is walked the same way;
 * - `Λ^l = J_lᵀ Λ^{l+1}` (Eq. 16 as the cascaded Jacobian) is the gradient of the decision at every layer,
 *   from one `gradients()` call; similarity decisions use Eq. 17/21 ({@linkcode contributionDecision});
 * - `L^l = ReLU(Σ_d Λ^l_d ⊙ BPFM^l_d)` (Eq. 2).
 *
 * Streaming: maps are read out layer by layer, deep to shallow, and each layer's coefficients and the
 * forward values of units already inverted are released as soon as the walk passes them.
 *
 * @param graph The model.
 * @param input One input in backend layout, [1, H, W, C].
 * @param decision What to explain (a core decision: class logit, probability, neuron, similarity).
 * @param options Start layer, solver tolerance and iteration cap, what to return.
 * @returns The flow.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { naflow } from "@cnnlens/naflow";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const flow = await naflow(g, x, classLogit(0));
 * // conv1, relu1, pool1, conv2, bn2, relu2 — shallow to deep, ending with the last spatial layer
 * if (flow.layers.map((l) => l.name).join() !== "conv1,relu1,pool1,conv2,bn2,relu2") throw new Error();
 * if (flow.layers[0].map.length !== 8 * 8) throw new Error("maps at the layer's resolution");
 * x.dispose();
 * g.dispose();
 * ```
 */
export function naflow(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: NAFlowOptions = {},
): Promise<NAFlowResult> {
  return withFlowCache(() => flow(graph, input, decision, options));
}

async function flow(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: NAFlowOptions,
): Promise<NAFlowResult> {
  if (input.rank !== 4 || input.shape[0] !== 1) {
    throw new RangeError(`naflow() explains one input of shape [1, H, W, C], got [${input.shape}]`);
  }
  const dnode = decisionNode(graph, decision);
  const start = options.layer ? graph.node(options.layer).name : startLayer(graph, dnode);
  const startShape = graph.node(start).shape;
  if (startShape.length !== 3) {
    throw new RangeError(`The flow's start layer '${start}' is not a feature map: shape [${startShape}]`);
  }
  if (start !== dnode && !graph.ancestors([dnode]).includes(start)) {
    throw new RangeError(`The decision (node '${dnode}') does not depend on the start layer '${start}'`);
  }
  const includeInput = options.includeInput ?? false;
  const innerLayers = options.innerLayers ?? true;
  const solver: LeastSquaresOptions = {
    tolerance: options.tolerance ?? NAFLOW_SOLVER_DEFAULTS.tolerance,
    maxIterations: options.maxIterations ?? NAFLOW_SOLVER_DEFAULTS.maxIterations,
    damping: options.damping ?? NAFLOW_SOLVER_DEFAULTS.damping,
  };

  // Which layers get maps: every spatial node (H·W > 1) on the chain from the input to the start layer,
  // plus (innerLayers) every spatial node inside its blocks.
  const units = segmentChain(graph, graph.input, start);
  const chain = new Set([graph.input, ...units.map((u) => u.to)]);
  const relevant = pathNodes(graph, graph.input, start);
  const mapNodes = new Set(relevant.filter((n) => {
    const node = graph.node(n);
    if (node.shape.length !== 3 || node.shape[1] * node.shape[2] <= 1) return false;
    if (n === graph.input) return includeInput;
    return chain.has(n) || innerLayers;
  }));
  mapNodes.add(start);
  const order = new Map(graph.nodes.map((n, i) => [n.name, i]));

  // Λ^{N+1} = ∂y/∂A^{N+1} (Eq. 15; Eq. 21 for similarity decisions) and the forward values of every layer,
  // from one forward pass and the backward pass of the head only (what one Grad-CAM costs).
  const grad: GradientResult = gradients(
    graph,
    input,
    contributionDecision(decision),
    [start],
    [...graph.ancestors([start]), start],
  );
  const trace = grad.trace;
  const ctx: InverseContext = { graph, trace, solver };
  const layers = new Map<string, FlowLayer>();
  // Λ^l of the nodes the walk has reached and still needs (backend layout).
  const coeff = new Map<string, Tensor>([[start, grad.grads.get(start)!]]);
  grad.grads.delete(start);
  let iterations = 0;
  let solves = 0;

  const emit = async (name: string, bpfm: Tensor, how: Origin | null) => {
    if (layers.has(name) || !mapNodes.has(name)) return;
    const lambda = coeff.get(name)!;
    // Eq. 2: L^l = ReLU(Σ_d Λ^l_d ⊙ BPFM^l_d).
    const m = tf.tidy(() => tf.relu(tf.sum(tf.mul(lambda, bpfm), -1)));
    const map = Float32Array.from(await m.data() as Float32Array);
    m.dispose();
    const node = graph.node(name);
    const layer: FlowLayer = {
      name,
      op: node.op,
      shape: [...node.shape],
      map,
      residual: how?.stats ? how.stats.residual : null,
      iterations: how?.stats?.iterations ?? 0,
      converged: how?.stats?.converged ?? true,
      via: how?.via ?? "start",
      unit: how?.unit ?? name,
      inner: !chain.has(name),
    };
    if (options.keepFeatureMaps) {
      const [b, l] = [toNCHW(bpfm), toNCHW(lambda)];
      layer.bpfm = Float32Array.from(await b.data() as Float32Array);
      layer.coefficients = Float32Array.from(await l.data() as Float32Array);
      b.dispose();
      l.dispose();
    }
    layers.set(name, layer);
    options.onLayer?.(layer);
  };

  // Eq. 16 as the cascaded Jacobian: Λ^l = J_lᵀ Λ^{l+1}, for a unit's input and the map layers inside it,
  // by one reverse walk over the unit (convolutions transposed as forward convolutions).
  const cascade = (u: ChainUnit, from: boolean, inner: boolean) => {
    const to = [...(from ? [u.from] : []), ...(inner ? u.inner.filter((n) => mapNodes.has(n)) : [])];
    if (!to.length) return;
    const got = backwardWalk(graph, trace, new Map([[u.to, coeff.get(u.to)!]]), {
      to,
      kind: NAFLOW_VJP_KIND,
    });
    for (const [n, t] of got) coeff.set(n, t);
  };

  const count = (stats: SolveStats | undefined | null) => {
    if (!stats) return;
    solves++;
    iterations += stats.iterations;
  };

  // The NA-BP of one unit: its output's BPFM → its input's.
  const invert = async (u: ChainUnit, target: Tensor): Promise<Produced> => {
    if (u.block) {
      const r = await leastSquaresInverse(graph, trace, u.from, u.to, target, solver);
      count(r.stats);
      return { value: r.value, stats: r.stats, via: "block", unit: u.to };
    }
    const node = graph.node(u.to);
    const varying = node.inputs.map((i) => i === u.from);
    const rule = getRule<InverseRule>(INVERSE_KIND, node.op, node.name);
    const res = await rule(
      node,
      node.inputs.map((i) => trace.get(i)),
      trace.get(node.name),
      target,
      varying,
      ctx,
    );
    count(res.stats);
    const i = varying.indexOf(true);
    res.inputs.forEach((t, j) => j !== i && t?.dispose());
    let value = res.inputs[i]!;
    if (value === target) value = value.clone();
    return { value, stats: res.stats ?? null, via: "rule", unit: node.name };
  };

  // Inner maps of a block: split y' at the join, then walk every branch that holds a map layer.
  const splitBlock = async (u: ChainUnit, target: Tensor) => {
    const join = graph.node(u.to);
    const inner = new Set(u.inner);
    const varying = join.inputs.map((i) => i === u.from || inner.has(i));
    const rule = getRule<InverseRule>(INVERSE_KIND, join.op, join.name);
    const res = await rule(
      join,
      join.inputs.map((i) => trace.get(i)),
      trace.get(join.name),
      target,
      varying,
      ctx,
    );
    count(res.stats);
    const shares = res.inputs.slice();
    try {
      const walked = new Set<string>();
      for (let j = 0; j < join.inputs.length; j++) {
        const i = join.inputs[j];
        const share = shares[j];
        if (!share || !inner.has(i) || walked.has(i)) continue;
        walked.add(i);
        const branch = pathNodes(graph, u.from, i).slice(1);
        if (!branch.some((n) => mapNodes.has(n))) continue;
        shares[j] = null;
        const own = share === target ? share.clone() : share;
        await walk(u.from, i, own, { stats: res.stats ?? null, via: "split", unit: join.name }, false);
      }
    } finally {
      shares.forEach((t) => t && t !== target && t.dispose());
    }
  };

  // Release what the walk no longer needs once a main-chain unit is inverted: forward values of its
  // output and inner nodes, and any coefficients left there.
  const release = (u: ChainUnit) => {
    for (const n of [u.to, ...u.inner]) {
      const v = trace.values.get(n);
      if (v && v !== input) {
        v.dispose();
        trace.values.delete(n);
      }
      coeff.get(n)?.dispose();
      coeff.delete(n);
    }
  };

  // Walk the chain from `sink` back towards `source`, owning `bpfm` (the sink's BPFM).
  const walk = async (
    source: string,
    sink: string,
    bpfm: Tensor,
    how: Origin | null,
    main: boolean,
  ): Promise<void> => {
    let cur: Tensor | null = bpfm;
    try {
      await emit(sink, cur, how);
      const segs = segmentChain(graph, source, sink);
      const nodes = pathNodes(graph, source, sink);
      // The shallowest position that still needs a BPFM (a map layer), not counting a branch's source.
      const pos = new Map(nodes.map((n, i) => [n, i]));
      const needed = nodes.filter((n) => mapNodes.has(n) && !layers.has(n) && (main || n !== source));
      const shallowest = needed.length ? Math.min(...needed.map((n) => pos.get(n)!)) : Infinity;
      for (let k = segs.length - 1; k >= 0; k--) {
        const u = segs[k];
        const needFrom = pos.get(u.from)! >= shallowest && (main || u.from !== source);
        const needInner = u.block && innerLayers && u.inner.some((n) => mapNodes.has(n));
        // Coefficients for the whole unit come with the main chain's walk (nested walks find them there).
        if (main) cascade(u, needFrom, needInner);
        const next: Produced | null = needFrom ? await invert(u, cur!) : null;
        try {
          if (needInner) await splitBlock(u, cur!);
        } catch (e) {
          next?.value.dispose();
          throw e;
        }
        cur!.dispose();
        cur = null;
        if (main) release(u);
        if (!next) break;
        cur = next.value;
        await emit(u.from, next.value, next);
      }
    } finally {
      cur?.dispose();
    }
  };

  try {
    const value = tf.tidy(() => decision.read(trace.get(dnode)));
    const v = (await value.data())[0];
    value.dispose();
    await walk(graph.input, start, tf.clone(trace.get(start)), null, true);
    return {
      layers: [...layers.values()].sort((a, b) => order.get(a.name)! - order.get(b.name)!),
      start,
      decision: { label: decision.label, value: v },
      iterations,
      solves,
    };
  } finally {
    for (const t of coeff.values()) t.dispose();
    grad.dispose();
  }
}
