/**
 * TensorFlow.js weights: the `weightsManifest` of a `model.json`, its binary shards, and the decoding of
 * float32, int32 and quantized (uint8 / uint16 affine, float16) weights into plain typed arrays.
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { TfjsImportError } from "./tfjs_import_error.ts";

/** Quantization of one weight, as `tensorflowjs_converter --quantize_*` writes it. */
export interface TfjsQuantization {
  /** Storage type of the quantized values. */
  dtype: "uint8" | "uint16" | "float16";
  /** Affine scale (uint8 / uint16): value = q · scale + min. */
  scale?: number;
  /** Affine offset (uint8 / uint16). */
  min?: number;
  /** The dtype before quantization (older converters). */
  original_dtype?: string;
}

/** One entry of a weights manifest group: a named tensor laid out in the group's concatenated shards. */
export interface TfjsWeightSpec {
  /** Weight name, e.g. `conv2d_1/kernel`. */
  name: string;
  /** Tensor shape. */
  shape: number[];
  /** Element type after decoding. */
  dtype: string;
  /** Present when the stored values are quantized. */
  quantization?: TfjsQuantization;
}

/** One group of a `weightsManifest`: shard files (concatenated in order) and the weights they hold. */
export interface TfjsWeightsGroup {
  /** Shard file names, relative to `model.json`. */
  paths: string[];
  /** Weights, laid out back to back in the concatenated shards. */
  weights: TfjsWeightSpec[];
}

/** A decoded weight: values as float32 (int32 weights keep exact integers up to 2²⁴). */
export interface TfjsWeight {
  /** Weight name. */
  name: string;
  /** Tensor shape. */
  shape: number[];
  /** Original element type (`float32`, `int32`, …). */
  dtype: string;
  /** Values, row-major. */
  data: Float32Array;
}

/**
 * Where shard bytes come from: one buffer holding every shard of every group back to back (tfjs's
 * `weightData`), or a function reading a shard by its manifest path.
 */
export type TfjsWeightsSource =
  | ArrayBuffer
  | Uint8Array
  | ArrayBuffer[]
  | ((path: string) => Promise<Uint8Array | ArrayBuffer>);

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function fail(msg: string): never {
  throw new TfjsImportError(`Cannot import TensorFlow.js model: ${msg}`);
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Decode an IEEE 754 half-precision value (its 16 bits) to a number, exactly.
 * @param h The 16 bits.
 * @returns The value.
 * @example
 * ```ts
 * import { float16ToNumber } from "./tfjs_weights.ts";
 * if (float16ToNumber(0x3c00) !== 1 || float16ToNumber(0xc000) !== -2) throw new Error("float16");
 * ```
 */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Bytes one weight occupies in the shards.
 * @param spec The weight's manifest entry.
 * @returns Its byte length.
 */
export function weightByteLength(spec: TfjsWeightSpec): number {
  const t = spec.quantization?.dtype ?? spec.dtype;
  const b = BYTES[t];
  if (!b) {
    fail(`weight '${spec.name}' has unsupported dtype '${t}' (supported: ${Object.keys(BYTES).join(", ")})`);
  }
  return count(spec.shape) * b;
}

/**
 * Decode weights laid out back to back in `bytes` (a group's shards concatenated), as tfjs's
 * `io.decodeWeights` does: float32/int32/bool as stored, uint8/uint16 as `q · scale + min` (computed in
 * double precision, then rounded to float32), float16 exactly.
 * @param specs Manifest entries, in layout order.
 * @param bytes The concatenated shard bytes.
 * @param where What to name in errors (e.g. the shard files).
 * @returns Decoded weights by name.
 * @example
 * ```ts
 * import { decodeTfjsWeights } from "./tfjs_weights.ts";
 * const w = decodeTfjsWeights(
 *   [{ name: "q", shape: [3], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } }],
 *   Uint8Array.of(0, 2, 4),
 * );
 * if (w.get("q")!.data.join() !== "-1,0,1") throw new Error("dequantization");
 * ```
 */
export function decodeTfjsWeights(
  specs: TfjsWeightSpec[],
  bytes: Uint8Array,
  where = "the weights data",
): Map<string, TfjsWeight> {
  const out = new Map<string, TfjsWeight>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const len = weightByteLength(spec);
    if (offset + len > bytes.byteLength) {
      fail(
        `${where} hold ${bytes.byteLength} bytes, but weight '${spec.name}' needs bytes ${offset}..${
          offset + len
        } (truncated or missing shard?)`,
      );
    }
    const n = count(spec.shape);
    const data = new Float32Array(n);
    const q = spec.quantization;
    if (q) {
      if (q.dtype === "float16") {
        for (let i = 0; i < n; i++) data[i] = float16ToNumber(view.getUint16(offset + 2 * i, true));
      } else {
        if (typeof q.scale !== "number" || typeof q.min !== "number") {
          fail(`weight '${spec.name}' is quantized to ${q.dtype} without 'scale' and 'min'`);
        }
        const { scale, min } = q;
        const round = spec.dtype === "int32";
        for (let i = 0; i < n; i++) {
          const v = q.dtype === "uint8" ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
          data[i] = round ? Math.round(v * scale + min) : v * scale + min;
        }
      }
    } else if (spec.dtype === "float32") {
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(offset + 4 * i, true);
    } else if (spec.dtype === "int32") {
      for (let i = 0; i < n; i++) data[i] = view.getInt32(offset + 4 * i, true);
    } else if (spec.dtype === "bool") {
      for (let i = 0; i < n; i++) data[i] = view.getUint8(offset + i) ? 1 : 0;
    }
    out.set(spec.name, { name: spec.name, shape: [...spec.shape], dtype: spec.dtype, data });
    offset += len;
  }
  return out;
}

