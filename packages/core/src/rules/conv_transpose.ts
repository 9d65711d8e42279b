/**
 * The transpose of a convolution's linear map — its VJP with respect to the input, `Wᵀ dy` — for any
 * stride, padding (asymmetric too), dilation, groups and depthwise multiplier, computed by *forward*
 * convolutions. It is the core's `vjp` rule of `conv2d` and the input gradient of the `conv2d` forward rule
 * under tfjs autodiff (`gradients()`), and the transpose IOM, NAFlow and gAP walk with.
 *
 * Why not tfjs's `Conv2DBackpropInput`: on wasm it is a plain loop several times slower than the XNNPACK
 * forward convolution, tfjs-wasm has no depthwise backprop kernel at all, and tfjs cannot differentiate
 * dilated convolutions on any backend. Stride 1: one correlation of `dy` with the spatially flipped,
 * channel-transposed kernel (dilation native). Stride s > 1: the polyphase split — with `j = i + pad =
 * s·u + r`, input phase `r` only meets the taps `a ≡ r (mod s)`, so each of the `s_h·s_w` phases is a
 * stride-1 correlation of `dy` with a sub-kernel (of the dilated kernel, when dilated too), and the phases
 * are interleaved back by reshapes. No zero is inserted into `dy`: the work equals one forward convolution's. The kernels depend on the weights only and
 * can be kept in a {@linkcode KernelCache}.
 * @module
 */
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { GraphNode } from "../graph/node.ts";
import { type KernelCache, kernelCache } from "./kernel_cache.ts";

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Options of {@linkcode convTranspose}. */
export interface ConvTransposeOptions {
  /**
   * Transpose with these weights instead of the node's (same shape and layout), e.g. `|W|` or `W⁺` for a
   * sign split. @default node.params.weight
   */
  weight?: Tensor;
  /**
   * Keep the prepared kernels here (keyed by the weight tensor and the geometry) and reuse them on later
   * calls. Without a cache they are made for the call and released.
   */
  cache?: KernelCache;
}

/** The convolution's geometry as the forward rule reads it (`conv2dNoBias`). */
interface Geometry {
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Top and left padding (bottom/right follow from the input size). */
  t: number;
  l: number;
  group: number;
  depthwise: boolean;
  /** Kernel extent with dilation. */
  ekh: number;
  ekw: number;
}

function geometry(node: GraphNode, cin: number): Geometry {
  const a = node.attrs;
  const [sh, sw] = a.strides ?? [1, 1];
  const [dh, dw] = a.dilations ?? [1, 1];
  const [t, l] = a.pads ?? [0, 0, 0, 0];
  const group = a.group ?? 1;
  const w = node.params.weight.shape as number[];
  return {
    sh,
    sw,
    dh,
    dw,
    t,
    l,
    group,
    depthwise: group !== 1 && group === cin && w[2] === cin,
    ekh: dh * (w[0] - 1) + 1,
    ekw: dw * (w[1] - 1) + 1,
  };
}

/** One input phase `(rh, rw)` of a strided transpose and the size of its sub-kernel (0: receives nothing). */
interface Phase {
  rh: number;
  rw: number;
  kr: number;
  kc: number;
}

function phases(g: Geometry): Phase[] {
  if (g.sh === 1 && g.sw === 1) return [{ rh: 0, rw: 0, kr: g.ekh, kc: g.ekw }];
  const out: Phase[] = [];
  for (let rh = 0; rh < g.sh; rh++) {
    for (let rw = 0; rw < g.sw; rw++) {
      out.push({
        rh,
        rw,
        kr: rh < g.ekh ? Math.ceil((g.ekh - rh) / g.sh) : 0,
        kc: rw < g.ekw ? Math.ceil((g.ekw - rw) / g.sw) : 0,
      });
    }
  }
  return out;
}

