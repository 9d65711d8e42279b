import { cachedKernel, inFlowCache, routingFor, storeKernel } from "./flow_cache.ts";
import {
  getRule,
  type GraphNode,
  maxPoolScatter,
  registeredOps,
  registerRule,
  type Tensor,
  tf,
  type VjpRule,
} from "@cnnlens/core";

/**
 * The rule kind NAFlow applies `Jᵀ` with (the cascade of coefficients and the least-squares solves): the
 * core `vjp` rules, except that a convolution's transpose runs as a forward convolution with the flipped,
 * channel-transposed kernel (see {@linkcode convTranspose}) and a max-pool reuses its cached routing.
 */
export const NAFLOW_VJP_KIND = "naflow-vjp";

/**
 * Fill the kernel cache of the current {@linkcode withFlowCache} scope for these nodes' convolutions,
 * flipping on the host (tfjs-wasm's `reverse` costs more than a convolution); a no-op outside a scope.
 * @param nodes Graph nodes (non-convolutions are skipped).
 * @returns When the kernels are cached.
 * @example
 * ```ts
 * import { tf, tinyNet } from "@cnnlens/core";
 * import { cacheKernels, withFlowCache } from "@cnnlens/naflow";
 * const g = tinyNet();
 * const before = tf.memory().numTensors;
 * await withFlowCache(async () => {
 *   await cacheKernels(g.nodes);
 *   if (tf.memory().numTensors !== before + 2) throw new Error("one flipped kernel per convolution");
 * });
 * if (tf.memory().numTensors !== before) throw new Error("released with the scope");
 * g.dispose();
 * ```
 */
export async function cacheKernels(nodes: GraphNode[]): Promise<void> {
  if (!inFlowCache()) return;
  for (const node of nodes) {
    if (node.op !== "conv2d" || cachedKernel(node)) continue;
    const w = node.params.weight;
    const [kh, kw, a, b] = w.shape as number[];
    const dense = (node.attrs.group ?? 1) === 1;
    const v = await w.data() as Float32Array;
    if (!inFlowCache() || cachedKernel(node)) continue;
    const out = new Float32Array(v.length);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * a * b;
        const dst = (ky * kw + kx) * a * b;
        if (!dense) {
          out.set(v.subarray(src, src + a * b), dst);
          continue;
        }
        // [ky, kx, i, j] → [ky, kx, j, i]
        for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[dst + j * a + i] = v[src + i * b + j];
      }
    }
    const t = tf.tensor4d(out, dense ? [kh, kw, b, a] : [kh, kw, a, b]);
    if (!storeKernel(node, t)) t.dispose();
  }
}

/** The kernel of the transposed convolution: spatially flipped, channels swapped for dense convs. */
function flippedKernel(node: GraphNode, dense: boolean): Tensor {
  const hit = cachedKernel(node);
  if (hit) return hit;
  const f = tf.tidy(() => {
    const r = tf.reverse(node.params.weight, [0, 1]);
    return dense ? tf.transpose(r, [0, 1, 3, 2]) : r;
  });
  if (inFlowCache() && storeKernel(node, f)) tf.keep(f);
  return f;
}

