/**
 * Reading face-api's shipped weights: a TensorFlow.js weights manifest (`*-weights_manifest.json`) and its
 * binary shards (`*.bin`), with uint8/uint16 quantized entries dequantized as TensorFlow.js does
 * (`value = q · scale + min`, rounded to float32).
 * @module
 */

/** Quantization record of one manifest entry. */
export interface FaceApiQuantization {
  /** Stored type: `uint8` or `uint16` (affine, with `scale` and `min`); `float16` is not supported. */
  dtype: "uint8" | "uint16" | "float16";
  /** Step between consecutive quantized values. */
  scale?: number;
  /** Value of the quantized 0. */
  min?: number;
}

/** One entry of a weights manifest. */
export interface FaceApiWeightEntry {
  /** Weight name, e.g. `conv32_1/conv1/conv/filters`. */
  name: string;
  /** Shape in TensorFlow.js layout (conv filters [kh, kw, cin, cout], depthwise [kh, kw, cin, mult]). */
  shape: number[];
  /** Logical dtype (only float32 is used by face-api). */
  dtype: string;
  /** Present when the entry is stored quantized. */
  quantization?: FaceApiQuantization;
}

/** One group of a weights manifest: shards (concatenated in order) holding the entries in order. */
export interface FaceApiManifestGroup {
  /** Shard file names, relative to the manifest. */
  paths: string[];
  /** Entries, stored back to back in the concatenated shards. */
  weights: FaceApiWeightEntry[];
}

/** A dequantized weight. */
export interface FaceApiWeight {
  /** Shape (TensorFlow.js layout). */
  shape: number[];
  /** Float32 values, row-major. */
  data: Float32Array;
  /** How it was stored: `float32`, `uint8` or `uint16`. */
  stored: string;
}

/** Every weight of one face-api model, by manifest name, in manifest order. */
export type FaceApiWeights = Map<string, FaceApiWeight>;

