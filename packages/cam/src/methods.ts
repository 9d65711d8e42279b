/**
 * The registry of CAM-family methods by ID, for dispatch (the CLI's `--method`).
 * @module
 */
import type { Decision, Graph, Tensor } from "@cnnlens/core";
import type { CamFunction, CamOptions, CamResult } from "./base.ts";
import { cam } from "./cam.ts";
import { gradCam } from "./grad_cam.ts";
import { gradCamPlusPlus } from "./grad_cam_plus_plus.ts";
import { xGradCam } from "./xgrad_cam.ts";
import { layerCam } from "./layer_cam.ts";
import { hiResCam } from "./hires_cam.ts";
import { scoreCam } from "./score_cam.ts";
import { ablationCam } from "./ablation_cam.ts";
import { eigenCam } from "./eigen_cam.ts";
import { fullGrad } from "./full_grad.ts";
import { randomCam } from "./random_cam.ts";

/** Method IDs, as the CLI spells them. */
export type CamMethodId =
  | "cam"
  | "gradcam"
  | "gradcam++"
  | "xgradcam"
  | "layercam"
  | "hirescam"
  | "scorecam"
  | "ablationcam"
  | "eigencam"
  | "fullgrad"
  | "random";

/** Every CAM-family method by ID. */
export const camMethods: Readonly<Record<CamMethodId, CamFunction>> = Object.freeze({
  cam,
  gradcam: gradCam,
  "gradcam++": gradCamPlusPlus,
  xgradcam: xGradCam,
  layercam: layerCam,
  hirescam: hiResCam,
  scorecam: scoreCam,
  ablationcam: ablationCam,
  eigencam: eigenCam,
  fullgrad: fullGrad,
  random: randomCam,
});

/** The method IDs, in the registry's order. */
export const camMethodIds: readonly CamMethodId[] = Object.freeze(Object.keys(camMethods) as CamMethodId[]);

/**
 * Whether a string is a CAM-family method ID.
 * @param id A method name.
 * @returns True for a registered ID.
 * @example
 * ```ts
 * import { isCamMethod } from "@cnnlens/cam";
 * if (!isCamMethod("gradcam++") || isCamMethod("naflow")) throw new Error();
 * ```
 */
export function isCamMethod(id: string): id is CamMethodId {
  return Object.hasOwn(camMethods, id);
}

/**
 * Compute a CAM-family map by method ID.
 *
 * @param method A method ID (`gradcam`, `scorecam`, …) from {@linkcode camMethodIds}.
 * @param graph The graph.
 * @param input Input batch in the backend layout (`[N, H, W, C]`, see `toBackendLayout`).
 * @param decision The decision: `classLogit(c)`, `perItem([...])` (one per image), `cosineSimilarity(refs)`,
 * `neuron(node, k, y, x)`, …
 * @param options Target layers (several are averaged), batch size of Score-CAM/Ablation-CAM, seed.
 * @returns Maps at the layer's resolution (FullGrad: the input's), ReLU applied, not normalised.
 * @throws {RangeError} For an unknown method ID (naming the valid ones) or a non-spatial layer.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { camMap } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await camMap("gradcam++", g, x, classLogit(2), { layers: ["relu2"] });
 * if (r.height * r.width !== r.map.length) throw new Error("one H×W map");
 * x.dispose();
 * g.dispose();
 * ```
 */
export function camMap(
  method: CamMethodId | string,
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: CamOptions = {},
): Promise<CamResult> {
  if (!isCamMethod(method)) {
    return Promise.reject(
      new RangeError(`Unknown CAM method '${method}': use one of ${camMethodIds.join(", ")}`),
    );
  }
  return camMethods[method](graph, input, decision, options);
}
