/**
 * Private file helpers shared by the tests and `tools/make_tfjs_fixtures.ts`: a tfjs `IOHandler` that
 * loads a `model.json` and its shards from disk (so tfjs's own `loadLayersModel` / `loadGraphModel` can
 * run the same files the importer reads), and a writer producing the standard file layout.
 * @module
 */
import { tf } from "../../tf.ts";
import { dirname, join } from "node:path";
import type { TfjsWeightsGroup, TfjsWeightSpec } from "./tfjs_weights.ts";

/**
 * A tfjs `IOHandler` reading `model.json` and its shards from disk.
 * @param path Path of the `model.json`.
 * @returns The handler for `tf.loadLayersModel` / `tf.loadGraphModel`.
 */
export function fileIOHandler(path: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await Deno.readTextFile(path));
      const groups = (json.weightsManifest ?? []) as TfjsWeightsGroup[];
      const parts: Uint8Array[] = [];
      for (const g of groups) {
        for (const p of g.paths) parts.push(await Deno.readFile(join(dirname(path), p)));
      }
      const total = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
      let o = 0;
      for (const p of parts) {
        total.set(p, o);
        o += p.byteLength;
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: groups.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
        weightData: total.buffer,
      };
    },
  };
}

/** Options for {@linkcode writeTfjsModelFiles}. */
export interface WriteTfjsOptions {
  /** Largest shard in bytes (tfjs's default is 4 MiB). */
  shardBytes?: number;
  /** `layers-model` or `graph-model`. */
  format?: string;
  /** Graph models: the signature. */
  signature?: unknown;
}

/**
 * Write `model.json` and `group1-shardNofM.bin` files in the standard tfjs layout.
 * @param dir Destination folder (created).
 * @param topology `modelTopology`.
 * @param specs Weight specs in layout order.
 * @param data Weight bytes.
 * @param options Shard size, format.
 */
export async function writeTfjsModelFiles(
  dir: string,
  topology: unknown,
  specs: TfjsWeightSpec[],
  data: Uint8Array,
  options: WriteTfjsOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".bin") || e.name === "model.json") await Deno.remove(join(dir, e.name));
  }
  const size = options.shardBytes ?? 4 * 1024 * 1024;
  const n = Math.max(1, Math.ceil(data.byteLength / size));
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = `group1-shard${i + 1}of${n}.bin`;
    paths.push(p);
    await Deno.writeFile(join(dir, p), data.subarray(i * size, Math.min(data.byteLength, (i + 1) * size)));
  }
  const json: Record<string, unknown> = {
    format: options.format ?? "layers-model",
    generatedBy: `TensorFlow.js tfjs v${tf.version.tfjs}`,
    convertedBy: "cnnlens tools/make_tfjs_fixtures.ts",
    modelTopology: topology,
    weightsManifest: [{ paths, weights: specs }],
  };
  if (options.signature) json.signature = options.signature;
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(json, null, 1) + "\n");
}
