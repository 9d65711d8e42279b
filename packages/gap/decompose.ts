/**
 * gAP (gradient-based activation propagation, section 3.1): decompose a decision into a lower layer's
 * per-channel activation maps, contributions and most-contributing neurons.
 * @module
 */
import type { Graph, Tensor, Trace } from "@cnnlens/core";
import {
  argmax2d,
  type GapNeuron,
  layerShape,
  type Measure,
  MEASURES,
  runPasses,
  type Target,
  targetLabel,
  withBase,
} from "./_engine.ts";

export type { GapNeuron, Measure, Target };
export { isNeuron, MEASURES } from "./_engine.ts";

/** One channel's activation map `A_k` at the layer's own resolution, with its peak (Eq. 5). */
export interface ActivationMap {
  /** The layer. */
  layer: string;
  /** The channel `k`. */
  channel: number;
  /** Rows (the layer's H). */
  height: number;
  /** Columns (the layer's W). */
  width: number;
  /** `A_k = G_k ⊙ F_k`, row-major H×W. */
  data: Float32Array;
  /** `argmax_{y,x} A_k` as [y, x] (ties: first in row-major order). */
  peak: [number, number];
}

/** The decomposition of one decision into one layer. */
export interface Decomposition {
  /** The layer decomposed into. */
  layer: string;
  /** The decision's label. */
  decision: string;
  /** The decision's value (the logit, the neuron's activation, …). */
  value: number;
  /** The measure `alpha` holds. */
  measure: Measure;
  /** Number of channels K. */
  channels: number;
  /** The layer's H. */
  height: number;
  /** The layer's W. */
  width: number;
  /** Per-channel contributions under `measure` (Eq. 4 for AA). */
  alpha: Float32Array;
  /** Per-channel contributions under every measure (AA, MA, AG, MG). */
  contributions: Record<Measure, Float32Array>;
  /** Activation maps `A = G ⊙ F` (Eq. 3), K×H×W in CHW order. */
  maps: Float32Array;
  /** Gradient maps `G = ∂decision/∂F` (Eq. 2), K×H×W, when `gradients: true` was asked. */
  gradients?: Float32Array;
  /** Per-channel peaks `argmax A_k` (Eq. 5) as [y, x]. */
  peaks: [number, number][];
  /**
   * Channel `k`'s activation map (a view into `maps`).
   * @param k Channel.
   */
  map(k: number): ActivationMap;
  /**
   * Channels by descending `alpha` (ties: lower channel first).
   * @param n How many. @default all
   */
  ranking(n?: number): number[];
}

/** Options of {@linkcode decompose} and {@linkcode decomposeMany}. */
export interface DecomposeOptions {
  /**
   * Contribution measure for `alpha`: `AA` (mean of A_k, Eq. 4), `MA` (max of A_k), `AG` (mean of G_k),
   * `MG` (max of G_k).
   * @default "AA"
   */
  measure?: Measure;
  /**
   * A forward trace of the graph on `input` that kept every node (`runForward(graph, input)`); reused to
   * avoid a forward pass per call (the dashboard keeps one per image). @default computed and released
   */
  base?: Trace;
  /** Also return the gradient maps `G`. @default false */
  gradients?: boolean;
  /** Evaluate neuron decisions on exact receptive-field crops. @default true */
  crop?: boolean;
  /** Most decisions per backward pass. @default derived from the memory budget */
  maxBatch?: number;
}

/**
 * Channels by descending contribution (ties: lower channel first).
 * @param alpha Per-channel contributions.
 * @param n How many to return. @default all
 * @returns Channel numbers.
 * @example
 * ```ts
 * import { rankChannels } from "@cnnlens/gap";
 * if (rankChannels([0.1, 0.5, 0.5, -1], 3).join() !== "1,2,0") throw new Error();
 * ```
 */
export function rankChannels(alpha: ArrayLike<number>, n = alpha.length): number[] {
  return Array.from({ length: alpha.length }, (_, i) => i)
    .sort((a, b) => alpha[b] - alpha[a] || a - b)
    .slice(0, n);
}

