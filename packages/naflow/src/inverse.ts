import type { Graph, GraphNode, Tensor, Trace } from "@cnnlens/core";
import type { LeastSquaresOptions } from "./least_squares.ts";
import type { SolveStats } from "./lsqr.ts";

/** The rule kind NAFlow registers its per-op NA-BP rules under, in the core rule registry. */
export const INVERSE_KIND = "inverse";

/** What an inverse rule may use besides the node's own values. */
export interface InverseContext {
  /** The graph the node belongs to. */
  graph: Graph;
  /** The forward trace (every value between the flow's input and its start layer). */
  trace: Trace;
  /** Tolerance, iteration cap and damping for least-squares rules. */
  solver: LeastSquaresOptions;
}

/** What an inverse rule returns. */
export interface InverseResult {
  /**
   * One back-propagated feature map per input (backend layout): for the inputs flagged `varying`, a new
   * tensor the caller owns; `null` for the others.
   */
  inputs: (Tensor | null)[];
  /** Solver statistics, for rules that solve a least-squares problem. */
  stats?: SolveStats;
}

/**
 * An `inverse` rule (NA-BP, NAFlow Eqs. 6-14): given a node, its forward inputs and output (backend
 * layout), and the back-propagated feature map `target` (`BPFM^{l+1}`, shaped like the output), return the
 * back-propagated feature maps of its inputs. `varying[i]` says whether input `i` depends on the network
 * input (the others are constants and held fixed).
 */
export type InverseRule = (
  node: GraphNode,
  inputs: Tensor[],
  output: Tensor,
  target: Tensor,
  varying: boolean[],
  ctx: InverseContext,
) => InverseResult | Promise<InverseResult>;

/**
 * The index of the one varying input of a single-input rule.
 * @param node The node.
 * @param varying Which inputs vary.
 * @returns The index.
 * @example
 * ```ts
 * import type { GraphNode } from "@cnnlens/core";
 * import { soleVarying } from "@cnnlens/naflow";
 * const node: GraphNode = { name: "a", op: "add", inputs: ["x", "c"], attrs: {}, params: {}, shape: [1] };
 * if (soleVarying(node, [false, true]) !== 1) throw new Error();
 * ```
 */
export function soleVarying(node: GraphNode, varying: boolean[]): number {
  const idx = varying.flatMap((v, i) => v ? [i] : []);
  if (idx.length !== 1) {
    throw new RangeError(
      `NAFlow's ${node.op} rule at node '${node.name}' inverts one varying input, got ${idx.length}`,
    );
  }
  return idx[0];
}

/**
 * Wrap a single-input element of an inverse result.
 * @param n Number of inputs.
 * @param i Index of the varying input.
 * @param t Its back-propagated feature map.
 * @returns The inputs array.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { only } from "@cnnlens/naflow";
 * const t = tf.scalar(1);
 * if (only(3, 1, t)[1] !== t || only(3, 1, t)[0] !== null) throw new Error();
 * t.dispose();
 * ```
 */
export function only(n: number, i: number, t: Tensor): (Tensor | null)[] {
  const out: (Tensor | null)[] = new Array(n).fill(null);
  out[i] = t;
  return out;
}
