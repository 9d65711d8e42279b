/**
 * A cache of kernels derived from a model's weights (sign parts, flipped and channel-transposed
 * convolution kernels, polyphase sub-kernels). Deriving them costs more than using them — a transpose of
 * the weights, and on wasm the XNNPACK packing of every new kernel — and they depend on the weights only,
 * never on the input, so they are made once per weight tensor. Entries are released when their weight
 * tensor has been disposed (checked on every use) or by {@linkcode clearExcitationCache}. The memory cost is
 * that of the derived kernels: twice the convolution weights for the default sign split.
 * @module
 */
import { type Tensor, tf } from "@cnnlens/core";

const cache = new Map<Tensor, Map<string, Tensor[]>>();

function sweep(): void {
  for (const [w, entries] of cache) {
    if (!w.isDisposed) continue;
    for (const ts of entries.values()) tf.dispose(ts);
    cache.delete(w);
  }
}

/**
 * The tensors derived from `owner` under `key`, made by `make` on first use and kept (no `tf.tidy`
 * releases them).
 * @param owner The weight tensor they derive from.
 * @param key What they are (e.g. `conv:abs`).
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
  sweep();
  let entries = cache.get(owner);
  if (!entries) cache.set(owner, entries = new Map());
  let ts = entries.get(key);
  if (!ts) {
    ts = tf.tidy(make).map((t) => tf.keep(t));
    entries.set(key, ts);
  }
  return ts;
}

/**
 * Release every cached derived kernel (they are rebuilt on next use).
 * @returns The number of tensors released.
 * @example
 * ```ts
 * import { clearExcitationCache } from "./kernel_cache.ts";
 * clearExcitationCache();
 * if (clearExcitationCache() !== 0) throw new Error("empty after clearing");
 * ```
 */
export function clearExcitationCache(): number {
  let n = 0;
  for (const entries of cache.values()) {
    for (const ts of entries.values()) {
      n += ts.length;
      tf.dispose(ts);
    }
  }
  cache.clear();
  return n;
}
