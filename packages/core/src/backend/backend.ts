import { tf } from "../tf.ts";
import { CONV_TRANSPOSE_BACKENDS } from "../rules/conv_transpose.ts";

/** Names of the tfjs backends cnnlens supports. */
export type BackendName = "webgpu" | "wasm" | "cpu";
/** A backend choice: a name, or `auto` for the fastest that works here. */
export type BackendChoice = BackendName | "auto";

/** What {@linkcode useBackend} chose and why. */
export interface BackendInfo {
  /** The backend now active. */
  name: BackendName;
  /** Human-readable description (for WebGPU, the adapter). */
  description: string;
  /** Why this backend was chosen (e.g. "auto: WebGPU adapter is a software fallback (llvmpipe)"). */
  reason: string;
}

/** Raised when an explicitly requested backend cannot be initialised. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

interface AdapterProbe {
  ok: boolean;
  fallback: boolean;
  description: string;
}

async function probeWebGpu(): Promise<AdapterProbe> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis.navigator as any)?.gpu;
  if (!gpu) return { ok: false, fallback: false, description: "navigator.gpu is not available" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, fallback: false, description: "no WebGPU adapter" };
    const info = adapter.info ?? {};
    const fallback = Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter);
    const description = [info.vendor, info.architecture, info.description].filter((s: string) =>
      s
    ).join(" ") ||
      "WebGPU adapter";
    return { ok: true, fallback, description };
  } catch (e) {
    return { ok: false, fallback: false, description: `requestAdapter failed: ${(e as Error).message}` };
  }
}

/**
 * Whether a hardware WebGPU adapter is there (not a software fallback such as llvmpipe or SwiftShader).
 * @returns True on a real GPU.
 */
export async function hardwareWebGpu(): Promise<boolean> {
  const probe = await probeWebGpu();
  return probe.ok && !probe.fallback;
}

/**
 * The backends a benchmark runs: exactly those named in `CNNLENS_BENCH_BACKENDS` (comma-separated) when it
 * is set, else `defaults` plus `webgpu` when there is a hardware adapter (a software adapter is far too slow
 * to time whole networks on; name `webgpu` to include it anyway).
 * @param defaults The backends to run when nothing is named.
 * @returns Backend names, in order.
 */
export async function benchBackends(defaults: BackendName[]): Promise<BackendName[]> {
  const named = Deno.env.get("CNNLENS_BENCH_BACKENDS");
  if (named) {
    const list = named.split(",").map((b) => b.trim()).filter(Boolean);
    const bad = list.filter((b) => !["webgpu", "wasm", "cpu"].includes(b));
    if (bad.length) {
      throw new TypeError(`CNNLENS_BENCH_BACKENDS: unknown backend '${bad[0]}': use webgpu, wasm or cpu`);
    }
    return list as BackendName[];
  }
  const out = [...defaults];
  if (!out.includes("webgpu") && await hardwareWebGpu()) out.push("webgpu");
  return out;
}

async function trySet(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    // A tiny op proves the backend really executes.
    const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)));
    const v = (await probe.data())[0];
    probe.dispose();
    return v === 2;
  } catch {
    return false;
  }
}

let current: BackendInfo | undefined;

/**
 * Activate a tfjs backend. `auto` picks a real (non-fallback) WebGPU adapter, else wasm, else cpu.
 * An explicit choice is honoured or fails with {@linkcode BackendUnavailableError}.
 *
 * @param choice The backend to use.
 * @default choice "auto"
 * @returns What was chosen.
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * const info = await useBackend("cpu");
 * if (info.name !== "cpu") throw new Error("expected cpu");
 * ```
 */
export async function useBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  if (choice === "auto") {
    const gpu = await probeWebGpu();
    if (gpu.ok && !gpu.fallback && await trySet("webgpu")) {
      current = { name: "webgpu", description: gpu.description, reason: "auto: hardware WebGPU adapter" };
      return current;
    }
    const why = gpu.ok ? `WebGPU adapter is a software fallback (${gpu.description})` : gpu.description;
    if (await trySet("wasm")) {
      current = { name: "wasm", description: "WebAssembly", reason: `auto: ${why}; using wasm` };
      return current;
    }
    await trySet("cpu");
    current = {
      name: "cpu",
      description: "plain JavaScript",
      reason: `auto: ${why}; wasm failed; using cpu`,
    };
    return current;
  }
  if (!["webgpu", "wasm", "cpu"].includes(choice)) {
    throw new TypeError(`Unknown backend '${choice}': use one of auto, webgpu, wasm, cpu`);
  }
  let description = choice === "wasm" ? "WebAssembly" : "plain JavaScript";
  if (choice === "webgpu") {
    const gpu = await probeWebGpu();
    if (!gpu.ok) throw new BackendUnavailableError(`Cannot use backend 'webgpu': ${gpu.description}`);
    description = gpu.description + (gpu.fallback ? " (software fallback adapter)" : "");
  }
  if (!(await trySet(choice))) {
    throw new BackendUnavailableError(`Cannot use backend '${choice}': tfjs failed to initialise it`);
  }
  current = { name: choice, description, reason: "requested" };
  return current;
}

/**
 * The active backend (initialising `auto` on first use).
 * @returns The active backend's info.
 */
export async function activeBackend(): Promise<BackendInfo> {
  if (current && tf.getBackend() === current.name) return current;
  return await useBackend("auto");
}

/**
 * Kernels a graph's gradients need per op on `backend`, beyond the forward kernels (tfjs kernel names). On
 * the backends of `CONV_TRANSPOSE_BACKENDS` the core differentiates convolutions with forward convolutions
 * and max-pools (wasm) with its own routing scatter, so no backprop kernel is needed there.
 */
function gradientKernels(
  node: { op: string; attrs: { group?: number }; params: Record<string, { shape: number[] }> },
  backend: string,
): string[] {
  if (node.op === "conv2d") {
    if (CONV_TRANSPOSE_BACKENDS.has(backend)) return [];
    const g = node.attrs.group ?? 1;
    const depthwise = g > 1 && node.params.weight?.shape[2] === g;
    return depthwise ? ["DepthwiseConv2dNativeBackpropInput"] : ["Conv2DBackpropInput"];
  }
  if (node.op === "maxpool") return backend === "wasm" ? [] : ["MaxPoolGrad"];
  if (node.op === "avgpool") return ["AvgPoolGrad"];
  return [];
}

/**
 * The tfjs kernels a graph needs (for gradients, if asked) that the given backend does not implement.
 * @param nodes The graph's nodes.
 * @param backend Backend name. @default the active backend
 * @param gradientsToo Include the kernels gradient computations use.
 * @returns Missing kernel names (empty when the backend can run everything).
 */
export function missingKernels(
  nodes: { op: string; attrs: { group?: number }; params: Record<string, { shape: number[] }> }[],
  backend: string = tf.getBackend(),
  gradientsToo = true,
): string[] {
  const need = new Set<string>();
  if (gradientsToo) { for (const n of nodes) for (const k of gradientKernels(n, backend)) need.add(k); }
  return [...need].filter((k) => !tf.getKernel(k, backend));
}
