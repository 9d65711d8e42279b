/**
 * IOM, the input-output mapping of PANE §6: r-Exc⁺ and r-Exc⁻ of a decided output onto every input pixel
 * and colour channel, and the saliency map `IOM = Norm(AcgFlt(r-Exc⁺))` (§6.2), all C×H×W in CHW order.
 * @module
 */
import type { Decision, Graph, Tensor, Trace } from "@cnnlens/core";
import { relativeExcitation } from "./relative_excitation.ts";
import { neighbourhoodAverage, normaliseSigned } from "./smoothing.ts";
import { readCHW } from "./read_chw.ts";

/** Options for {@linkcode iom}. */
export interface IomOptions {
  /** Neighbourhood-average window size (odd; 1 = no smoothing). @default 3 */
  smoothing?: number;
  /** The node to map onto (a feature map). @default the graph input */
  to?: string;
  /** A forward trace of `input` keeping every node up to the decision (saves one forward pass). */
  trace?: Trace;
}

/** What {@linkcode iom} returns: plain arrays, CHW order (channel k is the model's channel k). */
export interface IomResult {
  /** The IOM map: smoothed r-Exc⁺ scaled to [−1, 1], C×H×W. */
  map: Float32Array;
  /** Raw r-Exc⁺ (before smoothing), C×H×W. */
  rexcPos: Float32Array;
  /** Raw r-Exc⁻, C×H×W. */
  rexcNeg: Float32Array;
  /** `[C, H, W]`. */
  shape: [number, number, number];
  /** The decision's value. */
  decisionValue: number;
  /** The node the decision reads. */
  decisionNode: string;
  /** The layer whose negative excitation r-Exc⁻ uses (null: none, r-Exc⁻ is zero). */
  negativeLayer: string | null;
}

/**
 * Explain a decision with IOM.
 * @param graph The model.
 * @param input One input, backend layout `[1, H, W, C]`.
 * @param decision The decided output (a class logit, a neuron of any layer, …).
 * @param options Smoothing window, target node, trace to reuse.
 * @returns The map and the raw relative excitations, CHW.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { iom } from "./iom.ts";
 * const g = tinyNet();
 * const r = await iom(g, tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3), classLogit(2));
 * const max = Math.max(...r.map.map(Math.abs));
 * if (r.shape.join() !== "3,8,8" || Math.abs(max - 1) > 1e-6) throw new Error();
 * ```
 */
export async function iom(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: IomOptions = {},
): Promise<IomResult> {
  const k = options.smoothing ?? 3;
  const target = graph.node(options.to ?? graph.input);
  if (target.shape.length !== 3) {
    throw new RangeError(
      `IOM maps onto an image or feature map: node '${target.name}' has shape [${target.shape}]`,
    );
  }
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) {
    throw new RangeError(`Smoothing kernel size must be an odd integer ≥ 1: got ${k}`);
  }
  const r = relativeExcitation(graph, input, decision, { to: target.name, trace: options.trace });
  try {
    const pos = await readCHW(r.pos);
    const neg = await readCHW(r.neg);
    const shape = pos.shape as [number, number, number];
    const decisionValue = (await r.value.data())[0];
    return {
      map: normaliseSigned(neighbourhoodAverage(pos.data, shape, k)), // PANE §6.2: Norm(AcgFlt(r-Exc⁺))
      rexcPos: pos.data,
      rexcNeg: neg.data,
      shape,
      decisionValue,
      decisionNode: r.decisionNode,
      negativeLayer: r.negativeLayer,
    };
  } finally {
    r.dispose();
  }
}
