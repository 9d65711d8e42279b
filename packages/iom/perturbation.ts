/**
 * The perturbation view of the paper's Figure 2 (§8.2): `X̂ = (1 − M) ∘ X` for an IOM map `M`, and the
 * model's output before and after ("the original image X should have a greater corresponding feature value
 * than the perturbed image X̂").
 * @module
 */
import { type Decision, type Graph, runForward, type Tensor, tf } from "@cnnlens/core";
import { readCHW } from "./read_chw.ts";

/** Options for {@linkcode perturbationView}. */
export interface PerturbationOptions {
  /** A decision to read before and after (e.g. the explained class logit). */
  decision?: Decision;
  /**
   * Zero the map's negative values first, so `1 − M ∈ [0, 1]` only removes signal (the paper zeroes IOM's
   * negatives for its perturbation comparison).
   * @default true
   */
  clampNegative?: boolean;
}

/** What {@linkcode perturbationView} returns. */
export interface PerturbationView {
  /** `X̂ = (1 − M) ∘ X`, C×H×W (CHW), in the input's own value space. */
  perturbed: Float32Array;
  /** `[C, H, W]`. */
  shape: number[];
  /** The graph output for X, flattened (NCHW order). */
  outputBefore: Float32Array;
  /** The graph output for X̂. */
  outputAfter: Float32Array;
  /** Softmax of `outputBefore` (the confidences of Figure 2). */
  probabilitiesBefore: Float32Array;
  /** Softmax of `outputAfter`. */
  probabilitiesAfter: Float32Array;
  /** The decision's value for X (when a decision is given). */
  decisionBefore?: number;
  /** The decision's value for X̂. */
  decisionAfter?: number;
}

function softmax(v: Float32Array): Float32Array {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  let s = 0;
  const e = Float64Array.from(v, (x) => {
    const y = Math.exp(x - m);
    s += y;
    return y;
  });
  return Float32Array.from(e, (x) => x / s);
}

async function outputs(graph: Graph, x: Tensor, decision?: Decision) {
  const trace = runForward(graph, x, { keep: decision?.node ? [decision.node] : [] });
  try {
    const out = (await readCHW(trace.get(graph.output))).data;
    let d: number | undefined;
    if (decision) {
      const v = tf.tidy(() => decision.read(trace.get(decision.node ?? graph.output)));
      d = (await v.data())[0];
      v.dispose();
    }
    return { out, d };
  } finally {
    trace.dispose();
  }
}

/**
 * Perturb an input by its IOM map and compare the model's outputs (paper Figure 2).
 * @param graph The model.
 * @param input One input, backend layout `[1, H, W, C]`.
 * @param map The IOM map, C×H×W (CHW), values in [−1, 1].
 * @param options The decision to read; whether to zero negatives.
 * @returns The perturbed input and outputs before/after.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { perturbationView } from "./perturbation.ts";
 * const g = tinyNet();
 * // A map of ones removes the whole input: X̂ = 0.
 * const v = await perturbationView(g, tf.ones([1, 8, 8, 3]), new Float32Array(192).fill(1), { decision: classLogit(0) });
 * if (v.perturbed.some((x) => x !== 0) || v.outputAfter.length !== 3) throw new Error();
 * ```
 */
export async function perturbationView(
  graph: Graph,
  input: Tensor,
  map: ArrayLike<number>,
  options: PerturbationOptions = {},
): Promise<PerturbationView> {
  const [n, h, w, c] = input.shape as number[];
  if (input.rank !== 4 || n !== 1 || map.length !== c * h * w) {
    throw new RangeError(
      `perturbationView() needs one image [1, H, W, C] and a C×H×W map: got [${input.shape}] and ${map.length} values`,
    );
  }
  const clamp = options.clampNegative ?? true;
  const m = Float32Array.from(map, (v) => clamp ? Math.max(0, v) : v);
  const perturbedT = tf.tidy(() => {
    const mask = tf.transpose(tf.tensor4d(m, [1, c, h, w]), [0, 2, 3, 1]);
    return tf.mul(tf.sub(1, mask), input); // §8.2: X̂ = (1 − M_X) ∘ X
  });
  try {
    const before = await outputs(graph, input, options.decision);
    const after = await outputs(graph, perturbedT, options.decision);
    return {
      perturbed: (await readCHW(perturbedT)).data,
      shape: [c, h, w],
      outputBefore: before.out,
      outputAfter: after.out,
      probabilitiesBefore: softmax(before.out),
      probabilitiesAfter: softmax(after.out),
      decisionBefore: before.d,
      decisionAfter: after.d,
    };
  } finally {
    perturbedT.dispose();
  }
}
