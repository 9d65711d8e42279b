import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import { type BackendName, useBackend } from "../backend/backend.ts";

/** Tolerances for {@linkcode assertAllClose}. */
export interface CloseOptions {
  /** Relative tolerance. @default 1e-5 */
  rtol?: number;
  /** Absolute tolerance. @default 1e-6 */
  atol?: number;
  /** Label for the message. */
  label?: string;
}

type Numeric = ArrayLike<number> | number[][] | number[][][] | number;

function flat(x: Numeric): Float64Array {
  if (typeof x === "number") return Float64Array.of(x);
  if (x instanceof tf.Tensor) throw new TypeError("assertAllClose: read tensors with `await t.data()` first");
  return Float64Array.from(
    (Array.from(x as ArrayLike<number>) as unknown as number[]).flat(Infinity as 1) as number[],
  );
}

/**
 * Read a tensor's values (async, so it works on WebGPU under Deno where sync reads fail).
 * @param t Tensor.
 * @returns Its values as float32.
 */
export async function values(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data() as Float32Array);
}

/**
 * Assert `|actual − expected| ≤ atol + rtol·|expected|` element-wise, with a message naming the worst
 * element.
 * @param actual Values.
 * @param expected Reference values.
 * @param options Tolerances.
 */
export function assertAllClose(actual: Numeric, expected: Numeric, options: CloseOptions = {}): void {
  const { rtol = 1e-5, atol = 1e-6, label = "values" } = options;
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`${label}: length ${a.length} != expected ${e.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(a[i]))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label} not close at index ${worst}: ${a[worst]} vs expected ${
        e[worst]
      } (rtol ${rtol}, atol ${atol}, ${a.length} elements)`,
    );
  }
}

/**
 * Maximum relative error max|a−e| / max|e| (a scale-aware parity measure).
 * @param actual Values.
 * @param expected Reference.
 * @returns The error.
 */
export function maxRelError(actual: Numeric, expected: Numeric): number {
  const a = flat(actual);
  const e = flat(expected);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - e[i]));
    den = Math.max(den, Math.abs(e[i]));
  }
  return num / (den || 1);
}

/** Backends every `forEachBackend` test runs on (override with CNNLENS_TEST_BACKENDS=cpu,wasm). */
export function testBackends(): BackendName[] {
  const env = Deno.env.get("CNNLENS_TEST_BACKENDS");
  return (env ? env.split(",") : ["cpu", "wasm", "webgpu"]) as BackendName[];
}

/**
 * Register one Deno test per backend, like tfjs's ALL_ENVS: the body runs with that backend active.
 * @param name Test name (the backend is appended).
 * @param fn Body.
 */
export function forEachBackend(name: string, fn: (backend: BackendName) => void | Promise<void>): void {
  onBackends(name, testBackends(), fn);
}

/**
 * Register one Deno test per backend of `backends` that the environment allows (CNNLENS_TEST_BACKENDS) —
 * a subset of {@linkcode forEachBackend}'s, e.g. for tests too heavy for the software WebGPU adapter.
 * @param name Test name (the backend is appended).
 * @param backends Backends to run on.
 * @param fn Body.
 */
export function onBackends(
  name: string,
  backends: BackendName[],
  fn: (backend: BackendName) => void | Promise<void>,
): void {
  const allowed = testBackends();
  for (const b of backends.filter((x) => allowed.includes(x))) {
    Deno.test({
      name: `${name} [${b}]`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        await useBackend(b);
        await fn(b);
      },
    });
  }
}
