/**
 * A model's preprocessing — input size, normalisation, class names — from the places it can come from:
 * `--mean/--std/--size/--labels`, a `--config` file's `preprocessing` and `labels`, a TensorFlow.js
 * `model.json`'s `userDefinedMetadata`, and the zoo. Merged in that order (the first that says wins).
 * @module
 */
import { UsageError } from "./errors.ts";

/** What a model's inputs need, as far as it is known. Every field is optional: later sources fill gaps. */
export interface Preprocessing {
  /** Input size [H, W]. */
  size?: [number, number];
  /** Per-channel mean of [0, 1] pixels (RGB). */
  mean?: [number, number, number];
  /** Per-channel standard deviation of [0, 1] pixels (RGB). */
  std?: [number, number, number];
  /** Class names, index = class. */
  labels?: string[];
}

/** The raw preprocessing description of a config file or of tfjs metadata (`input` there). */
export interface PreprocessingSpec {
  /** Input size [H, W] (or one number for a square). */
  size?: number | number[];
  /** Input shape without the batch, read in `layout` order: [H, W, C] (NHWC) or [C, H, W] (NCHW). */
  shape?: number[];
  /** How `shape` is ordered. @default "NCHW" */
  layout?: string;
  /** Multiplier from 8-bit pixels to the units `mean`/`std` are given in. @default 1/255 */
  scale?: number;
  mean?: number[];
  std?: number[];
}

const SPEC_KEYS = ["size", "shape", "layout", "scale", "mean", "std"];

function fail(where: string, msg: string): never {
  throw new UsageError(`Cannot use ${where}: ${msg}`);
}

function triple(where: string, key: string, v: unknown): [number, number, number] {
  if (typeof v === "number" && Number.isFinite(v)) return [v, v, v];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    fail(where, `'${key}' must be 3 numbers (R, G, B), got ${JSON.stringify(v)}`);
  }
  return v as [number, number, number];
}

function sizeOf(where: string, key: string, v: unknown): [number, number] {
  const ok = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x > 0;
  if (ok(v)) return [v as number, v as number];
  if (Array.isArray(v) && v.length === 2 && v.every(ok)) return v as [number, number];
  fail(where, `'${key}' must be a positive integer or [H, W], got ${JSON.stringify(v)}`);
}

/**
 * Read a preprocessing description (a config file's `preprocessing`, tfjs metadata's `input`).
 * `scale` is folded into `mean`/`std` so that they apply to [0, 1] pixels:
 * `(p·scale − m) / s = (p/255 − m/(255·scale)) / (s/(255·scale))`.
 * @param spec The parsed JSON object.
 * @param where What it is, for messages (e.g. "config 'cnnlens.json' preprocessing").
 * @returns The preprocessing it gives.
 * @throws {UsageError} On an unknown key or a malformed value, naming it.
 * @example
 * ```ts
 * import { preprocessingFromSpec } from "./preprocessing.ts";
 * const p = preprocessingFromSpec({ shape: [64, 64, 3], layout: "NHWC", scale: 1, mean: [127.5, 127.5, 127.5], std: [255, 255, 255] }, "x");
 * if (p.size?.join() !== "64,64" || p.mean?.[0] !== 0.5 || p.std?.[0] !== 1) throw new Error(JSON.stringify(p));
 * ```
 */
export function preprocessingFromSpec(spec: unknown, where: string): Preprocessing {
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) fail(where, "it must be a JSON object");
  const s = spec as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!SPEC_KEYS.includes(k)) fail(where, `unknown key '${k}' (use ${SPEC_KEYS.join(", ")})`);
  }
  const out: Preprocessing = {};
  const layout = s.layout === undefined ? "NCHW" : String(s.layout).toUpperCase();
  if (layout !== "NCHW" && layout !== "NHWC") {
    fail(where, `'layout' must be "NCHW" or "NHWC", got ${JSON.stringify(s.layout)}`);
  }
  if (s.shape !== undefined) {
    let shape = s.shape as (number | null)[];
    if (Array.isArray(shape) && shape.length === 4) shape = shape.slice(1); // a leading batch dimension
    if (!Array.isArray(shape) || shape.length !== 3) {
      fail(where, `'shape' must be [H, W, C] (NHWC) or [C, H, W] (NCHW), got ${JSON.stringify(s.shape)}`);
    }
    const [h, w] = layout === "NHWC" ? [shape[0], shape[1]] : [shape[1], shape[2]];
    // Unknown spatial dimensions (null, -1) leave the size to the model or a later source.
    if (h !== null && w !== null && h !== -1 && w !== -1) out.size = sizeOf(where, "shape", [h, w]);
  }
  if (s.size !== undefined) out.size = sizeOf(where, "size", s.size);
  let scale = 1 / 255;
  if (s.scale !== undefined) {
    if (typeof s.scale !== "number" || !(s.scale > 0)) {
      fail(where, `'scale' must be a positive number, got ${JSON.stringify(s.scale)}`);
    }
    scale = s.scale;
  }
  const k = 255 * scale; // 1 for the default scale: mean/std already apply to [0, 1] pixels
  if (s.mean !== undefined || s.scale !== undefined) {
    const m = s.mean === undefined ? [0, 0, 0] : triple(where, "mean", s.mean);
    out.mean = m.map((v) => v / k) as [number, number, number];
  }
  if (s.std !== undefined || s.scale !== undefined) {
    const d = s.std === undefined ? [1, 1, 1] : triple(where, "std", s.std);
    if (d.some((v) => v === 0)) fail(where, `'std' must be non-zero, got ${JSON.stringify(s.std)}`);
    out.std = d.map((v) => v / k) as [number, number, number];
  }
  return out;
}

