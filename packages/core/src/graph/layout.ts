import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";

/**
 * Layout rules. Public shapes and axes are NCHW. Inside the backend, a batch of per-sample rank-3 tensors
 * ([C, H, W]) is stored NHWC ([N, H, W, C]) because that is what every tfjs backend implements; every
 * other rank is stored as is. Channel `k` is always the last axis inside and axis 1 outside.
 */

/**
 * Convert a batched NCHW tensor (rank 4) to the backend layout; other ranks pass through.
 * @param t Tensor in NCHW terms.
 * @returns Tensor in backend layout (a new tensor for rank 4).
 */
export function toBackendLayout(t: Tensor): Tensor {
  return t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t.clone();
}

/**
 * Convert a batched backend-layout tensor to NCHW terms; other ranks pass through (cloned).
 * @param t Tensor in backend layout.
 * @returns NCHW tensor.
 */
export function toNCHW(t: Tensor): Tensor {
  return t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t.clone();
}

/**
 * Map an NCHW axis (including the batch axis 0) of a tensor of the given rank to the backend axis.
 * @param axis NCHW axis, negative counts from the end.
 * @param rank Full rank including batch.
 * @returns Backend axis.
 */
export function backendAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`Axis ${axis} is out of range for a rank-${rank} tensor`);
  if (rank !== 4) return a;
  return [0, 3, 1, 2][a];
}

/**
 * The backend-layout shape of a batch of per-sample NCHW shapes.
 * @param perSample Per-sample shape in NCHW terms.
 * @param batch Batch size.
 * @returns Backend shape.
 */
export function backendShape(perSample: number[], batch = 1): number[] {
  if (perSample.length === 3) return [batch, perSample[1], perSample[2], perSample[0]];
  return [batch, ...perSample];
}
