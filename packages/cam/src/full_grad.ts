/**
 * FullGrad (Srinivas & Fleuret, NeurIPS 2019), as pytorch-grad-cam computes it.
 * @module
 */
import {
  backwardWalk,
  type Decision,
  decisionNode,
  findRule,
  type Graph,
  type GraphNode,
  registerRule,
  runForward,
  type Tensor,
  tf,
} from "@cnnlens/core";
import type { CamFunction, CamLayerMap, CamOptions, CamResult } from "./base.ts";
import { decisionSeed, minMaxScale, readF32, resize } from "./_util.ts";

/** Rule kind: the bias a node adds to its output (`b` in `y = J x + b`), or null. */
export const FULLGRAD_BIAS = "fullgrad-bias";

/** A `fullgrad-bias` rule: a new tensor `[C]` (the caller disposes it), or null when the node has none. */
export type FullGradBiasRule = (node: GraphNode) => Tensor | null;

registerRule<FullGradBiasRule>(FULLGRAD_BIAS, "conv2d", (n) => n.params.bias?.clone() ?? null);
registerRule<FullGradBiasRule>(FULLGRAD_BIAS, "gemm", (n) => n.params.bias?.clone() ?? null);
// Inference batch norm y = s·x + (shift − mean·s), s = scale / √(var + ε): the bias is shift − mean·s
// (as FullGrad's reference implementation and pytorch-grad-cam take it).
registerRule<FullGradBiasRule>(FULLGRAD_BIAS, "batchnorm", (n) =>
  tf.tidy(() =>
    tf.sub(
      n.params.shift,
      tf.mul(
        n.params.mean,
        tf.div(n.params.scale, tf.sqrt(tf.add(n.params.variance, n.attrs.epsilon ?? 1e-5))),
      ),
    )
  ));

/** The nodes with a bias (a `fullgrad-bias` rule that returns one), up to `until`. */
function biasNodes(graph: Graph, until: string): { node: string; bias: Tensor }[] {
  const upto = new Set(graph.ancestors([until]).concat(until));
  const out: { node: string; bias: Tensor }[] = [];
  for (const n of graph.nodes) {
    if (!upto.has(n.name)) continue;
    const bias = findRule<FullGradBiasRule>(FULLGRAD_BIAS, n.op)?.(n) ?? null;
    if (bias) out.push({ node: n.name, bias });
  }
  return out;
}

interface FullGradCapture {
  value: Tensor;
  inputGrad: Tensor;
  biases: { node: string; bias: Tensor; grad: Tensor }[];
  dispose(): void;
}

function captureFullGrad(graph: Graph, input: Tensor, decision: Decision): FullGradCapture {
  const dnode = decisionNode(graph, decision);
  const biases = biasNodes(graph, dnode);
  const trace = runForward(graph, input, { keep: "all", until: dnode });
  try {
    const seed = decisionSeed(decision, trace.get(dnode));
    const to = [graph.input, ...biases.map((b) => b.node)];
    const grads = backwardWalk(graph, trace, new Map([[dnode, seed]]), { to });
    seed.dispose();
    const value = tf.tidy(() => tf.reshape(decision.read(trace.get(dnode)), [input.shape[0]]));
    return {
      value,
      inputGrad: grads.get(graph.input)!,
      biases: biases.map((b) => ({ ...b, grad: grads.get(b.node)! })),
      dispose() {
        value.dispose();
        for (const g of grads.values()) g.dispose();
        for (const b of biases) b.bias.dispose();
      },
    };
  } catch (e) {
    for (const b of biases) b.bias.dispose();
    throw e;
  } finally {
    trace.dispose();
  }
}

/** FullGrad's decomposition of a decision (for checks): the input-gradient and bias-gradient terms. */
export interface FullGradTerms {
  /** The decision per image `[N]`. */
  value: Float32Array;
  /** `Σ x ⊙ ∂d/∂x` per image `[N]`. */
  input: Float32Array;
  /** Per node with a bias: `Σ_positions,channels b ⊙ ∂d/∂y` per image `[N]`. */
  biases: { node: string; value: Float32Array }[];
}

