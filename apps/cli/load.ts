import { type BackendChoice, type BackendInfo, type Graph, importOnnx, useBackend } from "@cnnlens/core";
import { dirname } from "node:path";
import { buildZoo } from "./zoo.ts";
import { UsageError } from "./errors.ts";

/** A model ready to run, with its preprocessing. */
export interface LoadedModel {
  graph: Graph;
  /** Input size [H, W]. */
  size: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
  labels?: string[];
  source: string;
  backend: BackendInfo;
}

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/**
 * Load a model from `zoo:NAME` (ONNX and tfjs files arrive with the importers).
 * @param spec The --model value.
 * @param backend The --backend value.
 * @returns The model.
 */
export async function loadModel(spec: string, backend = "auto"): Promise<LoadedModel> {
  if (!["auto", "webgpu", "wasm", "cpu"].includes(backend)) {
    throw new UsageError(`Unknown backend '${backend}': use auto, webgpu, wasm or cpu`);
  }
  const info = await useBackend(backend as BackendChoice);
  if (spec.startsWith("zoo:")) {
    const z = buildZoo(spec.slice(4));
    if (!z) throw new UsageError(`Unknown model '${spec}': run 'cnnlens models' for the zoo`);
    return {
      graph: z.graph,
      size: z.entry.size,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      source: spec,
      backend: info,
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(spec);
  } catch {
    throw new UsageError(`Cannot read model '${spec}': no such file`);
  }
  if (spec.endsWith(".json")) {
    throw new UsageError(`Cannot load model '${spec}': TensorFlow.js model.json import is not available yet`);
  }
  try {
    const graph = importOnnx(bytes, { externalDataDir: dirname(spec) });
    const [, h, w] = graph.node(graph.input).shape;
    return { graph, size: [h, w], mean: IMAGENET_MEAN, std: IMAGENET_STD, source: spec, backend: info };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
