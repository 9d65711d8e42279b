import {
  type BackendChoice,
  type BackendInfo,
  type Graph,
  importOnnx,
  importTfjsModel,
  missingKernels,
  type RgbImage,
  useBackend,
} from "@cnnlens/core";
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
  /** Exact input preparation for models that need their own (face-api), NHWC [1, H, W, 3]. */
  preprocess?: (img: RgbImage) => Float32Array;
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
  let info = await useBackend(backend as BackendChoice);
  const fallback = async (graph: Graph) => {
    // A backend without a kernel the methods need (e.g. tfjs-wasm has no depthwise-conv gradient): say so
    // and move to cpu, never silently.
    const missing = missingKernels(graph.nodes);
    if (missing.length && info.name !== "cpu") {
      const was = info.name;
      info = await useBackend("cpu");
      info = { ...info, reason: `${was} lacks ${missing.join(", ")}; using cpu` };
      console.error(`cnnlens: backend ${was} lacks ${missing.join(", ")} (needed for gradients); using cpu`);
    }
  };
  if (spec.startsWith("zoo:")) {
    const z = await buildZoo(spec.slice(4));
    if (!z) throw new UsageError(`Unknown model '${spec}': run 'cnnlens models' for the zoo`);
    await fallback(z.graph);
    return {
      graph: z.graph,
      size: z.entry.size,
      mean: z.entry.mean ?? IMAGENET_MEAN,
      std: z.entry.std ?? IMAGENET_STD,
      labels: z.entry.labels ? [...z.entry.labels] : undefined,
      preprocess: z.entry.preprocess,
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
    try {
      const graph = await importTfjsModel(spec);
      await fallback(graph);
      const [, h, w] = graph.node(graph.input).shape;
      return { graph, size: [h, w], mean: IMAGENET_MEAN, std: IMAGENET_STD, source: spec, backend: info };
    } catch (e) {
      throw new UsageError((e as Error).message.split("\n")[0]);
    }
  }
  try {
    const graph = importOnnx(bytes, { externalDataDir: dirname(spec) });
    await fallback(graph);
    const [, h, w] = graph.node(graph.input).shape;
    return { graph, size: [h, w], mean: IMAGENET_MEAN, std: IMAGENET_STD, source: spec, backend: info };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
