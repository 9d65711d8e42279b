/**
 * Small networks and plain-loop helpers for the CAM tests: independent transcriptions of the definitions
 * (float64, explicit loops over NHWC arrays), never the package's tensor code.
 * @module
 */
import { type Decision, gradients, type Graph, GraphBuilder, type Tensor } from "@cnnlens/core";
import { values } from "../../../core/src/_testing/assert.ts";
export { onBackends } from "../../../core/src/_testing/assert.ts";

/** conv-BN-ReLU-maxpool-conv-BN-ReLU-GAP-flatten-FC(4) on 3×10×10 (BN with random statistics). */
export function gapNet(seed = 3): Graph {
  const b = new GraphBuilder([3, 10, 10], seed);
  let x = b.conv("conv1", b.inputName, { out: 5, k: 3 });
  x = b.bn("bn1", x, true);
  x = b.op("relu1", "relu", x);
  x = b.maxpool("pool1", x, 2, 2);
  x = b.conv("conv2", x, { out: 6, k: 3 });
  x = b.bn("bn2", x, true);
  x = b.op("relu2", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 4);
  return b.build(x);
}

/** A residual network: the block after `relu1` reads it again through a shortcut (add). */
export function residualNet(seed = 5): Graph {
  const b = new GraphBuilder([3, 8, 8], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 3 });
  const r1 = b.op("relu1", "relu", x);
  x = b.conv("block.conv", r1, { out: 4, k: 3 });
  x = b.bn("block.bn", x, true);
  x = b.op("block.add", "add", [x, r1]);
  x = b.op("block.relu", "relu", x);
  x = b.conv("conv3", x, { out: 5, k: 3, stride: 2 });
  x = b.op("relu3", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}

/** NHWC element index. */
export function nhwc(shape: number[], n: number, y: number, x: number, c: number): number {
  const [, h, w, ch] = shape;
  return ((n * h + y) * w + x) * ch + c;
}

/** Plain-loop map `M[n, y, x] = Σ_k f(n, k, y, x)` as float64 `[N·h·w]`. */
export function sumOverChannels(
  shape: number[],
  f: (n: number, k: number, y: number, x: number) => number,
): Float64Array {
  const [N, h, w, c] = shape;
  const out = new Float64Array(N * h * w);
  for (let n = 0; n < N; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += f(n, k, y, x);
        out[(n * h + y) * w + x] = s;
      }
    }
  }
  return out;
}

/** Element-wise ReLU of a plain array. */
export function reluArr(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v) => Math.max(v, 0));
}

/**
 * Bilinear resize of one `h × w` plane to `H × W`, written from the two definitions:
 * corners aligned (`src = dst · (h − 1)/(H − 1)`) or pixel centres (`src = (dst + ½)·h/H − ½`, clamped).
 */
export function bilinear(
  plane: ArrayLike<number>,
  h: number,
  w: number,
  H: number,
  W: number,
  corners: boolean,
): Float64Array {
  const out = new Float64Array(H * W);
  const src = (d: number, n: number, N: number) => {
    if (corners) return N > 1 ? d * (n - 1) / (N - 1) : 0;
    return Math.min(Math.max((d + 0.5) * n / N - 0.5, 0), n - 1);
  };
  for (let Y = 0; Y < H; Y++) {
    const sy = src(Y, h, H);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let X = 0; X < W; X++) {
      const sx = src(X, w, W);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx;
      const bot = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx;
      out[Y * W + X] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** pytorch-grad-cam's `scale_cam_image` on one plane: `(x − min) / (1e-7 + max − min)`. */
export function scalePlane(a: ArrayLike<number>): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i]);
    hi = Math.max(hi, a[i]);
  }
  return Float64Array.from(a, (v) => (v - lo) / (1e-7 + hi - lo));
}

/**
 * Activations and ∂decision/∂activations at a layer, from the core's whole-graph autodiff
 * (`gradients()`), read out as plain arrays.
 */
export async function explicitGradients(
  g: Graph,
  x: Tensor,
  d: Decision,
  layer: string,
): Promise<{ a: Float32Array; grad: Float32Array; shape: number[] }> {
  const r = gradients(g, x, d, [layer]);
  const a = await values(r.trace.get(layer));
  const grad = await values(r.grads.get(layer)!);
  const shape = r.grads.get(layer)!.shape as number[];
  r.dispose();
  return { a, grad, shape };
}

/** Channel weights `[N·C]` from a per-(image, channel) function. */
export function perChannel(shape: number[], f: (n: number, k: number) => number): Float64Array {
  const [N, , , c] = shape;
  const out = new Float64Array(N * c);
  for (let n = 0; n < N; n++) for (let k = 0; k < c; k++) out[n * c + k] = f(n, k);
  return out;
}

/** Σ over the positions of channel k of image n. */
export function spatialSum(shape: number[], f: (y: number, x: number) => number): number {
  const [, h, w] = shape;
  let s = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) s += f(y, x);
  return s;
}
