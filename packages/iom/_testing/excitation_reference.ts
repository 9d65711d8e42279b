/**
 * Test reference: explicit, dense excitation matrices built from the definition with plain loops in
 * float64 (PANE §3, METHODS.md), independent of the masked-VJP rules.
 *
 * For every node the reference runs the forward pass in float64 (NCHW per sample), writes the dense
 * local linear map `C_j` of each input `j` at that point (conv windows, gemm weights, BN factors, the
 * 0/1 of ReLU and max-pool routing, `1/n` of average pools, identities), and defines
 * `y'_o = Σ_j Σ_k C_j[o][k]·x_j[k]` (biases excluded). Then `Exc⁺_j[o][k] = C_j[o][k]` where the term
 * `C_j[o][k]·x_j[k]` is non-zero with the sign of `y'_o` (`Exc⁻`: the opposite sign), and the relative
 * excitation matrices are the products of these matrices (summed over the paths of a DAG).
 * @module
 */
import type { Graph, GraphNode } from "@cnnlens/core";

/** A node's float64 forward value and local linear maps. */
export interface RefNode {
  /** Output, NCHW per sample, flattened. */
  out: Float64Array;
  /** Per input: dense `[outSize × inSize]` row-major local coefficients. */
  coef: Float64Array[];
  /** `y' = Σ C x`, biases excluded. */
  yPrime: Float64Array;
}

type Params = Map<string, Record<string, { data: Float64Array; shape: number[] }>>;

/**
 * Read every parameter as float64 (from the float32 tensors).
 * @param graph The graph.
 * @returns Node name → parameter name → values and shape (backend layout).
 */