/**
 * The flipped sub-kernel of one phase, `[kr, kc, a, b]`: tap `(i, j)` is the dilated kernel's tap
 * `(rh + sh·(kr−1−i), rw + sw·(kc−1−j))` — a zero where that falls between the taps of a dilated kernel. Made
 * from per-tap slices and one concat (tfjs's reverse, gather and strided slice are slow on wasm and cpu). At
 * stride 1 (one phase) the dilation stays native: the taps are the kernel's own, flipped.
 */
function phaseKernel(w: Tensor, g: Geometry, p: Phase): Tensor {
  const [kh, kw, a, b] = w.shape as number[];
  const strided = g.sh !== 1 || g.sw !== 1;
  const [kr, kc] = strided ? [p.kr, p.kc] : [kh, kw];
  const [dh, dw] = strided ? [g.dh, g.dw] : [1, 1];
  const flat = tf.reshape(w, [kh * kw, a * b]);
  let zero: Tensor | undefined;
  const taps: Tensor[] = [];
  for (let i = 0; i < kr; i++) {
    for (let j = 0; j < kc; j++) {
      const y = p.rh + g.sh * (kr - 1 - i), x = p.rw + g.sw * (kc - 1 - j);
      if (y % dh || x % dw) taps.push(zero ??= tf.zeros([1, a * b]));
      else taps.push(tf.slice(flat, [(y / dh) * kw + x / dw, 0], [1, a * b]));
    }
  }
  return tf.reshape(taps.length === 1 ? taps[0] : tf.concat(taps, 0), [kr, kc, a, b]);
}

/**
 * The kernels the correlations run with, phase by phase (phases that receive nothing have none), group by
 * group: flipped and, for dense and grouped kernels, channel-transposed to `[kr, kc, Cout_g, Cin_g]`; for
 * depthwise kernels reshaped to `[kr, kc, C·m, 1]`.
 */
function prepareKernels(w: Tensor, g: Geometry, cin: number): Tensor[] {
  const out: Tensor[] = [];
  for (const p of phases(g)) {
    if (!p.kr || !p.kc) continue;
    const flipped = phaseKernel(w, g, p);
    const [kr, kc] = flipped.shape as number[];
    if (g.depthwise) {
      out.push(tf.reshape(flipped, [kr, kc, cin * w.shape[3]!, 1]));
      continue;
    }
    const og = w.shape[3]! / g.group;
    for (let k = 0; k < g.group; k++) {
      const kg = g.group === 1 ? flipped : tf.slice(flipped, [0, 0, 0, k * og], [-1, -1, -1, og]);
      out.push(tf.transpose(kg, [0, 1, 3, 2]));
    }
  }
  return out;
}

