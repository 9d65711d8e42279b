import { backwardWalk, type Graph, jvpWalk, type Tensor, tf, type Trace } from "@cnnlens/core";
import { lsqr, type LsqrOptions, type SolveStats } from "./lsqr.ts";
import { NAFLOW_VJP_KIND } from "./conv_transpose.ts";

/** Solver options of {@linkcode leastSquaresInverse}. */
export interface LeastSquaresOptions extends Omit<LsqrOptions, "damp"> {
  /**
   * Tikhonov damping relative to the layer's typical gain: `λ = damping·σ̄`, with `σ̄² = ‖J‖²_F / p` (the
   * mean squared singular value, estimated from one product `J z` with a ±1 probe `z`). 0 solves the
   * undamped problem (exactly Eqs. 6-10).
   * @default 0 here; `naflow()` uses 1 (see `NAFLOW_SOLVER_DEFAULTS`)
   */
  damping?: number;
}

/** What {@linkcode leastSquaresInverse} returns. */
export interface LeastSquaresInverse {
  /** The back-propagated feature map of `from` (backend layout; caller disposes). */
  value: Tensor;
  /** How the solve went. */
  stats: SolveStats;
}

/**
 * NA-BP of a convolution, a linear layer, or any block (NAFlow Eqs. 6-10 in METHODS.md's reading): the
 * map of the block's input `A = value(from)` that reproduces the back-propagated output
 * `y' = target` of `y = value(to)`, closest to the forward activation,
 *
 * `x = A + J⁺ (y' − y)`, with `J = ∂y/∂A` at the forward point.
 *
 * - `q ≥ p` with full column rank (Eq. 6/8): the least-squares solution, exactly `W_p⁻¹(y − b)` when
 *   square, since `A + J⁻¹(y' − J A − b) = J⁻¹(y' − b)`.
 * - `q < p` (stride-2 convolutions, Eqs. 7/9/10): the minimum-norm correction of `A` that reproduces `y'`.
 * - a block whose inside is not a chain (a residual block, an attention gate): the same, with `J` the
 *   block's Jacobian at the forward point (masks of its ReLUs and max-pools frozen).
 *
 * With `damping > 0` the pseudo-inverse is regularised (Tikhonov): `x = A + (JᵀJ + λ²I)⁻¹Jᵀ(y' − y)`.
 *
 * `J` is never formed: `J v` runs the core `jvpWalk` over the node or block and `Jᵀ u` the core
 * `backwardWalk` (kind {@linkcode NAFLOW_VJP_KIND}: the core `vjp` rules with convolutions transposed by a
 * forward convolution), inside LSQR.
 *
 * @param graph The graph.
 * @param trace A forward trace holding every node between `from` and `to`.
 * @param from The layer (or block) input node.
 * @param to The layer (or block) output node.
 * @param target `y'`, shaped like `value(to)` (caller keeps ownership).
 * @param options Tolerance, iteration cap, damping.
 * @returns The back-propagated map of `from` and the solver statistics.
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { leastSquaresInverse } from "@cnnlens/naflow";
 * const b = new GraphBuilder([2, 4, 4], 3);
 * const g = b.build(b.conv("conv", b.inputName, { out: 4, k: 3 }));
 * const x = tf.randomNormal([1, 4, 4, 2], 0, 1, "float32", 5);
 * const tr = runForward(g, x);
 * // At the forward point (y' = y) the inverse returns the forward input itself.
 * const r = await leastSquaresInverse(g, tr, "input", "conv", tr.get("conv"));
 * const err = tf.max(tf.abs(tf.sub(r.value, x)));
 * if ((await err.data())[0] !== 0 || r.stats.iterations !== 0) throw new Error("x = A when y' = y");
 * [x, err, r.value].forEach((t) => t.dispose());
 * tr.dispose();
 * g.dispose();
 * ```
 */
export async function leastSquaresInverse(
  graph: Graph,
  trace: Trace,
  from: string,
  to: string,
  target: Tensor,
  options: LeastSquaresOptions = {},
): Promise<LeastSquaresInverse> {
  const a = trace.get(from);
  const y = trace.get(to);
  const apply = (v: Tensor) => jvpWalk(graph, trace, new Map([[from, v]]), { to });
  const applyT = (u: Tensor) => {
    const got = backwardWalk(graph, trace, new Map([[to, u]]), { to: [from], kind: NAFLOW_VJP_KIND });
    // backwardWalk's results are tf.keep()-ed (they escape every tidy scope): hand back a tracked clone.
    const g = got.get(graph.node(from).name)!;
    const out = tf.clone(g);
    g.dispose();
    return out;
  };
  const r = tf.sub(target, y);
  try {
    let damp = 0;
    if (options.damping) {
      // Hutchinson: E‖J z‖² = ‖J‖²_F for a probe with E[z zᵀ] = I; a ±1 sequence sign(sin(i)) is
      // made on the device, where a random tensor costs more than the product.
      const z = tf.tidy(() => tf.reshape(tf.sign(tf.sin(tf.add(tf.range(0, a.size), 0.5))), a.shape));
      const jz = apply(z);
      const n = tf.tidy(() => tf.div(tf.norm(jz), tf.norm(z)));
      const gain = (await n.data())[0];
      [z, jz, n].forEach((t) => t.dispose());
      damp = options.damping * gain;
    }
    const res = await lsqr(apply, applyT, r, {
      tolerance: options.tolerance,
      maxIterations: options.maxIterations,
      damp,
    });
    const value = tf.add(a, res.x);
    res.x.dispose();
    const { x: _x, ...stats } = res;
    return { value, stats };
  } finally {
    r.dispose();
  }
}
