/**
 * @cnnlens/core: the tensor core every cnnlens method builds on — backends, the model graph with per-op
 * rule registries (forward, vjp, jvp, shape), forward capture, gradients at any node, decisions, the
 * architectures in code, and (in `io`) image/array I/O and rendering.
 *
 * Importing this module activates the `auto` backend (see {@linkcode useBackend}) so that tensors can be
 * made at once; call `useBackend` to choose another.
 * @module
 */
export { tf } from "./src/tf.ts";
export type { Tensor } from "./src/tf.ts";
export * from "./src/backend/backend.ts";
export * from "./src/graph/node.ts";
export * from "./src/graph/graph.ts";
export * from "./src/graph/layout.ts";
export * from "./src/rules/registry.ts";
export * from "./src/rules/forward.ts";
export * from "./src/rules/vjp.ts";
export * from "./src/rules/maxpool_routing.ts";
export * from "./src/rules/kernel_cache.ts";
export * from "./src/rules/conv_transpose.ts";
export * from "./src/rules/pad.ts";
export * from "./src/exec/forward.ts";
export * from "./src/exec/tiled_base.ts";
export * from "./src/exec/backward.ts";
export * from "./src/exec/gradients.ts";
export * from "./src/targets/decision.ts";
export * from "./src/models/builder.ts";
export * from "./src/models/resnet.ts";
export * from "./src/models/vgg.ts";
export * from "./src/models/conv4.ts";
export { tinyNet } from "./src/_testing/tiny.ts";
export * from "./src/io/mod.ts";
export * from "./src/import/onnx/onnx_proto.ts";
export { runOrt, withExtraOutputs } from "./src/import/onnx/ort_runner.ts";
export * from "./src/graph/weights.ts";

import { useBackend as _useBackend } from "./src/backend/backend.ts";
import { tf as _tf } from "./src/tf.ts";
if (!_tf.engine().backendName) await _useBackend("auto");
export * from "./src/import/onnx/onnx_to_graph.ts";
export * from "./src/import/tfjs/mod.ts";
export * from "./src/import/faceapi/mod.ts";