/** Insert `s − 1` zeros between the rows and columns of `u` [N, H, W, C]: [N, (H−1)sh+1, (W−1)sw+1, C]. */
function dilate(u: Tensor, sh: number, sw: number): Tensor {
  if (sh === 1 && sw === 1) return u;
  const [n, h, w, c] = u.shape as number[];
  // Rank ≤ 4 throughout (tfjs-webgpu's pad is wrong at rank 5-6).
  const cols = tf.reshape(tf.pad(tf.reshape(u, [n * h, w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]), [
    n,
    h,
    1,
    w * sw * c,
  ]);
  const d = tf.reshape(tf.pad(cols, [[0, 0], [0, 0], [0, sh - 1], [0, 0]]), [n, h * sh, w * sw, c]);
  return tf.slice(d, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Pad (or crop, for negative amounts) rows/columns of an NHWC tensor. */
function padCrop(x: Tensor, top: number, bottom: number, left: number, right: number): Tensor {
  const [n, h, w, c] = x.shape as number[];
  const ct = Math.max(-top, 0), cb = Math.max(-bottom, 0), cl = Math.max(-left, 0), cr = Math.max(-right, 0);
  let y = ct || cb || cl || cr ? tf.slice(x, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : x;
  const pt = Math.max(top, 0), pb = Math.max(bottom, 0), pl = Math.max(left, 0), pr = Math.max(right, 0);
  if (pt || pb || pl || pr) y = tf.pad(y, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
  return y;
}

/**
 * The transpose of a convolution node's linear map (`Jᵀ u`, the gradient with respect to its input) as a
 * forward convolution: dilate `u` by the stride, pad by `(k−1)·d − pad`, and correlate with the spatially
 * flipped kernel whose input and output channels are swapped. Equal to the core's autodiff VJP, and on the
 * wasm backend about 10× faster than tfjs's `Conv2DBackpropInput` (measured in this package's README).
 * Handles strides, asymmetric padding, dilation, groups and depthwise kernels.
 *
 * @param node A `conv2d` node.
 * @param u The cotangent of its output [N, Ho, Wo, Cout] (backend layout).
 * @param inputShape The forward input's shape [N, H, W, Cin].
 * @returns `Jᵀ u`, shaped like the input.
 * @example
 * ```ts
 * import { GraphBuilder, tf } from "@cnnlens/core";
 * import { convTranspose } from "@cnnlens/naflow";
 * const b = new GraphBuilder([2, 5, 5], 1);
 * const g = b.build(b.conv("conv", b.inputName, { out: 3, k: 3, stride: 2 }));
 * const node = g.node("conv");
 * const u = tf.randomNormal([1, 3, 3, 3], 0, 1, "float32", 2);
 * const fast = convTranspose(node, u, [1, 5, 5, 2]);
 * const slow = tf.conv2dTranspose(u as tf.Tensor4D, node.params.weight as tf.Tensor4D, [1, 5, 5, 2], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
 * const err = tf.max(tf.abs(tf.sub(fast, slow)));
 * if ((await err.data())[0] > 1e-5) throw new Error("transpose mismatch");
 * [u, fast, slow, err].forEach((t) => t.dispose());
 * g.dispose();
 * ```
 */
export function convTranspose(node: GraphNode, u: Tensor, inputShape: number[]): Tensor {
  return tf.tidy(() => {
    const a = node.attrs;
    const w = node.params.weight;
    const [kh, kw, cpg, wout] = w.shape as number[];
    const [sh, sw] = a.strides ?? [1, 1];
    const [dh, dw] = a.dilations ?? [1, 1];
    const [t, l] = a.pads ?? [0, 0, 0, 0];
    const [, h, wd, cin] = inputShape;
    const group = a.group ?? 1;
    const ud = dilate(u, sh, sw);
    const [, hd, wdd] = ud.shape as number[];
    const top = (kh - 1) * dh - t;
    const left = (kw - 1) * dw - l;
    const bottom = h - hd - top + (kh - 1) * dh;
    const right = wd - wdd - left + (kw - 1) * dw;
    const up = padCrop(ud, top, bottom, left, right) as tf.Tensor4D;
    const depthwise = group === cin && cpg === cin && group !== 1;
    if (group === 1) {
      return tf.conv2d(up, flippedKernel(node, true) as tf.Tensor4D, 1, "valid", "NHWC", [dh, dw]);
    }
    const flipped = flippedKernel(node, false);
    if (depthwise && wout === 1) {
      return tf.depthwiseConv2d(up, flipped as tf.Tensor4D, 1, "valid", "NHWC", [dh, dw]);
    }
    // Grouped (and depthwise with a multiplier): one dense transpose per group.
    const cinG = depthwise ? 1 : cpg;
    const og = depthwise ? wout : wout / group;
    const parts: Tensor[] = [];
    for (let g = 0; g < group; g++) {
      const ug = tf.slice(up, [0, 0, 0, g * og], [-1, -1, -1, og]) as tf.Tensor4D;
      const wg = depthwise
        ? tf.reshape(tf.slice(flipped, [0, 0, g, 0], [-1, -1, 1, -1]), [kh, kw, 1, og])
        : tf.slice(flipped, [0, 0, 0, g * og], [-1, -1, cinG, og]);
      parts.push(tf.conv2d(ug, tf.transpose(wg, [0, 1, 3, 2]) as tf.Tensor4D, 1, "valid", "NHWC", [dh, dw]));
    }
    return tf.concat(parts, 3);
  });
}

/**
 * `vjp` rule of `conv2d` by {@linkcode convTranspose} (registered under {@linkcode NAFLOW_VJP_KIND}).
 * @example
 * ```ts
 * import { getRule } from "@cnnlens/core";
 * import { convTransposeVjp, NAFLOW_VJP_KIND } from "@cnnlens/naflow";
 * if (getRule(NAFLOW_VJP_KIND, "conv2d", "n") !== convTransposeVjp) throw new Error();
 * ```
 */
export const convTransposeVjp: VjpRule = (node, [x], _output, dy) => [convTranspose(node, dy, x.shape)];

/**
 * `vjp` rule of `maxpool` through the routing cached for the explanation (registered under
 * {@linkcode NAFLOW_VJP_KIND}).
 * @example
 * ```ts
 * import { getRule } from "@cnnlens/core";
 * import { maxPoolRoutedVjp, NAFLOW_VJP_KIND } from "@cnnlens/naflow";
 * if (getRule(NAFLOW_VJP_KIND, "maxpool", "n") !== maxPoolRoutedVjp) throw new Error();
 * ```
 */
export const maxPoolRoutedVjp: VjpRule = (node, [x], _output, dy) => {
  const { routing, release } = routingFor(node, x);
  try {
    return [maxPoolScatter(routing, dy, x.shape)];
  } finally {
    release();
  }
};

const fast: Record<string, VjpRule> = { conv2d: convTransposeVjp, maxpool: maxPoolRoutedVjp };

for (const op of registeredOps("vjp")) {
  registerRule<VjpRule>(
    NAFLOW_VJP_KIND,
    op,
    fast[op] ?? ((n, ...rest) => getRule<VjpRule>("vjp", n.op, n.name)(n, ...rest)),
  );
}
