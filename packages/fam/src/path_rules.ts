/**
 * `fam-path` rules: how contribution weights computed on an embedding node map back, node by node, to the
 * channels of the explained feature map (FAM Eqs. 16-18 for a transformation module). Registered in the
 * core rule registry under kind {@linkcode FAM_PATH}, one rule per op, like the core's `vjp` rules: the
 * method walks from the embedding node to the layer and asks the registry, so an op without a rule (a
 * ReLU inside an MLP head, an addition) is a `MissingRuleError` naming the op and node.
 *
 * State between rules: contributions per *channel* of the current node, `[M, C]` for M explanations,
 * where the channels of a feature map `[C, H, W]` are its `C` maps and those of a vector `[F]` its `F`
 * entries.
 * @module
 */
import { registerRule, tf } from "@cnnlens/core";
import type { GraphNode, Tensor } from "@cnnlens/core";

/** The rule kind FAM registers. */
export const FAM_PATH = "fam-path";

/**
 * A `fam-path` rule: given the node, its input's per-sample NCHW shape and the contributions per channel
 * of its output `[M, C_out]`, the contributions per channel of its input `[M, C_in]`. Called with
 * `c = null` to validate the node before any forward pass (then it throws or returns null).
 */
export type FamPathRule = (node: GraphNode, inputShape: number[], c: Tensor | null) => Tensor | null;

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const isMap = (s: number[]) => s.length === 3 && s[1] * s[2] > 1;

/**
 * Per-entry contributions of a flat value `[M, prod(inputShape)]` (NCHW order) summed per channel of a
 * value of `inputShape`: `c_n = Σ_{i,j} c_{n,i,j}` (the score is additive over entries).
 * @param c Per-entry contributions.
 * @param inputShape Per-sample NCHW shape.
 * @returns `[M, inputShape[0]]`.
 */
export function sumPerChannel(c: Tensor, inputShape: number[]): Tensor {
  if (inputShape.length < 2 || prod(inputShape) === inputShape[0]) return c;
  return tf.sum(tf.reshape(c, [c.shape[0], inputShape[0], -1]), 2);
}

const passThrough: FamPathRule = (_n, _s, c) => c;

const globalPool: FamPathRule = (_n, _s, c) => c; // z_n = p(A^n) keeps the channels (FAM §IV-B)

const spatialReduce: FamPathRule = (n, s, c) => {
  // A reduction over H and/or W keeps the channels, like a global pool.
  const rank = s.length + 1;
  const axes = (n.attrs.axes ?? [...Array(rank).keys()].slice(1)).map((a) => a < 0 ? a + rank : a);
  if (s.length !== 3 || axes.some((a) => a < 2)) {
    throw new RangeError(
      `FAM cannot map contributions through node '${n.name}' (${n.op} over axes [${axes}] of [${s}]): ` +
        "only pooling over the spatial axes 2, 3 keeps the channels",
    );
  }
  return c;
};

const flattenLike: FamPathRule = (n, s, c) => {
  // A flat output is one entry per channel; entries of an input feature map sum per channel.
  if (isMap(n.shape)) {
    throw new RangeError(
      `FAM cannot map contributions through node '${n.name}' (${n.op} to [${n.shape}]): ` +
        "only reshapes to a vector are supported",
    );
  }
  return c && sumPerChannel(c, s);
};

const gemm: FamPathRule = (n, _s, c) => {
  // Eq. 18 (FAM): C = W × C'^T, with W [N, J] the transformation module's weight (bias not attributable).
  return c && tf.matMul(c, n.params.weight, false, true);
};

const batchnorm: FamPathRule = (n, s, c) => {
  // BatchNorm on a vector is Z' = Z × diag(γ/σ) + β: Eq. 18 with a diagonal W.
  if (isMap(s)) {
    throw new RangeError(
      `FAM cannot map contributions through node '${n.name}' (batchnorm on a [${s}] feature map): ` +
        "choose the layer after it",
    );
  }
  if (!c) return null;
  const p = n.params;
  return tf.mul(c, tf.div(p.scale, tf.sqrt(tf.add(p.variance, n.attrs.epsilon ?? 1e-5))));
};

const rules: Record<string, FamPathRule> = {
  identity: passThrough,
  globalavgpool: globalPool,
  globalmaxpool: globalPool,
  reducemean: spatialReduce,
  reducemax: spatialReduce,
  flatten: flattenLike,
  reshape: flattenLike,
  gemm,
  batchnorm,
};
for (const [op, rule] of Object.entries(rules)) registerRule(FAM_PATH, op, rule);
