/**
 * @cnnlens/naflow: Neuron Abandoning Attention Flow (Liao, Gao & Zhang) — one attention map per layer of
 * a CNN, from the last spatial feature map back to the first layer, with the neurons the decision did not
 * use abandoned. Registers NAFlow's NA-BP rules in the core registry under the kind `inverse`.
 * @module
 */
export * from "./src/naflow.ts";
export * from "./src/segment.ts";
export * from "./src/lsqr.ts";
export * from "./src/least_squares.ts";
export * from "./src/conv_transpose.ts";
export { withFlowCache } from "./src/flow_cache.ts";
export * from "./src/similarity.ts";
export * from "./src/inverse.ts";
export * from "./src/rules/batchnorm.ts";
export * from "./src/rules/relu.ts";
export * from "./src/rules/maxpool.ts";
export * from "./src/rules/ratio.ts";
export * from "./src/rules/least_squares.ts";
export * from "./src/rules/register.ts";
