import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import type { GraphNode } from "../graph/node.ts";
import { windowOut } from "./forward.ts";

/**
 * The routing of a max-pool at its forward point: for every window offset, a 0/1 mask of the outputs
 * whose (first) argmax sits at that offset. Gives exact, tie-safe VJP and JVP rules without relying on a
 * backend's MaxPoolGrad, and NAFlow's argmax routing (NAFlow Eq. 14).
 */
export interface MaxPoolRouting {
  /** Window offsets [dy, dx] inside the padded input, one per mask. */
  offsets: [number, number][];
  /** Masks [N, Ho, Wo, C], one per offset; exactly one mask is 1 at each output. */
  masks: Tensor[];
  /** Padding applied before pooling, [[top, bottom], [left, right]] (bottom/right include ceil mode). */
  pad: [[number, number], [number, number]];
  /** Strides. */
  strides: [number, number];
  /** Output size. */
  out: [number, number];
  /** Release the masks. */
  dispose(): void;
}

function padInfo(node: GraphNode, h: number, w: number) {
  const [kh, kw] = node.attrs.kernel!;
  const [sh, sw] = node.attrs.strides ?? [kh, kw];
  const [t, l, b, r] = node.attrs.pads ?? [0, 0, 0, 0];
  const ceil = node.attrs.ceilMode ?? false;
  const oh = windowOut(h, kh, sh, t, b, 1, ceil);
  const ow = windowOut(w, kw, sw, l, r, 1, ceil);
  const bb = Math.max(b, (oh - 1) * sh + kh - (h + t));
  const rr = Math.max(r, (ow - 1) * sw + kw - (w + l));
  return { kh, kw, sh, sw, t, l, bb, rr, oh, ow };
}

/**
 * The strided view of a padded tensor at window offset (i, j): element [n, a, b, c] is
 * `xp[n, i + sh·a, j + sw·b, c]`.
 */
function patch(xp: Tensor, i: number, j: number, sh: number, sw: number, oh: number, ow: number): Tensor {
  const [n, , , c] = xp.shape;
  return tf.stridedSlice(xp, [0, i, j, 0], [n, i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1, c], [
    1,
    sh,
    sw,
    1,
  ]);
}

/**
 * Compute the routing masks of a max-pool node for forward input `x` (backend layout).
 * @param node The maxpool node.
 * @param x Its forward input [N, H, W, C].
 * @returns The routing (dispose it when done).
 */
export function maxPoolRouting(node: GraphNode, x: Tensor): MaxPoolRouting {
  const [, h, w] = x.shape as number[];
  const p = padInfo(node, h, w);
  const masks = tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], [p.t, p.bb], [p.l, p.rr], [0, 0]], -3.4e38);
    const patches: Tensor[] = [];
    for (let i = 0; i < p.kh; i++) {
      for (let j = 0; j < p.kw; j++) patches.push(patch(xp, i, j, p.sh, p.sw, p.oh, p.ow));
    }
    const max = patches.reduce((a, b) => tf.maximum(a, b));
    let taken = tf.zerosLike(max).cast("bool");
    const out: Tensor[] = [];
    for (const q of patches) {
      const hit = tf.logicalAnd(tf.equal(q, max), tf.logicalNot(taken));
      taken = tf.logicalOr(taken, hit);
      out.push(tf.cast(hit, "float32"));
    }
    return out;
  });
  const offsets: [number, number][] = [];
  for (let i = 0; i < p.kh; i++) for (let j = 0; j < p.kw; j++) offsets.push([i, j]);
  return {
    offsets,
    masks,
    pad: [[p.t, p.bb], [p.l, p.rr]],
    strides: [p.sh, p.sw],
    out: [p.oh, p.ow],
    dispose: () => masks.forEach((m) => m.dispose()),
  };
}

/**
 * Scatter per-output values back to the input positions the routing selected (the max-pool VJP):
 * `x[n, y, x, c] = Σ_{outputs routed to (y, x)} dy`.
 * @param r The routing.
 * @param dy Values at the outputs [N, Ho, Wo, C].
 * @param inputShape The forward input shape [N, H, W, C].
 * @returns Values at the inputs [N, H, W, C].
 */
export function maxPoolScatter(r: MaxPoolRouting, dy: Tensor, inputShape: number[]): Tensor {
  return tf.tidy(() => {
    const [n, h, w, c] = inputShape;
    const [[t, b], [l, rr]] = r.pad;
    const hp = h + t + b;
    const wp = w + l + rr;
    const [sh, sw] = r.strides;
    const [oh, ow] = r.out;
    let acc: Tensor | null = null;
    r.offsets.forEach(([i, j], k) => {
      const u = tf.mul(dy, r.masks[k]);
      // Dilate by the stride: u[a, b] lands at (sh·a, sw·b). Kept at rank ≤ 4 because tfjs-webgpu's pad
      // silently returns zeros for rank 5-6 tensors (tfjs 4.22).
      const cols = tf.reshape(
        tf.pad(tf.reshape(u, [n * oh, ow, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]),
        [
          n,
          oh,
          1,
          ow * sw * c,
        ],
      );
      const d = tf.reshape(tf.pad(cols, [[0, 0], [0, 0], [0, sh - 1], [0, 0]]), [n, oh * sh, ow * sw, c]);
      // Shift by the offset and fit to the padded size.
      const rows = Math.min(oh * sh, hp - i);
      const width = Math.min(ow * sw, wp - j);
      const placed = tf.pad(tf.slice(d, [0, 0, 0, 0], [n, rows, width, c]), [
        [0, 0],
        [i, hp - i - rows],
        [j, wp - j - width],
        [0, 0],
      ]);
      acc = acc ? tf.add(acc, placed) : placed;
    });
    return tf.slice(acc!, [0, t, l, 0], [n, h, w, c]);
  });
}

/**
 * Gather input values through the routing (the max-pool JVP): `y[n, a, b, c] = v[argmax of window]`.
 * @param r The routing.
 * @param v Values at the inputs [N, H, W, C].
 * @returns Values at the outputs [N, Ho, Wo, C].
 */
export function maxPoolGather(r: MaxPoolRouting, v: Tensor): Tensor {
  return tf.tidy(() => {
    const [[t, b], [l, rr]] = r.pad;
    const vp = tf.pad(v, [[0, 0], [t, b], [l, rr], [0, 0]]);
    const [sh, sw] = r.strides;
    const [oh, ow] = r.out;
    return r.offsets
      .map(([i, j], k) => tf.mul(patch(vp, i, j, sh, sw, oh, ow), r.masks[k]))
      .reduce((a, c) => tf.add(a, c));
  });
}
