/**
 * Private tensor helpers shared by the CAM methods: decision read-outs over stacked batches, per-item
 * min-max scaling, bilinear resizing with the two pixel conventions pytorch-grad-cam uses, batch tiling.
 * @module
 */
import { type Decision, type Tensor, tf } from "@cnnlens/core";

/**
 * Read a decision on a stacked batch of `b` groups of `n` rows (row `j·n + i` belongs to item `i`), so
 * that per-item decisions (`perItem`) see a batch of exactly `n` rows each time.
 * @param decision The decision.
 * @param value The decision node's value for the stacked batch, `[b·n, …]`.
 * @param n Items per group.
 * @returns Scores `[b, n]`.
 */
export function readGroups(decision: Decision, value: Tensor, n: number): Tensor {
  return tf.tidy(() => {
    const b = value.shape[0] / n;
    if (!Number.isInteger(b)) {
      throw new RangeError(`readGroups: batch ${value.shape[0]} is not a multiple of ${n}`);
    }
    const rows: Tensor[] = [];
    for (let j = 0; j < b; j++) {
      rows.push(tf.reshape(decision.read(tf.slice(value, [j * n], [n])), [1, n]));
    }
    return rows.length === 1 ? rows[0] : tf.concat(rows, 0);
  });
}

/**
 * The cotangent that seeds a backward pass at the decision node: ∂(Σ_i decision_i)/∂value. For a class
 * logit it is the one-hot row of the class; for a similarity it is the gradient of the score.
 * @param decision The decision.
 * @param value The decision node's value (backend layout).
 * @returns A tensor shaped like `value`.
 */
export function decisionSeed(decision: Decision, value: Tensor): Tensor {
  return tf.tidy(() => tf.grad((v: Tensor) => tf.sum(decision.read(v)))(value));
}

/**
 * Min-max scale each item of `[N, …]` to [0, 1] the way pytorch-grad-cam's `scale_cam_image` does:
 * `(x − min) / (1e-7 + max − min)`, per item (and per last-axis channel when `perChannel`).
 * @param x Tensor `[N, h, w]` or `[N, h, w, C]` (with `perChannel`).
 * @param perChannel Scale each channel of a rank-4 tensor separately.
 * @returns The scaled tensor.
 */
export function minMaxScale(x: Tensor, perChannel = false): Tensor {
  return tf.tidy(() => {
    const axes = perChannel ? [1, 2] : [...Array(x.rank).keys()].slice(1);
    const shifted = tf.sub(x, tf.min(x, axes, true));
    return tf.div(shifted, tf.add(tf.max(shifted, axes, true), 1e-7));
  });
}

/**
 * Bilinear resizing of maps `[N, h, w]` or `[N, h, w, C]` to `[H, W]`.
 * `pixel: "half"` samples at pixel centres (OpenCV's `cv2.resize`, used by pytorch-grad-cam to combine
 * layers); `pixel: "corners"` aligns the corner pixels (`torch.nn.UpsamplingBilinear2d`, used by Score-CAM).
 * @param x Maps.
 * @param size Target `[H, W]`.
 * @param pixel The sampling convention.
 * @returns Resized maps, same rank as `x`.
 */
export function resize(x: Tensor, size: [number, number], pixel: "half" | "corners"): Tensor {
  return tf.tidy(() => {
    const x4 = (x.rank === 3 ? tf.expandDims(x, 3) : x) as tf.Tensor4D;
    if (x4.shape[1] === size[0] && x4.shape[2] === size[1]) return x.clone();
    const y = tf.image.resizeBilinear(x4, size, pixel === "corners", pixel === "half");
    return x.rank === 3 ? tf.squeeze(y, [3]) : y;
  });
}

/**
 * Copy a tensor's values out of the backend (async: works on WebGPU under Deno).
 * @param t Tensor.
 * @returns A fresh Float32Array.
 */
export async function readF32(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data() as Float32Array);
}
