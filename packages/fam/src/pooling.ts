/**
 * The pooling `p` that embeds a feature map into a vector, `Z = p(f(X))`, `z_n = p(A^n)` (FAM §IV-B).
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";

/**
 * `gap`: global average pooling (the default, as in the paper's few-shot models); `gmp`: global max pooling;
 * `lse`: log-sum-exp pooling `z = T·log((1/hw) Σ_ij exp(A_ij / T))` (Pinheiro & Collobert's
 * `(1/r)·log mean exp(r·A)` with `r = 1/T`), between GMP (T → 0) and GAP (T → ∞).
 */
export type Pooling = "gap" | "gmp" | "lse";

/**
 * Pool a batch of feature maps (backend layout) into embeddings.
 * @param maps Feature maps [B, H, W, N] (backend layout, channel last).
 * @param pooling Which pooling. @default "gap"
 * @param temperature LSE temperature `T > 0` (only for `lse`). @default 1
 * @returns Embeddings [B, N] (a new tensor).
 * @example
 * ```ts
 * import { poolFeatures } from "@cnnlens/fam";
 * import { tf } from "@cnnlens/core";
 * const a = tf.tensor4d([1, 2, 3, 6], [1, 2, 2, 1]);
 * const [gap] = await poolFeatures(a, "gap").data();
 * const [gmp] = await poolFeatures(a, "gmp").data();
 * if (gap !== 3 || gmp !== 6) throw new Error("mean 3, max 6");
 * ```
 */
export function poolFeatures(maps: Tensor, pooling: Pooling = "gap", temperature = 1): Tensor {
  if (maps.rank !== 4) {
    throw new RangeError(`poolFeatures() needs a batch of feature maps [B, H, W, N], got [${maps.shape}]`);
  }
  const b = maps.shape[0];
  return tf.tidy(() => {
    if (pooling === "gap") return tf.reshape(tf.mean(maps, [1, 2]), [b, -1]);
    if (pooling === "gmp") return tf.reshape(tf.max(maps, [1, 2]), [b, -1]);
    if (pooling === "lse") {
      if (!(temperature > 0)) throw new RangeError(`LSE temperature must be > 0, got ${temperature}`);
      // z = m + T·log mean exp((A − m)/T), m = max A: the same value, without overflow.
      const m = tf.max(maps, [1, 2], true);
      const e = tf.mean(tf.exp(tf.div(tf.sub(maps, m), temperature)), [1, 2], true);
      return tf.reshape(tf.add(m, tf.mul(temperature, tf.log(e))), [b, -1]);
    }
    throw new RangeError(`Unknown pooling '${pooling}': use 'gap', 'gmp' or 'lse'`);
  });
}
