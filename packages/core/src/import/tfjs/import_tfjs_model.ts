/**
 * `importTfjsModel`: a TensorFlow.js `model.json` (layers model or graph model), from a file or as an
 * object, with its weights, into a core {@linkcode Graph}.
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import { tfjsLayersToGraph } from "./tfjs_layers_to_graph.ts";
import { tfjsGraphModelToGraph } from "./tfjs_graph_model_to_graph.ts";
import {
  loadTfjsWeights,
  shardReaderFor,
  type TfjsWeightsGroup,
  type TfjsWeightSpec,
  type TfjsWeightsSource,
} from "./tfjs_weights.ts";

/**
 * A TensorFlow.js `model.json`, or the `ModelArtifacts` tfjs hands a save handler (`weightSpecs` and
 * `weightData` instead of `weightsManifest`).
 */
export interface TfjsModelJson {
  /** `layers-model` or `graph-model` (guessed from `modelTopology` when absent). */
  format?: string;
  /** Keras model config (layers model) or GraphDef (graph model). */
  modelTopology: unknown;
  /** Weight groups with their shard files. */
  weightsManifest?: TfjsWeightsGroup[];
  /** Weight specs of `ModelArtifacts` (all weights in `weightData`). */
  weightSpecs?: TfjsWeightSpec[];
  /** Weight bytes of `ModelArtifacts`. */
  weightData?: ArrayBuffer | ArrayBuffer[];
  /** Producer, for messages. */
  generatedBy?: string;
  /** Converter, for messages. */
  convertedBy?: string | null;
  /** Graph models: input/output signature. */
  signature?: unknown;
}

/** Options for {@linkcode importTfjsModel}. */
export interface ImportTfjsOptions {
  /**
   * Weight bytes: one buffer with every shard back to back (in manifest order), or a reader returning a
   * shard's bytes from its manifest path.
   * @default the shard files beside `model.json` (path input), or the object's `weightData`
   */
  weights?: TfjsWeightsSource;
  /** Input size [H, W] for models whose input has unknown spatial dimensions. */
  size?: [number, number];
}

function fail(msg: string): never {
  throw new TfjsImportError(`Cannot import TensorFlow.js model: ${msg}`);
}

/**
 * Whether a parsed `model.json` is a graph model (a GraphDef) rather than a layers model.
 * @param json The parsed `model.json`.
 * @returns True for graph models.
 */
export function isTfjsGraphModel(json: TfjsModelJson): boolean {
  if (json.format) return json.format === "graph-model";
  const t = json.modelTopology as Record<string, unknown> | undefined;
  return !!t && Array.isArray(t.node);
}

/**
 * Import a TensorFlow.js model into a core {@linkcode Graph}.
 *
 * Layers models (`format: "layers-model"`, a Keras `modelTopology`, Sequential or functional) become one
 * node per layer, named after the layer; graph models (`format: "graph-model"`) one node per TensorFlow
 * op, named after the op. Weights may be float32 or quantized (uint8, uint16, float16). Anything the
 * importer cannot represent exactly is a one-line {@linkcode TfjsImportError}.
 *
 * @param model Path of a `model.json` (shards are read from its folder), or the parsed object.
 * @param options Weight bytes (for objects), input size for dynamic inputs.
 * @returns The graph; release it with `graph.dispose()`.
 * @example
 * ```ts
 * import { importTfjsModel } from "./import_tfjs_model.ts";
 * import { runForward } from "../../exec/forward.ts";
 * import { useBackend } from "../../backend/backend.ts";
 * import { tf } from "../../tf.ts";
 * await useBackend("cpu");
 * const dir = new URL("../../../testdata/tfjs/sequential_cnn/", import.meta.url).pathname;
 * const g = await importTfjsModel(`${dir}model.json`);
 * const x = tf.zeros([1, ...g.node(g.input).shape.slice(1), g.node(g.input).shape[0]]);
 * const trace = runForward(g, x, { keep: [] });
 * if (trace.get(g.output).shape[1] !== 10) throw new Error("10 classes expected");
 * trace.dispose();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function importTfjsModel(
  model: string | TfjsModelJson | object,
  options: ImportTfjsOptions = {},
): Promise<Graph> {
  let json: TfjsModelJson;
  let source = options.weights;
  if (typeof model === "string") {
    let text: string;
    try {
      text = await Deno.readTextFile(model);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message.split("\n")[0];
      fail(`cannot read '${model}' (${why})`);
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      fail(`'${model}' is not JSON (${(e as Error).message.split("\n")[0]})`);
    }
    source ??= shardReaderFor(model);
  } else json = model as TfjsModelJson;
  if (!json || typeof json !== "object" || !json.modelTopology) {
    fail(`${typeof model === "string" ? `'${model}'` : "the object"} has no modelTopology: not a model.json`);
  }
  const manifest: TfjsWeightsGroup[] = json.weightsManifest ??
    (json.weightSpecs ? [{ paths: [], weights: json.weightSpecs }] : []);
  source ??= json.weightData;
  const needsBytes = manifest.some((g) => g.weights.length > 0);
  if (needsBytes && !source) {
    fail("the model has weights but none were given (pass options.weights, or a model.json path)");
  }
  const weights = needsBytes ? await loadTfjsWeights(manifest, source!) : new Map();
  return isTfjsGraphModel(json)
    ? tfjsGraphModelToGraph(json.modelTopology, weights, { size: options.size, signature: json.signature })
    : tfjsLayersToGraph(json.modelTopology, weights, { size: options.size });
}