/**
 * Read class names: a JSON array of strings, or an array given inline.
 * @param v The value (already parsed).
 * @param where For messages.
 * @returns The names.
 */
export function labelsFrom(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    fail(where, `labels must be an array of strings, got ${JSON.stringify(v).slice(0, 60)}`);
  }
  return v as string[];
}

/**
 * Read a labels file: `.json` (an array of strings, or an object with a `labels` array) or text (one name
 * per line; blank lines at the end are ignored).
 * @param path The file.
 * @returns The names.
 */
export async function readLabelsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new UsageError(`Cannot read labels '${path}': no such file`);
  }
  if (path.toLowerCase().endsWith(".json")) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`Cannot read labels '${path}': not JSON (${(e as Error).message.split("\n")[0]})`);
    }
    if (v && typeof v === "object" && !Array.isArray(v)) v = (v as Record<string, unknown>).labels;
    return labelsFrom(v, `labels '${path}'`);
  }
  const lines = text.replace(/\r/g, "").split("\n");
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  return lines.map((l) => l.trim());
}

/**
 * The preprocessing a TensorFlow.js `model.json` declares in `userDefinedMetadata`:
 * `{labels: [...], input: {shape, layout, scale, mean, std}}` (as the eval models have). Other metadata
 * keys are the model's own business and are ignored.
 * @param json The parsed model.json.
 * @param where The file, for messages.
 * @returns What it declares (empty when it has no metadata).
 */
export function tfjsMetadataPreprocessing(json: Record<string, unknown>, where: string): Preprocessing {
  const meta = json.userDefinedMetadata;
  if (!meta || typeof meta !== "object") return {};
  const m = meta as Record<string, unknown>;
  const out: Preprocessing = {};
  if (m.input !== undefined) {
    const input = { ...(m.input as Record<string, unknown>) };
    // Only the keys cnnlens understands; a model may describe more about its input.
    for (const k of Object.keys(input)) if (!SPEC_KEYS.includes(k)) delete input[k];
    Object.assign(
      out,
      preprocessingFromSpec(input, `the metadata of '${where}' (userDefinedMetadata.input)`),
    );
  }
  if (m.labels !== undefined) out.labels = labelsFrom(m.labels, `the metadata of '${where}'`);
  return out;
}

/**
 * Merge preprocessing sources, the first that gives a field wins.
 * @param sources Most important first.
 * @returns The merged fields.
 */
export function mergePreprocessing(...sources: (Preprocessing | undefined)[]): Preprocessing {
  const out: Preprocessing = {};
  for (const s of sources.slice().reverse()) {
    if (!s) continue;
    for (const [k, v] of Object.entries(s)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/**
 * Parse `--mean`/`--std` ("0.485,0.456,0.406" or one number) and `--size` ("224", "224,224" or "224x224").
 * @param flags Raw flag values.
 * @returns The preprocessing they give.
 */
export function preprocessingFromFlags(
  flags: { mean?: string; std?: string; size?: string },
): Preprocessing {
  const out: Preprocessing = {};
  const nums = (name: string, v: string) => {
    const parts = v.split(/[,x×\s]+/).filter(Boolean).map(Number);
    if (!parts.length || parts.some((x) => !Number.isFinite(x))) {
      throw new UsageError(`--${name} must be numbers separated by commas, got '${v}'`);
    }
    return parts;
  };
  for (const key of ["mean", "std"] as const) {
    const v = flags[key];
    if (v === undefined) continue;
    const p = nums(key, v);
    if (p.length !== 1 && p.length !== 3) {
      throw new UsageError(`--${key} must be one number or three (R,G,B), got '${v}'`);
    }
    if (key === "std" && p.some((x) => x === 0)) throw new UsageError(`--std must be non-zero, got '${v}'`);
    out[key] = (p.length === 1 ? [p[0], p[0], p[0]] : p) as [number, number, number];
  }
  if (flags.size !== undefined) {
    const p = nums("size", flags.size);
    if ((p.length !== 1 && p.length !== 2) || p.some((x) => !Number.isInteger(x) || x <= 0)) {
      throw new UsageError(`--size must be N or H,W (positive integers), got '${flags.size}'`);
    }
    out.size = (p.length === 1 ? [p[0], p[0]] : p) as [number, number];
  }
  return out;
}
