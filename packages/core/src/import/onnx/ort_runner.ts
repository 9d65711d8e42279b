/**
 * Reference execution of ONNX models with onnxruntime-web (wasm execution provider), used by the
 * parity tests of the ONNX importer.
 *
 * Under Deno, `import "onnxruntime-web"` resolves (export condition "node") to
 * `dist/ort.node.min.mjs`, which loads `ort-wasm-simd-threaded.{mjs,wasm}` from its own
 * directory in node_modules: no `wasmPaths` is needed. We force `numThreads = 1` (no worker
 * threads, deterministic, nothing left running when a test ends).
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { decodeModelProto, type ModelProto, onnxModelProtoType } from "./onnx_proto.ts";

/** A dense float tensor (row-major). */
export interface OrtTensor {
  data: Float32Array;
  shape: number[];
}

let configured = false;

function configure(): void {
  if (configured) return;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  configured = true;
}

/**
 * Re-encodes `bytes` with the tensors in `names` appended to the graph outputs (names that are
 * already graph outputs are left alone). Throws when a name is produced by no node and is not a
 * graph input or initializer.
 */
export function withExtraOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  const model: ModelProto = decodeModelProto(bytes);
  const g = model.graph!;
  const outputs = g.output ?? (g.output = []);
  const have = new Set(outputs.map((o) => o.name));
  const known = new Set<string>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) known.add(o);
  for (const i of g.input ?? []) known.add(i.name ?? "");
  for (const t of g.initializer ?? []) known.add(t.name ?? "");
  const missing = names.filter((n) => !known.has(n));
  if (missing.length) {
    throw new Error(`runOrt: no tensor named ${missing.map((n) => `'${n}'`).join(", ")} in the model`);
  }
  let added = false;
  for (const name of names) {
    if (have.has(name)) continue;
    // A ValueInfoProto without a type: onnxruntime infers it from the producing node.
    outputs.push({ name });
    have.add(name);
    added = true;
  }
  if (!added) return bytes;
  const type = onnxModelProtoType();
  return type.encode(type.fromObject(model)).finish();
}

function toFloat32(t: ort.Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    return Float32Array.from(d, (v) => Number(v));
  }
  if (Array.isArray(d)) throw new Error(`runOrt: output of type ${t.type} is not numeric`);
  return Float32Array.from(d as ArrayLike<number>);
}

/**
 * Runs an ONNX model on one float32 input with onnxruntime-web (wasm EP).
 *
 * Without `outputNames` the result holds every graph output; with it, exactly the named tensors
 * (graph outputs or intermediate tensors, which are added as graph outputs first). Non-float
 * outputs are converted to Float32Array.
 */
export async function runOrt(
  bytes: Uint8Array,
  input: { data: Float32Array; shape: number[] },
  outputNames?: string[],
): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  configure();
  const model = outputNames?.length ? withExtraOutputs(bytes, outputNames) : bytes;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input.data, input.shape) };
    const fetches = outputNames?.length ? outputNames : [...session.outputNames];
    const results = await session.run(feeds, fetches);
    const out = new Map<string, OrtTensor>();
    for (const name of fetches) {
      const t = results[name];
      out.set(name, { data: toFloat32(t), shape: [...t.dims] });
      t.dispose();
    }
    return out;
  } finally {
    await session.release();
  }
}
