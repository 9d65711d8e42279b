/**
 * @cnnlens/cam: the CAM family over one shared base — CAM, Grad-CAM, Grad-CAM++, XGrad-CAM, Layer-CAM,
 * HiResCAM, Score-CAM, Ablation-CAM, Eigen-CAM, FullGrad, a random map — plus Guided Backpropagation and
 * Guided Grad-CAM. Every method takes any core decision (class logit, probability, similarity, neuron, one
 * per image with `perItem`), a batch of images, and one or several target layers, and returns plain
 * `Float32Array` maps at the layer's resolution (ReLU applied, not upsampled, not normalised).
 *
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { camMap, camMethodIds } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * for (const id of camMethodIds) {
 *   const r = await camMap(id, g, x, classLogit(0));
 *   if (r.map.length !== r.height * r.width) throw new Error(id);
 * }
 * x.dispose();
 * g.dispose();
 * ```
 * @module
 */
export * from "./src/base.ts";
export * from "./src/methods.ts";
export { cam, CAM_HEAD, camHead, type CamHeadRule } from "./src/cam.ts";
export { gradCam } from "./src/grad_cam.ts";
export { gradCamPlusPlus } from "./src/grad_cam_plus_plus.ts";
export { xGradCam } from "./src/xgrad_cam.ts";
export { layerCam } from "./src/layer_cam.ts";
export { hiResCam } from "./src/hires_cam.ts";
export { scoreCam } from "./src/score_cam.ts";
export { ablationCam } from "./src/ablation_cam.ts";
export { eigenCam, leadingEigenpair, principalProjection } from "./src/eigen_cam.ts";
export {
  fullGrad,
  FULLGRAD_BIAS,
  type FullGradBiasRule,
  type FullGradTerms,
  fullGradTerms,
} from "./src/full_grad.ts";
export { randomCam } from "./src/random_cam.ts";
export {
  ensureGuidedRules,
  GUIDED_BACKPROP,
  guidedBackprop,
  type GuidedBackpropResult,
  guidedGradCam,
} from "./src/guided_backprop.ts";
