/**
 * @cnnlens/iom: IOM, the pixel- and colour-level input-output mapping of PANE (positive and negative
 * excitation). Registers per-op excitation rules (kinds `excitation` and `excitation-`) in the core's
 * rule registry, propagates relative positive and negative excitation from any decided output onto the
 * input (or any feature map) as a masked backward pass, and turns r-Exc⁺ into the smoothed, signed IOM map
 * with colour and signed-magnitude renderings and the paper's perturbation view.
 *
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { iom, renderColour } from "@cnnlens/iom";
 * const g = tinyNet();
 * const r = await iom(g, tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 7), classLogit(1));
 * const img = renderColour(r.map, r.shape);
 * if (img.rgb.length !== 8 * 8 * 3) throw new Error();
 * ```
 * @module
 */
export { iom, type IomOptions, type IomResult } from "./iom.ts";
export {
  negativeLayer,
  type RelativeExcitation,
  relativeExcitation,
  type RelativeExcitationOptions,
} from "./relative_excitation.ts";
export { neighbourhoodAverage, normaliseSigned } from "./smoothing.ts";
export { type ColourOptions, renderColour, renderSignedMagnitude, type RgbImage } from "./render.ts";
export { type PerturbationOptions, type PerturbationView, perturbationView } from "./perturbation.ts";
export { readCHW } from "./read_chw.ts";
export {
  EXCITATION,
  excitationOps,
  excitationRules,
  NEGATIVE_EXCITATION,
  registerExcitationRules,
} from "./rules/register.ts";
export { type PartTranspose, type SignSplit, signSplitVjp, type WeightPart } from "./rules/sign_split.ts";
export { clearExcitationCache } from "./rules/kernel_cache.ts";
