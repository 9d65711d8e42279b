import { type Tensor, tf } from "@cnnlens/core";

/**
 * Read one sample of a backend-layout tensor as a CHW-ordered array (NHWC `[1, H, W, C]` is transposed
 * to C×H×W; vectors `[1, F]` are read as they are), so channel `k` is the model's channel `k`.
 * @param t Tensor, batch of one.
 * @returns Values in CHW order and the per-sample NCHW shape.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { readCHW } from "./read_chw.ts";
 * const { data, shape } = await readCHW(tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2])); // NHWC, 2 channels
 * if (data.join() !== "1,3,2,4" || shape.join() !== "2,1,2") throw new Error();
 * ```
 */
export async function readCHW(t: Tensor): Promise<{ data: Float32Array; shape: number[] }> {
  if (t.rank !== 4) {
    return { data: Float32Array.from(await t.data() as Float32Array), shape: t.shape.slice(1) };
  }
  const chw = tf.transpose(t, [0, 3, 1, 2]);
  try {
    return { data: Float32Array.from(await chw.data() as Float32Array), shape: chw.shape.slice(1) };
  } finally {
    chw.dispose();
  }
}
