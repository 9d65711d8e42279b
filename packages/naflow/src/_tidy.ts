import { type Tensor, tf } from "@cnnlens/core";

/**
 * `tf.tidy` for a list with nulls: disposes every intermediate and keeps the returned tensors.
 * @param f Computation.
 * @returns Its tensors (and nulls).
 */
export function tidyList(f: () => (Tensor | null)[]): (Tensor | null)[] {
  let out: (Tensor | null)[] = [];
  tf.tidy(() => {
    out = f();
    for (const t of out) if (t) tf.keep(t);
  });
  return out;
}
