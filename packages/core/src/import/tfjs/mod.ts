/**
 * TensorFlow.js models into the cnnlens graph: layers models (Keras `model.json`, Sequential and
 * functional) and graph models (GraphDef of TensorFlow ops), with float32 or quantized weights.
 *
 * @example
 * ```ts
 * import { importTfjsModel } from "./mod.ts";
 * import { useBackend } from "../../backend/backend.ts";
 * await useBackend("cpu");
 * const g = await importTfjsModel(new URL("../../../testdata/tfjs/se_block/model.json", import.meta.url).pathname);
 * if (g.node("se_scale").op !== "mul") throw new Error("the SE block's Multiply is a mul node");
 * g.dispose();
 * ```
 * @module
 */
export {
  importTfjsModel,
  type ImportTfjsOptions,
  isTfjsGraphModel,
  type TfjsModelJson,
} from "./import_tfjs_model.ts";
export { TfjsImportError } from "./tfjs_import_error.ts";
export {
  type KerasLayerJson,
  TFJS_ACTIVATIONS,
  TFJS_LAYER_CLASSES,
  type TfjsLayersOptions,
  tfjsLayersToGraph,
} from "./tfjs_layers_to_graph.ts";
export {
  TFJS_GRAPH_OPS,
  type TfjsGraphModelOptions,
  tfjsGraphModelToGraph,
  type TfNodeJson,
} from "./tfjs_graph_model_to_graph.ts";
export {
  decodeTfjsWeights,
  float16ToNumber,
  loadTfjsWeights,
  shardReaderFor,
  type TfjsQuantization,
  type TfjsWeight,
  type TfjsWeightsGroup,
  type TfjsWeightSpec,
  type TfjsWeightsSource,
  weightByteLength,
} from "./tfjs_weights.ts";
