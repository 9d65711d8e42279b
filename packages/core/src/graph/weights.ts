import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";

/**
 * Convert a PyTorch/ONNX convolution weight [Cout, Cin/group, kh, kw] to the backend layout the conv2d
 * node uses: [kh, kw, Cin/group, Cout], or for depthwise (group = Cin, Cin/group = 1) [kh, kw, Cin, mult].
 * @param w Weight in torch layout.
 * @param group Groups.
 * @param cin Input channels.
 * @returns Weight in backend layout (new tensor).
 */
export function convWeightFromTorch(w: Tensor, group: number, cin: number): Tensor {
  return tf.tidy(() => {
    const [cout, cpg, kh, kw] = w.shape as number[];
    if (group > 1 && group === cin && cpg === 1) {
      return tf.transpose(tf.reshape(w, [cin, cout / cin, kh, kw]), [2, 3, 0, 1]);
    }
    return tf.transpose(w, [2, 3, 1, 0]);
  });
}

/**
 * Inverse of {@linkcode convWeightFromTorch}.
 * @param w Weight in backend layout.
 * @param group Groups.
 * @param cin Input channels.
 * @returns Weight in torch layout [Cout, Cin/group, kh, kw].
 */
export function convWeightToTorch(w: Tensor, group: number, cin: number): Tensor {
  return tf.tidy(() => {
    const [kh, kw, a, b] = w.shape as number[];
    if (group > 1 && group === cin && a === cin) {
      return tf.reshape(tf.transpose(w, [2, 3, 0, 1]), [a * b, 1, kh, kw]);
    }
    return tf.transpose(w, [3, 2, 0, 1]);
  });
}

/**
 * Convert a PyTorch Linear / ONNX Gemm (transB=1) weight [out, in] to the gemm node layout [in, out].
 * @param w Weight [out, in].
 * @returns Weight [in, out].
 */
export function linearWeightFromTorch(w: Tensor): Tensor {
  return tf.transpose(w);
}
