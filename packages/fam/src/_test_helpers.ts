/**
 * Test helpers: toy networks whose embeddings the tests control, and plain-loop (float64) transcriptions
 * of the paper's equations that the tests compare the tensor code against. Written independently of
 * the package's tensor code.
 * @module
 */
import { type Graph, GraphBuilder, runForward, tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";

/**
 * A net whose GAP embedding is the mean colour of the image: identity 1×1 conv (`feat`), ReLU (`act`, the
 * layer), GAP (`gap`), flatten (`flatten`, the output). Channels are R, G, B.
 * @param h Input height.
 * @param w Input width.
 */
export function colorNet(h = 4, w = 4): Graph {
  const b = new GraphBuilder([3, h, w], 0);
  const eye = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]);
  let x = b.add("feat", "conv2d", [b.inputName], {
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
    group: 1,
  }, { weight: eye });
  x = b.op("act", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  return b.build(x);
}

/**
 * Images [B, h, w, 3] whose pixels are `colour ± 0.05` in a checkerboard, so maps vary while the mean
 * colour stays `colour` (keep components ≥ 0.05 so the ReLU passes everything).
 * @param colours One [r, g, b] per image.
 * @param h Height.
 * @param w Width.
 */
export function colourImages(colours: number[][], h = 4, w = 4): Tensor {
  const data = new Float32Array(colours.length * h * w * 3);
  colours.forEach((c, i) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < 3; ch++) {
          // A zero-mean checkerboard (h or w even): the mean colour, the GAP embedding, stays `c`.
          const pattern = 0.05 * ((y + x + ch + i) % 2 === 0 ? 1 : -1);
          data[((i * h + y) * w + x) * 3 + ch] = c[ch] + pattern;
        }
      }
    }
  });
  return tf.tensor4d(data, [colours.length, h, w, 3]);
}

/** Feature maps read back as plain arrays: `at(b, n, y, x)`. */
export interface Maps {
  b: number;
  h: number;
  w: number;
  n: number;
  data: Float32Array;
  at(b: number, n: number, y: number, x: number): number;
}

/**
 * Run the core forward pass (not the package's) and read a node's feature maps.
 * @param graph Graph.
 * @param images Images [B, H, W, C].
 * @param layer Node name.
 */
export async function readMaps(graph: Graph, images: Tensor, layer: string): Promise<Maps> {
  const trace = runForward(graph, images, { keep: [layer], until: layer });
  const t = trace.get(layer);
  const [b, h, w, n] = t.shape;
  const data = Float32Array.from(await t.data() as Float32Array);
  trace.dispose();
  return { b, h, w, n, data, at: (i, c, y, x) => data[((i * h + y) * w + x) * n + c] };
}

/**
 * Read any node's value flattened per sample in NCHW order, as plain rows.
 * @param graph Graph.
 * @param images Images.
 * @param node Node name.
 */
export async function readRows(graph: Graph, images: Tensor, node: string): Promise<number[][]> {
  const trace = runForward(graph, images, { keep: [node], until: node });
  const v = trace.get(node);
  const t = v.rank === 4 ? tf.transpose(v, [0, 3, 1, 2]) : v.clone();
  const data = await t.data() as Float32Array;
  const b = t.shape[0];
  const d = t.size / b;
  t.dispose();
  trace.dispose();
  return Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
}

/** Read a 2-D tensor as rows. */
export async function rows(t: Tensor): Promise<number[][]> {
  const data = await t.data() as Float32Array;
  const [r, c] = t.shape;
  return Array.from({ length: r }, (_, i) => Array.from(data.subarray(i * c!, (i + 1) * c!)));
}

/** GAP by loops: z_n = (1/hw) Σ A^n_ij. */
export function gapLoop(m: Maps, i: number): number[] {
  const z: number[] = [];
  for (let n = 0; n < m.n; n++) {
    let s = 0;
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) s += m.at(i, n, y, x);
    z.push(s / (m.h * m.w));
  }
  return z;
}

/** GMP by loops: z_n = max A^n_ij. */
export function gmpLoop(m: Maps, i: number): number[] {
  const z: number[] = [];
  for (let n = 0; n < m.n; n++) {
    let s = -Infinity;
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) s = Math.max(s, m.at(i, n, y, x));
    z.push(s);
  }
  return z;
}

/** LSE by loops, the textbook form: z_n = T log((1/hw) Σ exp(A^n_ij / T)). */
export function lseLoop(m: Maps, i: number, t: number): number[] {
  const z: number[] = [];
  for (let n = 0; n < m.n; n++) {
    let s = 0;
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) s += Math.exp(m.at(i, n, y, x) / t);
    z.push(t * Math.log(s / (m.h * m.w)));
  }
  return z;
}

function norm(v: number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Cosine similarity by loops. */
export function cosLoop(a: number[], b: number[]): number {
  let s = 0;
  for (let n = 0; n < a.length; n++) s += a[n] * b[n];
  return s / (norm(a) * norm(b));
}

/** Eq. 15 by loops: c_n = (1/K) Σ_k z_n z^k_n / (|s(Z, Z^k)| ‖Z‖ ‖Z^k‖). */
export function eq15Loop(z: number[], refs: number[][]): number[] {
  const c = new Array(z.length).fill(0);
  for (const r of refs) {
    const s = cosLoop(z, r);
    for (let n = 0; n < z.length; n++) c[n] += z[n] * r[n] / (Math.abs(s) * norm(z) * norm(r)) / refs.length;
  }
  return c;
}

/** Euclidean contributions by loops: c_n = (1/K) Σ_k −(z_n − z^k_n)² / |s_k|, s_k = −Σ_n (z_n − z^k_n)². */
export function euclidLoop(z: number[], refs: number[][]): number[] {
  const c = new Array(z.length).fill(0);
  for (const r of refs) {
    let s = 0;
    for (let n = 0; n < z.length; n++) s -= (z[n] - r[n]) ** 2;
    for (let n = 0; n < z.length; n++) c[n] += -((z[n] - r[n]) ** 2) / Math.abs(s) / refs.length;
  }
  return c;
}

/** Eq. 12 by loops. */
export function minMaxLoop(c: ArrayLike<number>): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < c.length; i++) {
    lo = Math.min(lo, c[i]);
    hi = Math.max(hi, c[i]);
  }
  return Array.from(c, (v) => (hi > lo ? (v - lo) / (hi - lo) : 1));
}

/** Eq. 13 by loops: L_yx = Σ_n c̄_n A^n_yx. */
export function mapLoop(m: Maps, i: number, cbar: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let y = 0; y < m.h; y++) {
    for (let x = 0; x < m.w; x++) {
      let s = 0;
      for (let n = 0; n < m.n; n++) s += cbar[n] * m.at(i, n, y, x);
      out.push(s);
    }
  }
  return out;
}

/** Σ of an array. */
export function total(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
