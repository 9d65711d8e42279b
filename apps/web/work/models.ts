/**
 * The worker's model cache: models load once (the CLI's `loadModel`), the evaluation suite's `model.json`
 * files get their class names and input normalisation from their metadata, and the least recently used
 * model is released when more than {@linkcode MAX_MODELS} are loaded.
 * @module
 */
import { type LoadedModel, loadModel } from "@cnnlens/cli/load";
import { imageToTensorData, type RgbImage, tf } from "@cnnlens/core";
import { type LoadedInput, loadInput } from "@cnnlens/cli/input";
import { synthSample } from "@cnnlens/eval/synth";

/** Models kept loaded at once. */
export const MAX_MODELS = 3;

const cache = new Map<string, LoadedModel>();

/** Tensors the cache gained (or lost, negative) since the last {@linkcode resetHeld}. */
export const held = { tensors: 0 };

/** Start counting the cache's tensors for a new job. */
export function resetHeld(): void {
  held.tensors = 0;
}

/**
 * A loaded model, from the cache when possible.
 * @param spec A `zoo:` name or a model file path.
 * @returns The model.
 */
export async function getModel(spec: string): Promise<LoadedModel> {
  const hit = cache.get(spec);
  if (hit) {
    cache.delete(spec);
    cache.set(spec, hit);
    return hit;
  }
  const before = tf.memory().numTensors;
  const model = await loadModel(spec, "auto");
  if (spec.endsWith(".json")) {
    const meta = JSON.parse(await Deno.readTextFile(spec)).userDefinedMetadata ?? {};
    if (Array.isArray(meta.labels)) model.labels = meta.labels.map(String);
    if (Array.isArray(meta.input?.mean) && Array.isArray(meta.input?.std)) {
      model.mean = meta.input.mean;
      model.std = meta.input.std;
    }
  }
  cache.set(spec, model);
  while (cache.size > MAX_MODELS) {
    const [old, m] = cache.entries().next().value!;
    cache.delete(old);
    m.graph.dispose();
  }
  held.tensors += tf.memory().numTensors - before;
  return model;
}

/**
 * An in-memory image as the model's input, prepared exactly as the CLI's `loadInput` prepares a file.
 * @param img The picture.
 * @param model The model (size, normalisation, own preprocessing).
 * @param source A name for messages.
 * @returns The input (its tensor is the caller's to dispose).
 */
export function imageInput(img: RgbImage, model: LoadedModel, source: string): LoadedInput {
  const [h, w] = model.size;
  const data = model.preprocess
    ? model.preprocess(img)
    : imageToTensorData(img, { size: [h, w], mean: model.mean, std: model.std, layout: "hwc" }).data;
  const display = imageToTensorData(img, {
    size: [h, w],
    mean: [0, 0, 0],
    std: [1 / 255, 1 / 255, 1 / 255],
    layout: "hwc",
  });
  return {
    tensor: tf.tensor4d(data, [1, h, w, 3]),
    display: {
      width: w,
      height: h,
      data: Uint8Array.from(display.data, (v) => Math.max(0, Math.min(255, Math.round(v)))),
    },
    source,
    original: { width: img.width, height: img.height },
  };
}

/** A catalogue path for a synthetic sample: drawn here from its split and index, never read from disk. */
export const SYNTH_PATH = /^synth:(test|fewshot)-(\d{1,4})$/;

/**
 * Load a catalogued image for a model: a file (the CLI's `loadInput`) or a synthetic sample (`synth:…`).
 * @param path The catalogue path.
 * @param model The model.
 * @returns The input (its tensor is the caller's to dispose).
 */
export async function inputFor(path: string, model: LoadedModel): Promise<LoadedInput> {
  const m = SYNTH_PATH.exec(path);
  if (m) return imageInput(synthSample(m[1] as "test" | "fewshot", Number(m[2])).image, model, path);
  return await loadInput(path, model);
}
