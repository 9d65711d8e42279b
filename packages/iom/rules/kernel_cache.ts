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
import { kernelCache } from "@cnnlens/core";

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
