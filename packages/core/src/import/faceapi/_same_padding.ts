/**
 * TensorFlow's `padding: "same"` as explicit pads: the output has `ceil(in / stride)` positions and the
 * missing rows/columns are split with the smaller half first (top/left), the larger last (bottom/right).
 * @module
 */

/**
 * Explicit `[before, after]` padding equal to TensorFlow's `"same"` along one axis.
 * @param size Input size.
 * @param kernel Kernel size.
 * @param stride Stride.
 * @returns `[before, after]`.
 */
export function samePadding1d(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * Explicit pads `[top, left, bottom, right]` equal to TensorFlow's `"same"` for a square kernel.
 * @param h Input height.
 * @param w Input width.
 * @param kernel Kernel size.
 * @param stride Stride.
 * @returns Pads in the core's conv2d order.
 */
export function samePads(
  h: number,
  w: number,
  kernel: number,
  stride: number,
): [number, number, number, number] {
  const [t, b] = samePadding1d(h, kernel, stride);
  const [l, r] = samePadding1d(w, kernel, stride);
  return [t, l, b, r];
}
