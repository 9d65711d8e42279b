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
import { buildZoo, findZoo } from "./zoo.ts";
import { mergePreprocessing, type Preprocessing, tfjsMetadataPreprocessing } from "./preprocessing.ts";
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
 * Load a model: `zoo:NAME` (or a bare zoo name that is not a file), an ONNX file, or a TensorFlow.js
 * `model.json` (layers or graph model).
 *
 * Preprocessing comes from, first to last: `overrides` (`--mean/--std/--size/--labels`, a `--config`
 * file), the model.json's `userDefinedMetadata` (`{labels, input: {shape, layout, scale, mean, std}}`), the
 * zoo entry, then ImageNet mean/std and the graph's input size.
 * @param spec The --model value.
 * @param backend The --backend value.
 * @param overrides Preprocessing given by the user.
 * @returns The model.
 */
export async function loadModel(
  spec: string,
  backend = "auto",
  overrides: Preprocessing = {},
): Promise<LoadedModel> {
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
  // `zoo:NAME`, or a bare zoo name (no folder, no extension) when no such file exists.
  const bare = /^[A-Za-z0-9_-]+$/.test(spec) && !(await isFile(spec));
  const zooName = spec.startsWith("zoo:") ? spec.slice(4) : bare ? spec : undefined;
  const entry = zooName === undefined ? undefined : findZoo(zooName);
  if (zooName !== undefined && !entry) {
    if (spec.startsWith("zoo:")) {
      throw new UsageError(`Unknown model '${spec}': run 'cnnlens models' for the zoo`);
    }
    throw new UsageError(`Cannot read model '${spec}': no such file (nor a zoo model: run 'cnnlens models')`);
  }
  const file = entry ? entry.file : spec;
  let graph: Graph;
  let prep: Preprocessing;
  let preprocess: ((img: RgbImage) => Float32Array) | undefined;
  if (entry && !file) {
    const z = (await buildZoo(entry.name))!;
    graph = z.graph;
    prep = mergePreprocessing(overrides, {
      size: z.entry.size,
      mean: z.entry.mean,
      std: z.entry.std,
      labels: z.entry.labels ? [...z.entry.labels] : undefined,
    });
    // The entry's own preparation (e.g. face-api's pad-to-square) unless the user changed the normalisation.
    if (!overrides.mean && !overrides.std && !overrides.size) preprocess = z.entry.preprocess;
  } else if (file!.endsWith(".json")) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await Deno.readTextFile(file!));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UsageError(`Cannot read model '${spec}': no such file`);
      }
      throw new UsageError(
        `Cannot import TensorFlow.js model '${spec}': ${(e as Error).message.split("\n")[0]}`,
      );
    }
    prep = mergePreprocessing(overrides, tfjsMetadataPreprocessing(json ?? {}, spec));
    try {
      graph = await importTfjsModel(file!, { size: prep.size });
    } catch (e) {
      throw new UsageError(withSizeHint((e as Error).message.split("\n")[0]));
    }
  } else {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file!);
    } catch {
      throw new UsageError(`Cannot read model '${spec}': no such file`);
    }
    prep = overrides;
    try {
      graph = importOnnx(bytes, { externalDataDir: dirname(file!), size: prep.size });
    } catch (e) {
      throw new UsageError((e as Error).message.split("\n")[0]);
    }
  }
  try {
    const [, h, w] = graph.node(graph.input).shape;
    if (overrides.size && (overrides.size[0] !== h || overrides.size[1] !== w)) {
      throw new UsageError(
        `Cannot use input size ${overrides.size.join("×")}: the model's input is fixed at ${h}×${w}`,
      );
    }
    const out = graph.node(graph.output).shape;
    const classes = out.reduce((a, b) => a * b, 1);
    if (prep.labels && out.length === 1 && prep.labels.length !== classes) {
      throw new UsageError(
        `Cannot use labels: ${prep.labels.length} names for a model with ${classes} outputs`,
      );
    }
    await fallback(graph);
    return {
      graph,
      size: [h, w],
      mean: prep.mean ?? IMAGENET_MEAN,
      std: prep.std ?? IMAGENET_STD,
      labels: prep.labels,
      preprocess,
      source: spec,
      backend: info,
    };
  } catch (e) {
    graph.dispose();
    throw e;
  }
}

/** The importers ask for "the input size" without knowing how the user gives it: say how. */
function withSizeHint(msg: string): string {
  return msg.endsWith("pass the input size") ? `${msg} (--size H,W, or preprocessing.size in --config)` : msg;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
