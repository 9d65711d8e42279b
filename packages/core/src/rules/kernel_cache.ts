/**
 * A cache of tensors derived from a model's weights — flipped and channel-transposed convolution kernels,
 * their polyphase sub-kernels, sign parts such as `|W|`. Deriving them costs more than using them (a
 * transpose of the weights, and on wasm the XNNPACK packing of every new kernel), and they depend on the
 * weights only, never on the input, so they are made once per weight tensor and kept. An entry is released
 * when its weight tensor has been disposed (checked on every use) or by {@linkcode KernelCache.clear}; a
 * scope-bound cache (one explanation) simply clears at the end.
 * @module
 */
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";

/**
 * Tensors derived from weight tensors, kept between calls and keyed by (weight tensor, what they are).
 * @example
 * ```ts
 * import { KernelCache, tf } from "@cnnlens/core";
 * const cache = new KernelCache();
 * const w = tf.tensor1d([1, -2]);
 * const [a] = cache.get(w, "abs", () => [tf.abs(w)]);
 * const [b] = cache.get(w, "abs", () => [tf.abs(w)]);
 * if (a !== b || cache.size !== 1) throw new Error("made once");
 * w.dispose();
 * cache.get(tf.scalar(0), "x", () => []); // any use sweeps the entries of disposed weights
 * if (!a.isDisposed || cache.clear() !== 0) throw new Error("released with its weight");
 * ```
 */
export class KernelCache {
  #entries = new Map<Tensor, Map<string, Tensor[]>>();

  /**
   * The tensors derived from `owner` under `key`, made by `make` on first use and kept (no `tf.tidy`
   * releases them). Entries whose owner has been disposed are released first.
   * @param owner The weight tensor they derive from.
   * @param key What they are (it must name everything besides `owner` they depend on).
   * @param make Builds them; its temporaries are released.
   * @returns The cached tensors (owned by the cache: do not dispose them).
   */
  get(owner: Tensor, key: string, make: () => Tensor[]): Tensor[] {
    this.#sweep();
    let byKey = this.#entries.get(owner);
    if (!byKey) this.#entries.set(owner, byKey = new Map());
    let ts = byKey.get(key);
    if (!ts) {
      ts = tf.tidy(make).map((t) => tf.keep(t));
      byKey.set(key, ts);
    }
    return ts;
  }

  /** The number of tensors held. */
  get size(): number {
    let n = 0;
    for (const byKey of this.#entries.values()) for (const ts of byKey.values()) n += ts.length;
    return n;
  }

  /**
   * Release every tensor held (they are rebuilt on next use).
   * @returns The number of tensors released.
   */
  clear(): number {
    const n = this.size;
    for (const byKey of this.#entries.values()) for (const ts of byKey.values()) tf.dispose(ts);
    this.#entries.clear();
    return n;
  }

  /**
   * Release the entries whose weight tensor has been disposed (done on every {@linkcode KernelCache.get},
   * and by `Graph.dispose()` for the shared {@linkcode kernelCache}).
   * @returns The number of tensors released.
   */
  sweep(): number {
    const before = this.size;
    this.#sweep();
    return before - this.size;
  }

  #sweep(): void {
    // Insertion order: a derived owner (e.g. `|W|`, itself cached under `W`) comes after its own owner, so
    // one pass releases both.
    for (const [owner, byKey] of this.#entries) {
      if (!owner.isDisposed) continue;
      for (const ts of byKey.values()) tf.dispose(ts);
      this.#entries.delete(owner);
    }
  }
}

/**
 * The process-wide kernel cache: the core's `conv2d` input gradient keeps its transposed kernels here on
 * the backends of `CONV_TRANSPOSE_BACKENDS` (wasm), and IOM keeps its sign-part kernels here, so
 * one flipped copy of a weight serves every method. Memory: about one more copy of the convolution weights
 * per model in use (plus what the backend packs from them); released by `graph.dispose()`, or at once by
 * `kernelCache.clear()`.
 */
export const kernelCache: KernelCache = new KernelCache();
