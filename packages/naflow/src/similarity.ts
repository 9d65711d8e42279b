import { type Decision, type Tensor, tf } from "@cnnlens/core";

/** The identity with a zero gradient (tfjs has no built-in stop-gradient). */
const stopGradient = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as Tensor),
  gradFunc: (dy: Tensor | Tensor[]) => tf.zerosLike(dy as Tensor),
})) as (x: Tensor) => Tensor;

/**
 * The decision NAFlow differentiates for a similarity model (NAFlow Eqs. 17, 20, 21, as METHODS.md reads
 * them): the channel contribution weights `ω_d = v^Q_d v^S_d / |Σ_d v^Q_d v^S_d|` summed over `d`, with the
 * denominator held constant (stop-gradient; otherwise the sum is ±1 and its gradient vanishes).
 *
 * - `v^Q` is the query embedding: the value of the decision's node (default the graph output), flattened,
 *   for the explained input.
 * - `v^S` is a support embedding: a row of the decision's reference matrix `[K, D]` (e.g. the embedding
 *   of the matched support image, computed by the caller with the same network). With `K > 1`, the
 *   contributions of the K supports are averaged (as the core's `cosineSimilarity` averages).
 * - cosine similarity: `Λ = ∂(v^Q·v^S)/∂A / |v^Q·v^S|` (the norms cancel between numerator and
 *   denominator, Eq. 20); negative squared Euclidean distance: the same reading with per-channel
 *   contributions `−(v^Q_d − v^S_d)²`, i.e. `Λ = ∂(−‖v^Q − v^S‖²)/∂A / ‖v^Q − v^S‖²`.
 *
 * Any other decision is returned unchanged (class logits, probabilities, neurons: Eq. 15, `Λ = ∂y^c/∂A`).
 *
 * @param decision A core decision.
 * @returns The decision whose gradient is NAFlow's importance coefficient `Λ`.
 * @example
 * ```ts
 * import { cosineSimilarity, tf } from "@cnnlens/core";
 * import { contributionDecision } from "@cnnlens/naflow";
 * const support = tf.tensor2d([[1, 2]]);
 * const d = contributionDecision(cosineSimilarity(support));
 * // Σ_d ω_d = sign(v^Q·v^S) = 1; its gradient is v^S / |v^Q·v^S| = (1, 2)/11.
 * const g = tf.grad((v: tf.Tensor) => tf.sum(d.read(v)))(tf.tensor2d([[3, 4]]));
 * const gv = await g.data();
 * if (Math.abs(gv[0] - 1 / 11) > 1e-6 || Math.abs(gv[1] - 2 / 11) > 1e-6) throw new Error("Eq. 21");
 * [support, g].forEach((t) => t.dispose());
 * ```
 */
export function contributionDecision(decision: Decision): Decision {
  const sim = decision.similarity;
  if (decision.kind !== "similarity" || !sim) return decision;
  const refs = sim.references;
  return {
    node: decision.node,
    label: `channel contributions (Eq. 17) of ${decision.label}`,
    kind: "similarity",
    similarity: sim,
    read: (v) => {
      const q = tf.reshape(v, [v.shape[0], -1]); // v^Q, [N, D]
      const s = refs.rank === 1 ? tf.reshape(refs, [1, -1]) : tf.reshape(refs, [refs.shape[0], -1]); // v^S, [K, D]
      const total = sim.metric === "cosine"
        // Σ_d v^Q_d v^S_d for every support: [N, K]
        ? tf.matMul(q, s, false, true)
        // Σ_d −(v^Q_d − v^S_d)²: [N, K]
        : tf.neg(tf.sum(tf.square(tf.sub(tf.expandDims(q, 1), tf.expandDims(s, 0))), 2));
      // Eq. 17/21: Σ_d ω_d with |Σ_d …| held constant, averaged over supports.
      return tf.mean(tf.div(total, tf.maximum(stopGradient(tf.abs(total)), 1e-30)), 1);
    },
  };
}