export async function readParams(graph: Graph): Promise<Params> {
  const out: Params = new Map();
  for (const n of graph.nodes) {
    const p: Record<string, { data: Float64Array; shape: number[] }> = {};
    for (const [k, t] of Object.entries(n.params)) {
      p[k] = { data: Float64Array.from(await t.data() as Float32Array), shape: t.shape as number[] };
    }
    out.set(n.name, p);
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function local(node: GraphNode, p: Params, ins: Float64Array[], inShapes: number[][]): RefNode {
  const outSize = size(node.shape);
  const coef = ins.map((x) => new Float64Array(outSize * x.length));
  const pr = p.get(node.name)!;
  let bias: Float64Array | null = null;
  const [co_, oh, ow] = node.shape;
  switch (node.op) {
    case "conv2d": {
      const [cin, h, w] = inShapes[0];
      const wt = pr.weight;
      const [kh, kw, a2, a3] = wt.shape;
      const group = node.attrs.group ?? 1;
      const depthwise = group !== 1 && group === cin && a2 === cin;
      const [sh, sw] = node.attrs.strides ?? [1, 1];
      const [dh, dw] = node.attrs.dilations ?? [1, 1];
      const [t, l] = node.attrs.pads ?? [0, 0, 0, 0];
      const cpg = cin / group;
      const opg = co_ / group;
      for (let co = 0; co < co_; co++) {
        const g = Math.floor(co / opg);
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            const o = (co * oh + oy) * ow + ox;
            for (let ci = 0; ci < cpg; ci++) {
              const c = g * cpg + ci;
              for (let ky = 0; ky < kh; ky++) {
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh - t + ky * dh;
                  const ix = ox * sw - l + kx * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const wv = depthwise
                    ? wt.data[((ky * kw + kx) * cin + c) * a3 + (co % a3)]
                    : wt.data[((ky * kw + kx) * a2 + ci) * a3 + co];
                  coef[0][o * ins[0].length + (c * h + iy) * w + ix] += wv;
                }
              }
            }
          }
        }
      }
      bias = pr.bias
        ? Float64Array.from({ length: outSize }, (_, o) => pr.bias.data[Math.floor(o / (oh * ow))])
        : null;
      break;
    }
    case "gemm": {
      const [fin, fout] = pr.weight.shape;
      for (let o = 0; o < fout; o++) {
        for (let i = 0; i < fin; i++) coef[0][o * fin + i] = pr.weight.data[i * fout + o];
      }
      bias = pr.bias ? pr.bias.data : null;
      break;
    }
    case "batchnorm": {
      const [c, h, w] = inShapes[0];
      const eps = node.attrs.epsilon ?? 1e-5;
      bias = new Float64Array(outSize);
      for (let ch = 0; ch < c; ch++) {
        const f = pr.scale.data[ch] / Math.sqrt(pr.variance.data[ch] + eps);
        for (let i = ch * h * w; i < (ch + 1) * h * w; i++) {
          coef[0][i * outSize + i] = f;
          bias[i] = pr.shift.data[ch] - pr.mean.data[ch] * f;
        }
      }
      break;
    }
    case "relu":
      for (let i = 0; i < outSize; i++) coef[0][i * outSize + i] = ins[0][i] > 0 ? 1 : 0;
      break;
    case "leakyrelu":
      for (let i = 0; i < outSize; i++) {
        coef[0][i * outSize + i] = ins[0][i] > 0 ? 1 : (node.attrs.alpha ?? 0.01);
      }
      break;
    case "identity":
    case "flatten":
    case "reshape":
      for (let i = 0; i < outSize; i++) coef[0][i * outSize + i] = 1;
      break;
    case "add":
      for (const c of coef) for (let i = 0; i < outSize; i++) c[i * outSize + i] = 1;
      break;
    case "globalavgpool": {
      const [c, h, w] = inShapes[0];
      for (let ch = 0; ch < c; ch++) {
        for (let i = 0; i < h * w; i++) coef[0][ch * c * h * w + ch * h * w + i] = 1 / (h * w);
      }
      break;
    }
    case "maxpool":
    case "avgpool": {
      const [c, h, w] = inShapes[0];
      const [kh, kw] = node.attrs.kernel!;
      const [sh, sw] = node.attrs.strides ?? [kh, kw];
      const [t, l, b, r] = node.attrs.pads ?? [0, 0, 0, 0];
      for (let ch = 0; ch < c; ch++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            const o = (ch * oh + oy) * ow + ox;
            let best = -1;
            const window: number[] = [];
            let nPad = 0;
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh - t + ky;
                const ix = ox * sw - l + kx;
                if (iy >= -t && iy < h + b && ix >= -l && ix < w + r) nPad++;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const i = (ch * h + iy) * w + ix;
                window.push(i);
                if (best < 0 || ins[0][i] > ins[0][best]) best = i; // first argmax in row-major order
              }
            }
            if (node.op === "maxpool") coef[0][o * ins[0].length + best] = 1;
            else {
              const n = node.attrs.countIncludePad ? nPad : window.length;
              for (const i of window) coef[0][o * ins[0].length + i] = 1 / n;
            }
          }
        }
      }
      break;
    }
    default:
      throw new Error(`reference: op '${node.op}' not covered`);
  }
  const yPrime = new Float64Array(outSize);
  ins.forEach((x, j) => {
    for (let o = 0; o < outSize; o++) {
      let s = 0;
      for (let k = 0; k < x.length; k++) s += coef[j][o * x.length + k] * x[k];
      yPrime[o] += s;
    }
  });
  const out = bias ? yPrime.map((v, i) => v + bias![i]) : yPrime.slice();
  return { out, coef, yPrime };
}

/**
 * The float64 forward pass with every node's local linear map.
 * @param graph The graph.
 * @param params Parameters from {@linkcode readParams}.
 * @param input The input, NCHW per sample, flattened.
 * @returns Node name → forward value and local maps.
 */
export function referenceForward(
  graph: Graph,
  params: Params,
  input: ArrayLike<number>,
): Map<string, RefNode> {
  const nodes = new Map<string, RefNode>();
  for (const n of graph.nodes) {
    if (n.op === "input") {
      nodes.set(n.name, { out: Float64Array.from(input), coef: [], yPrime: Float64Array.from(input) });
      continue;
    }
    nodes.set(
      n.name,
      local(n, params, n.inputs.map((i) => nodes.get(i)!.out), n.inputs.map((i) => graph.node(i).shape)),
    );
  }
  return nodes;
}