/** Pad by the positive amounts and crop by the negative ones (top, bottom, left, right). */
function padCrop(x: Tensor, [t, b, l, r]: number[]): { x: Tensor; pad: Pad4 } {
  const [n, h, w, c] = x.shape as number[];
  const ct = Math.max(0, -t), cb = Math.max(0, -b), cl = Math.max(0, -l), cr = Math.max(0, -r);
  const cropped = ct || cb || cl || cr ? tf.slice(x, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : x;
  return {
    x: cropped,
    pad: [[0, 0], [Math.max(0, t), Math.max(0, b)], [Math.max(0, l), Math.max(0, r)], [0, 0]],
  };
}

/**
 * A stride-1 correlation of `dy` (padded, or cropped where negative, by `p` = [top, bottom, left, right])
 * with the prepared kernels `ks` (one per group), mapping the conv's output channels to its input channels.
 */
function correlate(g: Geometry, cin: number, dy: Tensor, ks: Tensor[], p: number[], dil: [number, number]) {
  const { x, pad } = padCrop(dy, p);
  const x4 = x as tf.Tensor4D;
  if (g.depthwise) {
    const out = tf.depthwiseConv2d(x4, ks[0] as tf.Tensor4D, 1, pad, "NHWC", dil);
    const m = ks[0].shape[2]! / cin;
    if (m === 1) return out;
    // Output channel c·m + j came from input channel c: sum the multiplier's m copies.
    const [n, h, w] = out.shape;
    return tf.reshape(tf.sum(tf.reshape(out, [n * h, w, cin, m]), 3), [n, h, w, cin]);
  }
  if (ks.length === 1) return tf.conv2d(x4, ks[0] as tf.Tensor4D, 1, pad, "NHWC", dil);
  const parts = tf.split(x4, ks.length, 3).map((r, k) =>
    tf.conv2d(r as tf.Tensor4D, ks[k] as tf.Tensor4D, 1, pad, "NHWC", dil)
  );
  return tf.concat(parts, 3);
}

/**
 * `Wᵀ dy`: the transpose of a `conv2d` node's linear map (biases excluded) applied to `dy` — the gradient of
 * `⟨conv(x), dy⟩` with respect to `x` — by forward convolutions with the flipped, channel-transposed kernel
 * (polyphase for strides > 1). Any stride, padding, dilation, groups and depthwise multiplier; `dy` may
 * have any batch size.
 *
 * @param node The `conv2d` node (its weight, strides, pads, dilations and group are used).
 * @param dy Cotangent at the conv output `[B, Ho, Wo, Cout]`, backend layout.
 * @param inputShape The conv input's shape `[·, H, W, Cin]` (its batch size is ignored: `B` is `dy`'s).
 * @param options Other weights of the same shape; a kernel cache.
 * @returns `[B, H, W, Cin]`.
 * @example
 * ```ts
 * import { convTranspose, GraphBuilder, tf } from "@cnnlens/core";
 * const b = new GraphBuilder([2, 5, 5], 1);
 * const g = b.build(b.conv("conv", b.inputName, { out: 3, k: 3, stride: 2 }));
 * const node = g.node("conv");
 * const dy = tf.randomNormal([1, 3, 3, 3], 0, 1, "float32", 2);
 * const fast = convTranspose(node, dy, [1, 5, 5, 2]);
 * const slow = tf.conv2dTranspose(dy as tf.Tensor4D, node.params.weight as tf.Tensor4D, [1, 5, 5, 2], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
 * const err = tf.max(tf.abs(tf.sub(fast, slow)));
 * if ((await err.data())[0] > 1e-5) throw new Error("equals tfjs's Conv2DBackpropInput");
 * tf.dispose([dy, fast, slow, err]);
 * g.dispose();
 * ```
 */
export function convTranspose(
  node: GraphNode,
  dy: Tensor,
  inputShape: readonly number[],
  options: ConvTransposeOptions = {},
): Tensor {
  if (node.op !== "conv2d") {
    throw new TypeError(`convTranspose() needs a conv2d node, got '${node.name}' (${node.op})`);
  }
  const [, h, w, cin] = inputShape;
  const weight = options.weight ?? node.params.weight;
  const g = geometry(node, cin);
  const prepare = () => prepareKernels(weight, g, cin);
  // The key names everything the kernels depend on besides the weights (a weight tensor may be shared).
  const key = `conv-transpose:${g.sh},${g.sw}:${g.dh},${g.dw}:${g.group}:${cin}`;
  const cached = options.cache?.get(weight, key, prepare);
  return tf.tidy(() => {
    const ks = cached ?? prepare();
    const n = dy.shape[0];
    const [, oh, ow] = dy.shape as number[];
    if (g.sh === 1 && g.sw === 1) {
      // dx[i] = Σ_a w[a]·dy[i + t − a·d] = Σ_a' flip(w)[a']·dy_pad[i + a'·d], dy_pad offset by ek − 1 − t.
      const top = g.ekh - 1 - g.t, left = g.ekw - 1 - g.l;
      const p = [top, h + g.ekh - 1 - top - oh, left, w + g.ekw - 1 - left - ow];
      return correlate(g, cin, dy, ks, p, [g.dh, g.dw]);
    }
    // Polyphase: with j = i + t = s·u + r, dx[i] = Σ_m w[r + s·m]·dy[u − m] — per phase r a stride-1
    // correlation with the sub-kernel w[r::s]; u runs over [u0, u0 + U) for every phase.
    const u0 = Math.floor(g.t / g.sh), v0 = Math.floor(g.l / g.sw);
    const nu = Math.ceil((h + g.t) / g.sh) - u0, nv = Math.ceil((w + g.l) / g.sw) - v0;
    const perPhase = g.depthwise ? 1 : g.group;
    let next = 0;
    const all = phases(g);
    const rows: Tensor[] = [];
    for (let rh = 0; rh < g.sh; rh++) {
      const cols: Tensor[] = [];
      for (let rw = 0; rw < g.sw; rw++) {
        const { kr, kc } = all[rh * g.sw + rw];
        if (!kr || !kc) {
          cols.push(tf.zeros([n, nu, nv, cin]));
          continue;
        }
        const k = ks.slice(next, next += perPhase);
        const top = kr - 1 - u0, left = kc - 1 - v0;
        cols.push(
          correlate(g, cin, dy, k, [top, nu + kr - 1 - top - oh, left, nv + kc - 1 - left - ow], [1, 1]),
        );
      }
      // Interleave the column phases: [n, U, V, sw·C] → [n, U, V·sw, C] (rank ≤ 4 throughout).
      rows.push(tf.reshape(tf.concat(cols, 3), [n, nu, nv * g.sw, cin]));
    }
    const d = tf.reshape(tf.concat(rows, 2), [n, nu * g.sh, nv * g.sw, cin]);
    return tf.slice(d, [0, g.t - g.sh * u0, g.l - g.sw * v0, 0], [n, h, w, cin]);
  });
}

/**
 * The backends on which the core computes every `conv2d` input gradient — its `vjp` rule, and the gradient
 * tfjs autodiff takes through its forward rule in `gradients()` — by {@linkcode convTranspose}, with the
 * kernels kept in the shared `kernelCache`. Default: wasm, where `Conv2DBackpropInput` is a plain loop
 * (8-13× slower than the XNNPACK forward convolution) and depthwise backprop is missing; the kernels must be
 * kept there, because XNNPACK packs every new kernel tensor (≈ as costly as the transpose itself). On the
 * other backends tfjs's native backprop kernel is as fast and needs no kept kernels, so only dilated
 * convolutions (which tfjs cannot differentiate) go through {@linkcode convTranspose}, uncached. Edit the set
 * to change the policy (tests add `cpu` to run the transposed path there).
 */
export const CONV_TRANSPOSE_BACKENDS: Set<string> = new Set(["wasm"]);

/**
 * Whether the core differentiates this `conv2d` node's input by {@linkcode convTranspose} on the active
 * backend (see {@linkcode CONV_TRANSPOSE_BACKENDS}).
 * @param node A `conv2d` node.
 * @returns True on the listed backends, and for dilated convolutions everywhere.
 * @example
 * ```ts
 * import { GraphBuilder, usesConvTranspose } from "@cnnlens/core";
 * const b = new GraphBuilder([2, 9, 9]);
 * const g = b.build(b.conv("c", b.inputName, { out: 2, dilation: 2, pad: 2 }));
 * if (!usesConvTranspose(g.node("c"))) throw new Error("tfjs cannot differentiate dilated convolutions");
 * g.dispose();
 * ```
 */
export function usesConvTranspose(node: GraphNode): boolean {
  if (CONV_TRANSPOSE_BACKENDS.has(tf.getBackend())) return true;
  const [dh, dw] = node.attrs.dilations ?? [1, 1];
  return dh !== 1 || dw !== 1;
}

/**
 * The core's `conv2d` input gradient where {@linkcode usesConvTranspose} holds: {@linkcode convTranspose},
 * with the shared `kernelCache` on {@linkcode CONV_TRANSPOSE_BACKENDS}.
 * @param node A `conv2d` node.
 * @param dy Cotangent at its output.
 * @param inputShape Its input's shape.
 * @returns The cotangent at its input.
 */
export function convInputGradient(node: GraphNode, dy: Tensor, inputShape: readonly number[]): Tensor {
  const cache = CONV_TRANSPOSE_BACKENDS.has(tf.getBackend()) ? kernelCache : undefined;
  return convTranspose(node, dy, inputShape, { cache });
}