/**
 * FullGrad's completeness (the full-gradient decomposition of Srinivas & Fleuret): for a network that is piecewise
 * linear in its input and biases (ReLU, max-pool, conv, BN, FC), `d(x) = ⟨∂d/∂x, x⟩ + Σ_b ⟨∂d/∂b, b⟩`,
 * where `⟨∂d/∂b, b⟩ = Σ b ⊙ ∂d/∂y` summed over the positions `b` is added at. Returned as sums per image.
 * @param graph The graph.
 * @param input Input batch, backend layout.
 * @param decision The decision.
 * @returns The decision and its terms.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { fullGradTerms } from "@cnnlens/cam";
 * const g = tinyNet(); // conv, ReLU, max-pool, BN, GAP, FC: piecewise linear
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const t = await fullGradTerms(g, x, classLogit(0));
 * const sum = t.input[0] + t.biases.reduce((a, b) => a + b.value[0], 0);
 * if (Math.abs(sum - t.value[0]) > 1e-4 * (1 + Math.abs(t.value[0]))) throw new Error("complete");
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function fullGradTerms(graph: Graph, input: Tensor, decision: Decision): Promise<FullGradTerms> {
  const cap = captureFullGrad(graph, input, decision);
  const n = input.shape[0];
  const perImage = (t: Tensor) => tf.tidy(() => tf.sum(tf.reshape(t, [n, -1]), 1));
  const parts: Tensor[] = [];
  try {
    parts.push(tf.tidy(() => perImage(tf.mul(cap.inputGrad, input))));
    for (const b of cap.biases) parts.push(tf.tidy(() => perImage(tf.mul(b.grad, b.bias))));
    return {
      value: await readF32(cap.value),
      input: await readF32(parts[0]),
      biases: await Promise.all(
        cap.biases.map(async (b, i) => ({ node: b.node, value: await readF32(parts[i + 1]) })),
      ),
    };
  } finally {
    for (const p of parts) p.dispose();
    cap.dispose();
  }
}

/**
 * FullGrad saliency, pytorch-grad-cam's reading of the paper's FullGrad saliency: at the input resolution,
 * `S = Σ_c norm(|x_c ⊙ ∂d/∂x_c|) + Σ_l up(Σ_k norm(|b_lk ⊙ ∂d/∂y_lk|))`, where `l` runs over the spatial
 * layers with a bias (conv with bias, batch norm: the `fullgrad-bias` rule table), `norm` is per-image,
 * per-channel min-max scaling (`scale_accross_batch_and_channels`) and `up` bilinear resizing to the
 * input size (pixel centres, `cv2.resize`). Target layers are ignored (FullGrad uses every bias). The map is
 * the sum, not yet normalised. `perLayer` gives the input term and each layer's term, at input resolution.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options `perLayer`.
 * @returns The map at the input resolution.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { fullGrad } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await fullGrad(g, x, classLogit(0));
 * if (r.height !== 8 || r.layers.join() !== "conv1,conv2,bn2") throw new Error("input size, bias layers");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const fullGrad: CamFunction = async (
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: CamOptions = {},
): Promise<CamResult> => {
  const cap = captureFullGrad(graph, input, decision);
  const [n, h, w] = input.shape as number[];
  const spatial = cap.biases.filter((b) => b.grad.rank === 4);
  const terms: Tensor[] = [];
  try {
    // Input-gradient term: |x ⊙ ∂d/∂x|, scaled per colour channel, summed over channels.
    terms.push(tf.tidy(() => tf.sum(minMaxScale(tf.abs(tf.mul(input, cap.inputGrad)), true), 3)));
    for (const b of spatial) {
      // Bias-gradient term of one layer: |b ⊙ ∂d/∂y|, scaled per channel, summed, resized (linear, so
      // summing before resizing is the same as resizing each channel).
      terms.push(
        tf.tidy(() => resize(tf.sum(minMaxScale(tf.abs(tf.mul(b.grad, b.bias)), true), 3), [h, w], "half")),
      );
    }
    const total = tf.tidy(() => tf.addN(terms));
    terms.push(total);
    const result: CamResult = {
      method: "fullgrad",
      batch: n,
      height: h,
      width: w,
      map: await readF32(total),
      layers: spatial.map((b) => b.node),
      value: await readF32(cap.value),
    };
    if (options.perLayer) {
      const names = [graph.input, ...spatial.map((b) => b.node)];
      const perLayer: CamLayerMap[] = [];
      for (let i = 0; i < names.length; i++) {
        const shape = graph.node(names[i]).shape;
        perLayer.push({
          layer: names[i],
          height: h,
          width: w,
          channels: shape[0],
          map: await readF32(terms[i]),
        });
      }
      result.perLayer = perLayer;
    }
    return result;
  } finally {
    for (const t of terms) t.dispose();
    cap.dispose();
  }
};
