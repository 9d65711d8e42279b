/**
 * IOM's derived kernels (sign parts `|W|`, `W⁺`, `W⁻` and their transposed convolution kernels) live in the
 * core's shared `kernelCache`, beside the kernels of the core's own `conv2d` gradient, so one flipped copy of
 * `W` serves both. Deriving them costs more than using them (a transpose of the weights, and on wasm the
 * XNNPACK packing of every new kernel), and they depend on the weights only, so they are made once per
 * weight tensor. They are released by `graph.dispose()` (or when their weight tensor has been disposed,
 * at the next use) or by {@linkcode clearExcitationCache}. Memory: about twice the convolution weights for the
 * default sign split (`W` and `|W|`).
 * @module
 */
import { kernelCache, type Tensor } from "@cnnlens/core";

/**
 * The tensors derived from `owner` under `key`, made by `make` on first use and kept (no `tf.tidy`
 * releases them).
 * @param owner The weight tensor they derive from.
 * @param key What they are (e.g. `gemm:abs`).
 * @param make Builds them (its temporaries are released).
 * @returns The cached tensors.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { cachedKernels, clearExcitationCache } from "./kernel_cache.ts";
 * const w = tf.tensor1d([1, -2]);
 * const [a] = cachedKernels(w, "abs", () => [tf.abs(w)]);
 * const [b] = cachedKernels(w, "abs", () => [tf.abs(w)]);
 * if (a !== b) throw new Error("made once");
 * clearExcitationCache();
 * ```
 */
export function cachedKernels(owner: Tensor, key: string, make: () => Tensor[]): Tensor[] {
  return kernelCache.get(owner, key, make);
}

/**
 * Release every cached derived kernel — the whole shared core `kernelCache`, so the core's transposed
 * `conv2d` gradient kernels too (they are rebuilt on next use).
 * @returns The number of tensors released.
 * @example
 * ```ts
 * import { clearExcitationCache } from "./kernel_cache.ts";
 * clearExcitationCache();
 * if (clearExcitationCache() !== 0) throw new Error("empty after clearing");
 * ```
 */
export function clearExcitationCache(): number {
  return kernelCache.clear();
}
