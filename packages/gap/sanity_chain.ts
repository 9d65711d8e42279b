/**
 * The sanity table of section 4.1 (Table 1) for one image: for each transition of a layer chain (T → S5,
 * S5 → S4, …), the Pearson correlation between gAP's contributions under AA, MA, AG and MG and the
 * ablation ground truth, following the top channel's peak neuron down the chain.
 * @module
 */
import type { Decision, Graph, Tensor, Trace } from "@cnnlens/core";
import { type Measure, MEASURES, type Target, targetLabel, withBase } from "./_engine.ts";
import { ablationGroundTruth, type Replacement } from "./ablation.ts";
import { decompose } from "./decompose.ts";
import { pearson } from "./pearson.ts";
import { defaultLayers } from "./stage_layers.ts";

/** One row of the sanity check: a decision decomposed into a layer. */
export interface TransitionSanity {
  /** The decision decomposed (the class decision, then a neuron of the previous layer). */
  decision: string;
  /** The decision's value. */
  value: number;
  /** The layer decomposed into. */
  into: string;
  /** gAP contributions under each measure. */
  contributions: Record<Measure, Float32Array>;
  /** The ablation ground truth: the decision's drop per removed channel. */
  groundTruth: Float32Array;
  /** PCC (Eq. 12) between each measure and the ground truth. */
  pcc: Record<Measure, number>;
}

/**
 * Run the section 4.1 check along a layer chain: decompose the decision into the first layer and compare
 * with the ablation ground truth; then take the top (AA) channel's peak neuron as the next decision, and
 * so on.
 *
 * @param graph The model.
 * @param input The image, batch 1.
 * @param decision The class decision (T).
 * @param options Layers deep to shallow (default the stage layers), replacement for the ground truth
 * (default the spatial mean), a base trace.
 * @returns One row per transition.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { sanityChain } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const rows = await sanityChain(g, x, classLogit(0), { replace: "zero" });
 * if (rows.length !== 2 || rows[1].into !== "relu1") throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function sanityChain(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: { layers?: string[]; replace?: Replacement; base?: Trace } = {},
): Promise<TransitionSanity[]> {
  const layers = options.layers ?? defaultLayers(graph);
  return await withBase(graph, input, options.base, async (base) => {
    const rows: TransitionSanity[] = [];
    let target: Target = decision;
    for (const into of layers) {
      const d = await decompose(graph, input, target, into, { base });
      const gt = await ablationGroundTruth(graph, input, target, into, { base, replace: options.replace });
      const pcc = Object.fromEntries(MEASURES.map((m) => [m, pearson(d.contributions[m], gt)])) as Record<
        Measure,
        number
      >;
      rows.push({
        decision: targetLabel(target),
        value: d.value,
        into: d.layer,
        contributions: d.contributions,
        groundTruth: gt,
        pcc,
      });
      const k = d.ranking(1)[0];
      target = { layer: d.layer, channel: k, position: d.peaks[k] };
    }
    return rows;
  });
}