/** Options for loading face-api models. */
export interface FaceApiLoadOptions {
  /**
   * Folder holding `<model>-weights_manifest.json` and its shards.
   * @default the `model/` folder of the installed `@vladmandic/face-api` package
   */
  modelDir?: string | URL;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Dequantize the entries of a weights manifest from its concatenated shard bytes.
 *
 * @param groups The manifest (an array of groups).
 * @param shards For each group, its shards' bytes concatenated in `paths` order.
 * @returns The weights by name, in manifest order.
 * @throws {RangeError} When the bytes and the manifest disagree in length, or a dtype is unsupported.
 * @example
 * ```ts
 * import { dequantizeFaceApiWeights } from "./faceapi_weights.ts";
 * const w = dequantizeFaceApiWeights(
 *   [{ paths: ["a.bin"], weights: [{ name: "w", shape: [2], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } }] }],
 *   [Uint8Array.of(0, 6)],
 * );
 * if (w.get("w")!.data[1] !== 2) throw new Error("6 · 0.5 − 1 = 2");
 * ```
 */
export function dequantizeFaceApiWeights(
  groups: FaceApiManifestGroup[],
  shards: Uint8Array[],
): FaceApiWeights {
  if (groups.length !== shards.length) {
    throw new RangeError(`Weights manifest has ${groups.length} groups but ${shards.length} were read`);
  }
  const out: FaceApiWeights = new Map();
  groups.forEach((group, gi) => {
    const bytes = shards[gi];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const e of group.weights) {
      if (e.dtype !== "float32") {
        throw new RangeError(`Weight '${e.name}' has dtype ${e.dtype}: only float32 weights are supported`);
      }
      const n = size(e.shape);
      const q = e.quantization;
      const width = !q ? 4 : q.dtype === "uint8" ? 1 : q.dtype === "uint16" ? 2 : 0;
      if (!width) {
        throw new RangeError(
          `Weight '${e.name}' is quantized as ${q!.dtype}: only uint8 and uint16 quantization are supported`,
        );
      }
      if (offset + n * width > bytes.byteLength) {
        throw new RangeError(
          `Weights of group ${gi} (${group.paths.join(", ")}) end after ${bytes.byteLength} bytes, ` +
            `before '${e.name}' (needs ${offset + n * width})`,
        );
      }
      const data = new Float32Array(n);
      if (!q) {
        for (let i = 0; i < n; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else {
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        for (let i = 0; i < n; i++) {
          const v = width === 1 ? bytes[offset + i] : view.getUint16(offset + 2 * i, true);
          data[i] = v * scale + min;
        }
      }
      offset += n * width;
      out.set(e.name, { shape: [...e.shape], data, stored: q ? q.dtype : "float32" });
    }
    if (offset !== bytes.byteLength) {
      throw new RangeError(
        `Weights of group ${gi} (${group.paths.join(", ")}) have ${bytes.byteLength} bytes, ` +
          `the manifest describes ${offset}`,
      );
    }
  });
  return out;
}

/**
 * The total number of values a weights manifest describes (the model's parameter count as shipped).
 * @param groups The manifest.
 * @returns Sum over entries of the product of the shape.
 * @example
 * ```ts
 * import { faceApiParameterCount } from "./faceapi_weights.ts";
 * const n = faceApiParameterCount([{ paths: [], weights: [{ name: "w", shape: [3, 4], dtype: "float32" }] }]);
 * if (n !== 12) throw new Error("12 expected");
 * ```
 */
export function faceApiParameterCount(groups: FaceApiManifestGroup[]): number {
  return groups.reduce((acc, g) => acc + g.weights.reduce((a, e) => a + size(e.shape), 0), 0);
}

function isDir(url: URL): boolean {
  try {
    return Deno.statSync(url).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The `model/` folder of the installed `@vladmandic/face-api` package: resolved through the module
 * resolution (`import.meta.resolve`), else found by walking up from this file to a `node_modules` folder.
 *
 * @returns The folder's URL (ending in `/`).
 * @throws {Error} When the package is not installed.
 * @example
 * ```ts
 * import { faceapiModelDir } from "./faceapi_weights.ts";
 * if (!faceapiModelDir().href.endsWith("/model/")) throw new Error("model folder expected");
 * ```
 */
export function faceapiModelDir(): URL {
  const tried: string[] = [];
  try {
    const dir = new URL("model/", import.meta.resolve("@vladmandic/face-api/package.json"));
    if (dir.protocol === "file:" ? isDir(dir) : /^https?:$/.test(dir.protocol)) return dir;
    tried.push(dir.href);
  } catch {
    // Not resolvable from here (e.g. no package.json mapping): walk up instead.
  }
  if (new URL(import.meta.url).protocol === "file:") {
    let dir = new URL("./", import.meta.url);
    for (;;) {
      const cand = new URL("node_modules/@vladmandic/face-api/model/", dir);
      if (isDir(cand)) return cand;
      tried.push(cand.href);
      const up = new URL("../", dir);
      if (up.href === dir.href) break;
      dir = up;
    }
  }
  throw new Error(
    `Cannot find @vladmandic/face-api's model folder (looked in ${tried.slice(0, 3).join(", ")}…): ` +
      "install the package (npm install @vladmandic/face-api) or pass modelDir",
  );
}

function toUrl(d: string | URL): URL {
  if (d instanceof URL) return d;
  if (/^(file|https?):/.test(d)) return new URL(d);
  const abs = d.startsWith("/") ? d : `${Deno.cwd()}/${d}`;
  return new URL(`file://${abs.split("/").map(encodeURIComponent).join("/")}`);
}

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:" && typeof Deno !== "undefined") {
    try {
      return await Deno.readFile(url);
    } catch (e) {
      throw new Error(`Cannot read face-api weights '${url.pathname}': ${(e as Error).message}`);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Cannot fetch face-api weights '${url.href}': HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Load and dequantize one face-api model's weights (`<model>-weights_manifest.json` and its shards).
 *
 * @param model Model file stem, e.g. `face_recognition_model`.
 * @param options Where the files are.
 * @returns The weights and the manifest.
 * @example
 * ```ts
 * import { loadFaceApiWeights } from "./faceapi_weights.ts";
 * const { weights } = await loadFaceApiWeights("face_expression_model");
 * if (weights.get("fc/weights")!.shape[1] !== 7) throw new Error("7 expressions expected");
 * ```
 */
export async function loadFaceApiWeights(
  model: string,
  options: FaceApiLoadOptions = {},
): Promise<{ weights: FaceApiWeights; manifest: FaceApiManifestGroup[] }> {
  let dir = options.modelDir ? toUrl(options.modelDir) : faceapiModelDir();
  if (!dir.href.endsWith("/")) dir = new URL(`${dir.href}/`);
  const manifestUrl = new URL(`${model}-weights_manifest.json`, dir);
  const text = new TextDecoder().decode(await readBytes(manifestUrl));
  let manifest: FaceApiManifestGroup[];
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot parse face-api manifest '${manifestUrl.pathname}': ${(e as Error).message}`);
  }
  if (
    !Array.isArray(manifest) || manifest.some((g) => !Array.isArray(g.paths) || !Array.isArray(g.weights))
  ) {
    throw new Error(`Cannot read face-api manifest '${manifestUrl.pathname}': not a weights manifest`);
  }
  const shards = await Promise.all(manifest.map(async (g) => {
    const parts = await Promise.all(g.paths.map((p) => readBytes(new URL(p, manifestUrl))));
    const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.byteLength;
    }
    return all;
  }));
  return { weights: dequantizeFaceApiWeights(manifest, shards), manifest };
}