function asBytes(b: Uint8Array | ArrayBuffer): Uint8Array {
  return b instanceof Uint8Array ? b : new Uint8Array(b);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * A shard reader for a `model.json` on disk: manifest paths are resolved against the file's folder.
 * A missing or unreadable shard is a one-line {@linkcode TfjsImportError} naming the file.
 * @param modelPath Path of the `model.json`.
 * @returns The reader.
 */
export function shardReaderFor(modelPath: string): (path: string) => Promise<Uint8Array> {
  const dir = dirname(modelPath);
  return async (p: string) => {
    const file = isAbsolute(p) ? p : join(dir, decodeURIComponent(p));
    try {
      return await Deno.readFile(file);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message.split("\n")[0];
      fail(`cannot read weights file '${file}' (${why})`);
    }
  };
}

/**
 * Read and decode every weight of a manifest.
 * @param manifest The `weightsManifest` groups.
 * @param source Shard bytes: one buffer with all shards back to back, or a reader by manifest path.
 * @returns Decoded weights by name.
 * @example
 * ```ts
 * import { loadTfjsWeights } from "./tfjs_weights.ts";
 * const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
 * const w = await loadTfjsWeights(
 *   [{ paths: ["w.bin"], weights: [{ name: "b", shape: [2], dtype: "float32" }] }],
 *   bytes,
 * );
 * if (w.get("b")!.data[1] !== -2) throw new Error("float32");
 * ```
 */
export async function loadTfjsWeights(
  manifest: TfjsWeightsGroup[],
  source: TfjsWeightsSource,
): Promise<Map<string, TfjsWeight>> {
  const out = new Map<string, TfjsWeight>();
  if (typeof source === "function") {
    for (const group of manifest) {
      const parts = await Promise.all(group.paths.map(async (p) => asBytes(await source(p))));
      const files = group.paths.map((p) => `'${p}'`).join(", ");
      for (const [k, v] of decodeTfjsWeights(group.weights, concat(parts), `weights file(s) ${files}`)) {
        out.set(k, v);
      }
    }
    return out;
  }
  const all = Array.isArray(source) ? concat(source.map(asBytes)) : asBytes(source);
  return decodeTfjsWeights(manifest.flatMap((g) => g.weights), all);
}