/**
 * Decompose one decision into `intoLayer` (gAP, section 3.1): `G = ∂decision/∂F` by one backward pass
 * (Eq. 2), activation maps `A_k = G_k ⊙ F_k` (Eq. 3), contributions `α_k` (Eq. 4, or MA/AG/MG), and the
 * most contributing neuron of each channel (Eq. 5).
 *
 * @param graph The model.
 * @param input The image, batch 1, backend layout (NHWC).
 * @param decision A core decision (`classLogit(c)`, `neuron(node, k, y, x)`, …) or a {@linkcode GapNeuron}.
 * @param intoLayer The feature map to decompose into (below the decision).
 * @param options Measure, reusable base trace, gradients.
 * @returns The decomposition (plain arrays; no tensors to release).
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { decompose } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const d = await decompose(g, x, classLogit(0), "relu2");
 * // relu2 is [6, 4, 4]: one contribution per channel, one 4×4 map each.
 * if (d.alpha.length !== 6 || d.map(0).data.length !== 16) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function decompose(
  graph: Graph,
  input: Tensor,
  decision: Target,
  intoLayer: string,
  options: DecomposeOptions = {},
): Promise<Decomposition> {
  return (await decomposeMany(graph, input, [decision], intoLayer, options))[0];
}

/**
 * Decompose N decisions into one layer in one batched backward pass (the decisions are independent: the
 * layer's activation is stacked N times and item i carries decision i), e.g. the N nodes of one tree
 * level. Equal to calling {@linkcode decompose} N times.
 *
 * @param graph The model.
 * @param input The image, batch 1, backend layout.
 * @param decisions The decisions (they may read different nodes, all above `intoLayer`).
 * @param intoLayer The feature map to decompose into.
 * @param options Measure, base trace, gradients, batching.
 * @returns One decomposition per decision, in order.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { decomposeMany } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const ds = await decomposeMany(g, x, [classLogit(0), classLogit(2)], "relu2");
 * if (ds.length !== 2 || ds[1].decision !== "class 2 logit") throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function decomposeMany(
  graph: Graph,
  input: Tensor,
  decisions: Target[],
  intoLayer: string,
  options: DecomposeOptions = {},
): Promise<Decomposition[]> {
  const layer = graph.node(intoLayer).name;
  const [K, H, W] = layerShape(graph, layer);
  const measure = options.measure ?? "AA";
  if (!MEASURES.includes(measure)) {
    throw new RangeError(`Unknown measure '${measure}': use one of ${MEASURES.join(", ")}`);
  }
  const out: Decomposition[] = new Array(decisions.length);
  await withBase(
    graph,
    input,
    options.base,
    (base) =>
      runPasses(
        graph,
        input,
        layer,
        decisions,
        { base, crop: options.crop, maxBatch: options.maxBatch },
        async (c) => {
          for (const item of c.items) {
            const maps = await c.readAll(item.index, "activation");
            const gradients = options.gradients ? await c.readAll(item.index, "gradient") : undefined;
            const peaks: [number, number][] = [];
            for (let k = 0; k < K; k++) peaks.push(argmax2d(maps.subarray(k * H * W, (k + 1) * H * W), W));
            const alpha = item.contributions[measure];
            out[item.index] = {
              layer,
              decision: targetLabel(decisions[item.index]),
              value: item.value,
              measure,
              channels: K,
              height: H,
              width: W,
              alpha,
              contributions: item.contributions,
              maps,
              gradients,
              peaks,
              map: (k: number) => {
                if (!Number.isInteger(k) || k < 0 || k >= K) {
                  throw new RangeError(`Channel ${k} is out of range for layer '${layer}': 0..${K - 1}`);
                }
                return {
                  layer,
                  channel: k,
                  height: H,
                  width: W,
                  data: maps.subarray(k * H * W, (k + 1) * H * W),
                  peak: peaks[k],
                };
              },
              ranking: (n?: number) => rankChannels(alpha, n),
            };
          }
        },
      ),
  );
  return out;
}
