/**
 * The transpose of a convolution's linear map (its VJP with respect to the input) for any stride,
 * padding, dilation and grouping, applied to a batch of rows — the building block of the convolution
 * excitation rules.
 *
 * It runs as *forward* convolutions, not through tfjs's `Conv2DBackpropInput`: wasm's backprop kernel is a
 * plain loop several times slower than its XNNPACK forward convolution (and wasm has no depthwise backprop
 * at all). Stride 1: one correlation of the rows with the spatially flipped, channel-transposed kernel
 * (native dilation). Stride s > 1: the polyphase split — output phase `r = (i + pad) mod s` only meets the
 * taps `a ≡ r (mod s)`, so each of the s_h·s_w phases is a stride-1 correlation with a sub-kernel, and the
 * phases are interleaved back; no zero is inserted, and the work equals one forward convolution. The
 * flipped kernels depend on the weights only and are cached (see `kernel_cache.ts`).
 * @module
 */
import { type GraphNode, type Tensor, tf } from "@cnnlens/core";
import { cachedKernels } from "./kernel_cache.ts";
import type { WeightPart } from "./sign_split.ts";
import { weightPart } from "./weight_part.ts";

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Insert `d − 1` zeros between kernel taps along H and W: `[kh, kw, ci, co]` →
 * `[dh·(kh−1)+1, dw·(kw−1)+1, ci, co]`, so a dilated convolution becomes an undilated one (exact).
 * @param w Kernel in the backend layout.
 * @param dilations `[dh, dw]`.
 * @returns The dilated kernel (the input itself when both dilations are 1).
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { dilateKernel } from "./conv_transpose.ts";
 * const k = dilateKernel(tf.ones([2, 2, 1, 1]), [2, 2]);
 * if (k.shape[0] !== 3 || (await k.data())[4] !== 0) throw new Error("centre tap is a zero");
 * ```
 */
export function dilateKernel(w: Tensor, dilations: [number, number]): Tensor {
  const [dh, dw] = dilations;
  if (dh === 1 && dw === 1) return w;
  return tf.tidy(() => {
    const [kh, kw, ci, co] = w.shape as number[];
    const c = ci * co;
    const kw2 = dw * (kw - 1) + 1;
    const kh2 = dh * (kh - 1) + 1;
    // Kept at rank ≤ 3: tfjs-webgpu 4.22's pad returns zeros for rank 5-6 tensors.
    let t = tf.pad(tf.reshape(w, [kh * kw, 1, c]), [[0, 0], [0, dw - 1], [0, 0]]);
    t = tf.slice(tf.reshape(t, [kh, kw * dw, c]), [0, 0, 0], [kh, kw2, c]);
    t = tf.pad(tf.reshape(t, [kh, 1, kw2 * c]), [[0, 0], [0, dh - 1], [0, 0]]);
    t = tf.slice(tf.reshape(t, [kh * dh, kw2, c]), [0, 0, 0], [kh2, kw2, c]);
    return tf.reshape(t, [kh2, kw2, ci, co]);
  });
}

/** Whether a conv node runs as a depthwise convolution (the core's test, mirrored). */
export function isDepthwise(node: GraphNode, cin: number): boolean {
  const group = node.attrs.group ?? 1;
  return group !== 1 && group === cin && node.params.weight.shape[2] === cin;
}

/** Reverse the two spatial axes (slices and one concat: wasm's reverse and gather are slow). */
function flipSpatial(k: Tensor): Tensor {
  const [kh, kw, a, b] = k.shape as number[];
  if (kh * kw === 1) return k;
  const flat = tf.reshape(k, [kh * kw, a * b]);
  const taps = Array.from({ length: kh * kw }, (_, i) => tf.slice(flat, [kh * kw - 1 - i, 0], [1, a * b]));
  return tf.reshape(tf.concat(taps, 0), [kh, kw, a, b]);
}

/** One output phase of the transposed convolution and its ready-to-run kernels (one per group). */
interface Phase {
  rh: number;
  rw: number;
  /** Taps of the sub-kernel (0: the phase receives nothing). */
  kr: number;
  kc: number;
}

function phases(node: GraphNode, ekh: number, ekw: number): Phase[] {
  const [sh, sw] = node.attrs.strides ?? [1, 1];
  const out: Phase[] = [];
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      out.push({
        rh,
        rw,
        kr: rh < ekh ? Math.ceil((ekh - rh) / sh) : 0,
        kc: rw < ekw ? Math.ceil((ekw - rw) / sw) : 0,
      });
    }
  }
  return out;
}

/**
 * The kernels the correlations run with, per phase and group: flipped, and for dense/grouped kernels
 * channel-transposed to `[kr, kc, Cout_g, Cin_g]`; for depthwise kernels reshaped to `[kr, kc, C·m, 1]`.
 */
function preparedKernels(node: GraphNode, part: WeightPart, cin: number): Tensor[] {
  const w0 = node.params.weight;
  const a = node.attrs;
  // The key names everything the kernels depend on besides the weights (a weight may be shared).
  const key = `conv-transpose:${part}:${a.strides ?? [1, 1]}:${a.dilations ?? [1, 1]}:${a.group ?? 1}:${cin}`;
  return cachedKernels(w0, key, () => {
    const [sh, sw] = node.attrs.strides ?? [1, 1];
    const dil = node.attrs.dilations ?? [1, 1];
    const strided = sh !== 1 || sw !== 1;
    // Stride 1 keeps the dilation native; strided kernels are dilated explicitly, then split by phase.
    const w = strided ? dilateKernel(weightPart(w0, part), dil as [number, number]) : weightPart(w0, part);
    const [ekh, ekw] = w.shape as number[];
    const group = node.attrs.group ?? 1;
    const depthwise = isDepthwise(node, cin);
    const out: Tensor[] = [];
    for (const p of strided ? phases(node, ekh, ekw) : [{ rh: 0, rw: 0, kr: ekh, kc: ekw }]) {
      if (!p.kr || !p.kc) continue;
      const sub = strided ? tf.stridedSlice(w, [p.rh, p.rw, 0, 0], w.shape, [sh, sw, 1, 1]) : w;
      const flipped = flipSpatial(sub);
      if (depthwise) {
        out.push(tf.reshape(flipped, [p.kr, p.kc, cin * w.shape[3]!, 1]));
        continue;
      }
      const og = w.shape[3]! / group;
      for (let g = 0; g < group; g++) {
        const kg = group === 1 ? flipped : tf.slice(flipped, [0, 0, 0, g * og], [-1, -1, -1, og]);
        out.push(tf.transpose(kg, [0, 1, 3, 2]));
      }
    }
    return out;
  });
}

function cropNegative(x: Tensor, [t, b, l, r]: number[]): { x: Tensor; pad: Pad4 } {
  const [n, h, w, c] = x.shape as number[];
  const ct = Math.max(0, -t), cb = Math.max(0, -b), cl = Math.max(0, -l), cr = Math.max(0, -r);
  const cropped = ct || cb || cl || cr ? tf.slice(x, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : x;
  return {
    x: cropped,
    pad: [[0, 0], [Math.max(0, t), Math.max(0, b)], [Math.max(0, l), Math.max(0, r)], [0, 0]],
  };
}

/**
 * A stride-1 'valid' correlation of the rows (padded, or cropped where negative, by `p`) with the
 * prepared kernels `ks` (one per group), mapping the conv's output channels back to its input channels.
 */
function correlate(
  node: GraphNode,
  cin: number,
  rows: Tensor,
  ks: Tensor[],
  p: number[],
  dil: [number, number],
): Tensor {
  const { x, pad } = cropNegative(rows, p);
  if (isDepthwise(node, cin)) {
    const out = tf.depthwiseConv2d(x as tf.Tensor4D, ks[0] as tf.Tensor4D, 1, pad, "NHWC", dil);
    const m = ks[0].shape[2]! / cin;
    if (m === 1) return out;
    const [n, h, w] = out.shape;
    return tf.reshape(tf.sum(tf.reshape(out, [n * h, w, cin, m]), 3), [n, h, w, cin]);
  }
  if (ks.length === 1) return tf.conv2d(x as tf.Tensor4D, ks[0] as tf.Tensor4D, 1, pad, "NHWC", dil);
  const parts = tf.split(x, ks.length, 3).map((r, g) =>
    tf.conv2d(r as tf.Tensor4D, ks[g] as tf.Tensor4D, 1, pad, "NHWC", dil)
  );
  return tf.concat(parts, 3);
}

/**
 * `Pᵀ r` for one sign part `P` of the convolution weights of `node` (`w`: the ordinary transpose):
 * rows `dy` `[B, Ho, Wo, Cout]` → `[B, H, W, Cin]`.
 * @param node The conv2d node (its weight, strides, pads, dilations and group are used).
 * @param dy Rows at the conv output, backend layout.
 * @param inputShape The conv input shape `[B, H, W, Cin]` (B as in `dy`).
 * @param part Which part of the weights. @default "w"
 * @returns Rows at the conv input.
 * @example
 * ```ts
 * import { GraphBuilder, tf } from "@cnnlens/core";
 * import { convTranspose } from "./conv_transpose.ts";
 * const b = new GraphBuilder([1, 4, 4]);
 * const g = b.build(b.conv("c", "input", { out: 1, k: 3, stride: 2 }));
 * const up = convTranspose(g.node("c"), tf.ones([1, 2, 2, 1]), [1, 4, 4, 1]);
 * if (up.shape[1] !== 4) throw new Error("back at the input size");
 * ```
 */
export function convTranspose(
  node: GraphNode,
  dy: Tensor,
  inputShape: number[],
  part: WeightPart = "w",
): Tensor {
  return tf.tidy(() => {
    const a = node.attrs;
    const [t, l] = a.pads ?? [0, 0, 0, 0];
    const [sh, sw] = a.strides ?? [1, 1];
    const dil = (a.dilations ?? [1, 1]) as [number, number];
    const [n, h, w, cin] = inputShape;
    const [, oh, ow] = dy.shape as number[];
    const ks = preparedKernels(node, part, cin);
    const weight = node.params.weight;
    if (sh === 1 && sw === 1) {
      // dx[i] = Σ_a w[a]·dy[i + t − a·d] = Σ_a' flip(w)[a']·dy_pad[i + a'·d], dy_pad offset by ek − 1 − t.
      const ekh = dil[0] * (weight.shape[0]! - 1) + 1;
      const ekw = dil[1] * (weight.shape[1]! - 1) + 1;
      const top = ekh - 1 - t, left = ekw - 1 - l;
      return correlate(node, cin, dy, ks, [top, h + ekh - 1 - top - oh, left, w + ekw - 1 - left - ow], dil);
    }
    // Polyphase: with j = i + t = s·u + r, dx[i] = Σ_m w[r + s·m]·dy[u − m] — per phase r a stride-1
    // correlation with the sub-kernel w[r::s]; u runs over [u0, u0 + U) for every phase.
    const ekh = dil[0] * (weight.shape[0]! - 1) + 1;
    const ekw = dil[1] * (weight.shape[1]! - 1) + 1;
    const u0 = Math.floor(t / sh), v0 = Math.floor(l / sw);
    const nu = Math.ceil((h + t) / sh) - u0, nv = Math.ceil((w + l) / sw) - v0;
    const perPhase = ks.length / phases(node, ekh, ekw).filter((p) => p.kr && p.kc).length;
    let next = 0;
    const rowsOfPhases: Tensor[] = [];
    const all = phases(node, ekh, ekw);
    for (let rh = 0; rh < sh; rh++) {
      const cols: Tensor[] = [];
      for (let rw = 0; rw < sw; rw++) {
        const { kr, kc } = all[rh * sw + rw];
        if (!kr || !kc) {
          cols.push(tf.zeros([n, nu, nv, cin]));
          continue;
        }
        const k = ks.slice(next, next += perPhase);
        const top = kr - 1 - u0, left = kc - 1 - v0;
        cols.push(
          correlate(node, cin, dy, k, [top, nu + kr - 1 - top - oh, left, nv + kc - 1 - left - ow], [1, 1]),
        );
      }
      // Interleave the column phases: [n, U, V, sw·C] → [n, U, V·sw, C] (rank ≤ 4 throughout).
      rowsOfPhases.push(tf.reshape(tf.concat(cols, 3), [n, nu, nv * sw, cin]));
    }
    const d = tf.reshape(tf.concat(rowsOfPhases, 2), [n, nu * sh, nv * sw, cin]);
    return tf.slice(d, [0, t - sh * u0, l - sw * v0, 0], [n, h, w, cin]);
  });
}