/**
 * The explicit excitation matrix of one input of a node: `C` where the term has the sign of `y'`
 * (`sign = 1`) or the opposite sign (`sign = -1`), else 0.
 * @param r The node's reference data.
 * @param x The input's forward value.
 * @param j Which input.
 * @param sign 1 for Exc⁺, -1 for Exc⁻.
 * @returns Dense `[outSize × inSize]`.
 */
export function excitationMatrix(r: RefNode, x: Float64Array, j: number, sign: 1 | -1): Float64Array {
  const c = r.coef[j];
  const e = new Float64Array(c.length);
  const n = x.length;
  for (let o = 0; o < r.yPrime.length; o++) {
    const sy = Math.sign(r.yPrime[o]);
    for (let k = 0; k < n; k++) {
      const term = c[o * n + k] * x[k];
      if (term !== 0 && sy !== 0 && Math.sign(term) === sign * sy) e[o * n + k] = c[o * n + k];
    }
  }
  return e;
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      if (v === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += v * b[p * n + j];
    }
  }
  return out;
}

/**
 * The relative excitation matrices of a node onto a target node: `r-Exc⁺ = Π Exc⁺` and
 * `r-Exc⁻ = Exc⁻_N · Π Exc⁺` with `N` given, as dense products of the explicit matrices (for a DAG, the
 * sum over paths: `M_node = Σ_j Exc_j · M_input_j`).
 * @param graph The graph.
 * @param ref The reference forward data.
 * @param node The decided node.
 * @param target The node excitation maps onto.
 * @param negative The layer `N` whose Exc⁻ r-Exc⁻ uses (null: r-Exc⁻ = 0).
 * @returns Dense `[size(node) × size(target)]` matrices: row i is the excitation of unit i.
 */
export function relativeExcitationMatrices(
  graph: Graph,
  ref: Map<string, RefNode>,
  node: string,
  target: string,
  negative: string | null,
): { pos: Float64Array; neg: Float64Array } {
  const tSize = ref.get(target)!.out.length;
  const pos = new Map<string, Float64Array>();
  const neg = new Map<string, Float64Array>();
  const eye = new Float64Array(tSize * tSize);
  for (let i = 0; i < tSize; i++) eye[i * tSize + i] = 1;
  pos.set(target, eye);
  const start = graph.indexOf(target);
  for (const n of graph.nodes.slice(start + 1, graph.indexOf(node) + 1)) {
    const r = ref.get(n.name)!;
    const oSize = r.out.length;
    let accP: Float64Array | null = null;
    let accN: Float64Array | null = null;
    const add = (acc: Float64Array | null, m: Float64Array) => acc ? acc.map((v, q) => v + m[q]) : m;
    n.inputs.forEach((i, j) => {
      const x = ref.get(i)!.out;
      const ePos = excitationMatrix(r, x, j, 1);
      const mp = pos.get(i);
      const mn = neg.get(i);
      if (mp) accP = add(accP, matmul(ePos, mp, oSize, x.length, tSize));
      if (n.name === negative && mp) {
        accN = add(accN, matmul(excitationMatrix(r, x, j, -1), mp, oSize, x.length, tSize));
      } else if (mn) accN = add(accN, matmul(ePos, mn, oSize, x.length, tSize));
    });
    if (accP) pos.set(n.name, accP);
    if (accN) neg.set(n.name, accN);
  }
  const size = ref.get(node)!.out.length * tSize;
  return { pos: pos.get(node) ?? new Float64Array(size), neg: neg.get(node) ?? new Float64Array(size) };
}

/**
 * Row `i` of a dense `[rows × cols]` matrix.
 * @param m Matrix.
 * @param i Row.
 * @param cols Columns.
 * @returns The row.
 */
export function row(m: Float64Array, i: number, cols: number): Float64Array {
  return m.slice(i * cols, (i + 1) * cols);
}
