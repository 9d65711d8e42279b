/**
 * Test helpers (not exported by mod.ts): small networks, plain-array conversions and plain-loop
 * references written independently of the package code.
 * @module
 */
import { type Graph, GraphBuilder, runForward, type Tensor, tf } from "@cnnlens/core";

/** Values of a tensor as float64. */
export async function f64(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data() as Float32Array);
}

/** A batch-1 NHWC tensor's values as a CHW array. */
export async function chw(t: Tensor): Promise<{ data: Float64Array; shape: [number, number, number] }> {
  const [, h, w, c] = t.shape as number[];
  const v = await f64(t);
  const out = new Float64Array(c * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        out[(k * h + y) * w + x] = v[(y * w + x) * c + k];
      }
    }
  }
  return { data: out, shape: [c, h, w] };
}

/** A CHW array as a batch-1 NHWC tensor. */
export function fromChw(data: ArrayLike<number>, [c, h, w]: number[]): Tensor {
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(y * w + x) * c + k] = data[(k * h + y) * w + x];
      }
    }
  }
  return tf.tensor4d(out, [1, h, w, c]);
}

/** Conv weights of a graph node as W[co][ci][ky][kx] (float64), from the backend's [kh, kw, cin, cout]. */
export async function convWeight(
  g: Graph,
  name: string,
): Promise<(ky: number, kx: number, ci: number, co: number) => number> {
  const w = g.node(name).params.weight;
  const [kh, kw, cin, cout] = w.shape as number[];
  const v = await f64(w);
  void kh;
  return (ky, kx, ci, co) => v[((ky * kw + kx) * cin + ci) * cout + co];
}

/**
 * conv(3→ch, k3, p1) - ReLU - conv(ch→4, k3, stride s, p1) - ReLU - GAP - flatten - fc(4→3): the
 * "conv-ReLU-conv-GAP-FC" net of the chain-rule tests.
 */
export function convReluConvNet(seed = 5, size = 6, stride = 1): Graph {
  const b = new GraphBuilder([2, size, size], seed);
  let x = b.conv("conv1", b.inputName, { out: 3, k: 3 });
  x = b.op("relu1", "relu", x);
  x = b.conv("conv2", x, { out: 4, k: 3, stride });
  x = b.op("relu2", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}

/** A small VGG-like chain with odd sizes, BN, ceil-mode max-pool, a dilated conv and a strided conv. */
export function vggLike(seed = 3, size = 13): Graph {
  const b = new GraphBuilder([3, size, size], seed);
  let x = b.conv("c1", b.inputName, { out: 4, k: 3 });
  x = b.bn("bn1", x, true);
  x = b.op("r1", "relu", x);
  x = b.conv("c2", x, { out: 4, k: 3 });
  x = b.op("s1", "relu", x);
  x = b.maxpool("p1", x, 2, 2, 0, true);
  x = b.conv("c3", x, { out: 5, k: 3, dilation: 2, pad: 1 });
  x = b.op("r3", "relu", x);
  x = b.conv("c4", x, { out: 6, k: 3, stride: 2 });
  x = b.op("s2", "leakyrelu", x, { alpha: 0.1 });
  x = b.maxpool("p2", x, 3, 2, 1);
  x = b.conv("c5", x, { out: 6, k: 3 });
  x = b.op("s3", "relu", x);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 4);
  return b.build(x);
}

/** A small ResNet-like net: stem conv stride 2 + max-pool, a block with a strided conv and a projection
 * shortcut, an identity block, a pad + concat branch, GAP + fc. */
export function resLike(seed = 4, size = 16): Graph {
  const b = new GraphBuilder([3, size, size], seed);
  let x = b.conv("conv1", b.inputName, { out: 4, k: 5, stride: 2, pad: 2, bias: false });
  x = b.bn("bn1", x, true);
  x = b.op("relu", "relu", x);
  x = b.maxpool("maxpool", x, 3, 2, 1);
  const blk = (p: string, inp: string, out: number, stride: number) => {
    let y = b.conv(`${p}.conv1`, inp, { out, k: 3, stride, bias: false });
    y = b.bn(`${p}.bn1`, y, true);
    y = b.op(`${p}.relu`, "relu", y);
    y = b.conv(`${p}.conv2`, y, { out, k: 3, bias: false });
    y = b.bn(`${p}.bn2`, y, true);
    let sc = inp;
    if (stride !== 1 || b.shape(inp)[0] !== out) {
      sc = b.conv(`${p}.downsample.0`, inp, { out, k: 1, stride, pad: 0, bias: false });
      sc = b.bn(`${p}.downsample.1`, sc, true);
    }
    return b.op(`${p}.relu`, "relu", b.op(`${p}.add`, "add", [y, sc]));
  };
  x = blk("layer1.0", x, 4, 1);
  const l1 = x;
  x = blk("layer2.0", x, 6, 2);
  x = blk("layer2.1", x, 6, 1);
  // A branch through an explicit pad op and a valid conv, concatenated on channels.
  const padded = b.op("pad", "pad", x, { padding: [0, 1, 1, 0, 1, 1] });
  const branch = b.conv("branch", padded, { out: 2, k: 3, pad: 0 });
  x = b.op("cat", "concat", [x, branch], { axis: 1 });
  x = b.op("head.relu", "relu", x);
  void l1;
  x = b.op("avgpool", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 3);
  return b.build(x);
}

/** conv-ReLU ("feat", 3×6×6) - flatten - fc(108 → 2): the logit is linear in feat, S = Σ W F + b. */
export function linearHead(seed = 7): Graph {
  const b = new GraphBuilder([2, 6, 6], seed);
  let x = b.conv("conv", b.inputName, { out: 3, k: 3 });
  x = b.op("feat", "relu", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 2);
  return b.build(x);
}

/** F (CHW), the FC weights W[k,y,x] of class c, and the bias. */
export async function linearParts(g: Graph, x: Tensor, c: number) {
  const tr = runForward(g, x);
  const F = (await chw(tr.get("feat"))).data;
  tr.dispose();
  const wAll = await f64(g.node("fc").params.weight); // [108, 2], rows in NCHW flatten order
  const W = Float64Array.from({ length: 108 }, (_, i) => wAll[i * 2 + c]);
  const bias = (await f64(g.node("fc").params.bias))[c];
  return { F, W, bias };
}
