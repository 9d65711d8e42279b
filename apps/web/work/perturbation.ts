/**
 * IOM's perturbation view (paper §8.2, Figure 2): `X̂ = (1 − M) ∘ X` for the IOM map `M`, and the model's
 * logits and probabilities before and after (`perturbationView` of @cnnlens/iom).
 * @module
 */
import type { LoadedInput } from "@cnnlens/cli/input";
import type { LoadedModel } from "@cnnlens/cli/load";
import type { ResolvedDecision } from "@cnnlens/cli/decision";
import { perturbationView } from "@cnnlens/iom";
import { chwToImage, displaySize, pngDataUrl } from "./render.ts";

/** One output unit before and after. */
export interface PerturbationRow {
  index: number;
  label: string | null;
  logitBefore: number;
  logitAfter: number;
  probBefore: number;
  probAfter: number;
}

/** What the perturbation panel shows. */
export interface PerturbationJson {
  /** `X̂` as a picture (the input de-normalised). */
  image: string;
  /** The decision's value before and after. */
  decisionBefore: number | null;
  decisionAfter: number | null;
  /** The decided class (class decisions), else null. */
  decided: number | null;
  /** The top classes by probability before, plus the decided one (class decisions only). */
  rows: PerturbationRow[];
  /** Number of output units. */
  outputs: number;
}

/**
 * Perturb the input by its IOM map and read the model before and after.
 * @param model The model.
 * @param input The input.
 * @param map The IOM map, `[C, H, W]` at the input's resolution.
 * @param decision The explained decision.
 * @param top How many classes to list.
 * @returns The panel's data.
 */
export async function iomPerturbation(
  model: LoadedModel,
  input: LoadedInput,
  map: Float32Array,
  decision: ResolvedDecision,
  top = 5,
): Promise<PerturbationJson> {
  const v = await perturbationView(model.graph, input.tensor, map, { decision: decision.decision });
  const image = displaySize(chwToImage(v.perturbed, v.shape, model.mean, model.std));
  const decided = decision.info.kind === "class" ? Number(decision.info.class) : null;
  const rows: PerturbationRow[] = [];
  if (decided !== null) {
    const order = [...v.probabilitiesBefore.keys()].sort((a, b) =>
      v.probabilitiesBefore[b] - v.probabilitiesBefore[a] || a - b
    );
    const pick = order.slice(0, top);
    if (!pick.includes(decided)) pick.push(decided);
    for (const i of pick) {
      rows.push({
        index: i,
        label: model.labels?.[i] ?? null,
        logitBefore: v.outputBefore[i],
        logitAfter: v.outputAfter[i],
        probBefore: v.probabilitiesBefore[i],
        probAfter: v.probabilitiesAfter[i],
      });
    }
  }
  return {
    image: pngDataUrl(image),
    decisionBefore: v.decisionBefore ?? null,
    decisionAfter: v.decisionAfter ?? null,
    decided,
    rows,
    outputs: v.outputBefore.length,
  };
}
