import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import { Graph } from "../graph/graph.ts";
import type { GraphNode } from "../graph/node.ts";
import { convWeightFromTorch } from "../graph/weights.ts";
import { conv2dNoBias } from "./forward.ts";
import { convTranspose } from "./conv_transpose.ts";
import { KernelCache } from "./kernel_cache.ts";
import { assertAllClose, forEachBackend, values } from "../_testing/assert.ts";
import { randomRef, type Ref } from "../_testing/reference.ts";

/** A convolution case: torch weight [cout, cin/group, kh, kw], input [cin, h, w]. */
interface Case {
  name: string;
  cin: number;
  cout: number;
  k: [number, number];
  stride: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dil: [number, number];
  group: number;
}

/** `[name, cin, cout, [kh, kw], [sh, sw], [top, left, bottom, right], [dh, dw], group]` */
type Row = [
  string,
  number,
  number,
  [number, number],
  [number, number],
  Case["pads"],
  [number, number],
  number,
];
const rows: Row[] = [
  ["3×3 stride 1", 3, 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1],
  ["3×3 stride 2", 3, 5, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 1],
  ["4×4 stride 3 no pad", 3, 2, [4, 4], [3, 3], [0, 0, 0, 0], [1, 1], 1],
  ["7×7 stride 2 pad 3", 3, 4, [7, 7], [2, 2], [3, 3, 3, 3], [1, 1], 1],
  ["1×1 stride 2", 4, 3, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1], 1],
  ["unequal strides 1×2, asymmetric pads 2/0/1/1", 2, 3, [3, 3], [1, 2], [2, 0, 1, 1], [1, 1], 1],
  ["3×2 kernel, stride 2×1, pads 0/1/2/0", 3, 4, [3, 2], [2, 1], [0, 1, 2, 0], [1, 1], 1],
  ["dilation 2", 2, 3, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2], 1],
  ["dilation 3×2 with stride 2", 3, 4, [3, 3], [2, 2], [3, 2, 1, 2], [3, 2], 1],
  ["groups 2, stride 2", 4, 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 2],
  ["depthwise, stride 2", 4, 4, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 4],
  ["depthwise ×2, dilation 2", 3, 6, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2], 3],
  ["padding wider than the kernel", 2, 2, [1, 1], [1, 1], [2, 2, 2, 2], [1, 1], 1],
];
const cases: Case[] = rows.map(([name, cin, cout, k, stride, pads, dil, group]) => ({
  name,
  cin,
  cout,
  k,
  stride,
  pads,
  dil,
  group,
}));

/** Output size of the forward convolution along one axis. */
function outSize(n: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/**
 * The transpose of the loop convolution (`refConv` in `_testing/reference.ts`), one sample: every product
 * `w[co, ci, ky, kx]·x[g·cpg + ci, iy, ix]` of the forward sum, read backwards.
 */
function refConvTranspose(dy: Ref, w: Ref, c: Case, h: number, wd: number): Ref {
  const [cout, cpg, kh, kw] = w.shape;
  const [, oh, ow] = dy.shape;
  const [t, l] = c.pads;
  const opg = cout / c.group;
  const out = new Float64Array(cpg * c.group * h * wd);
  for (let co = 0; co < cout; co++) {
    const g = Math.floor(co / opg);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const v = dy.data[(co * oh + oy) * ow + ox];
        for (let ci = 0; ci < cpg; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * c.stride[0] - t + ky * c.dil[0];
              const ix = ox * c.stride[1] - l + kx * c.dil[1];
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              out[((g * cpg + ci) * h + iy) * wd + ix] += w.data[((co * cpg + ci) * kh + ky) * kw + kx] * v;
            }
          }
        }
      }
    }
  }
  return { data: out, shape: [cpg * c.group, h, wd] };
}

/** A one-conv graph for a case, its torch-layout weights, and the output shape. */
function setup(c: Case, seed: number): { g: Graph; node: GraphNode; w: Ref; oh: number; ow: number } {
  const [h, wd] = [9, 10];
  const w = randomRef([c.cout, c.cin / c.group, ...c.k], seed);
  const wt = tf.tensor4d(Float32Array.from(w.data), w.shape as [number, number, number, number]);
  const weight = convWeightFromTorch(wt, c.group, c.cin);
  wt.dispose();
  const oh = outSize(h, c.k[0], c.stride[0], c.pads[0], c.pads[2], c.dil[0]);
  const ow = outSize(wd, c.k[1], c.stride[1], c.pads[1], c.pads[3], c.dil[1]);
  const g = new Graph([
    { name: "x", op: "input", inputs: [], attrs: {}, params: {}, shape: [c.cin, h, wd] },
    {
      name: "c",
      op: "conv2d",
      inputs: ["x"],
      attrs: { strides: c.stride, pads: c.pads, dilations: c.dil, group: c.group },
      params: { weight },
      shape: [],
    },
  ]);
  assert.deepEqual(g.node("c").shape, [c.cout, oh, ow], `${c.name}: output shape`);
  return { g, node: g.node("c"), w, oh, ow };
}

/** NCHW rows (a batch) → NHWC tensor. */
function rowsToBackend(rows: Ref): Tensor {
  return tf.tidy(() =>
    tf.transpose(tf.tensor4d(Float32Array.from(rows.data), rows.shape as [number, number, number, number]), [
      0,
      2,
      3,
      1,
    ])
  );
}

async function toNchw(t: Tensor): Promise<Float32Array> {
  const n = tf.transpose(t, [0, 3, 1, 2]);
  const v = await values(n);
  n.dispose();
  return v;
}

async function dot(a: Tensor, b: Tensor): Promise<number> {
  const [u, v] = [await values(a), await values(b)];
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
}

forEachBackend(
  "convTranspose() equals the transposed loop convolution (strides, pads, dilation, groups, depthwise)",
  async () => {
    for (const [i, c] of cases.entries()) {
      const { g, node, w, oh, ow } = setup(c, 10 + i);
      const [h, wd] = [9, 10];
      // Two rows at once (a batch of 2): each is transposed on its own.
      const rows = randomRef([2, c.cout, oh, ow], 50 + i);
      const dy = rowsToBackend(rows);
      const dx = convTranspose(node, dy, [1, h, wd, c.cin]);
      assert.deepEqual(dx.shape, [2, h, wd, c.cin], c.name);
      const got = await toNchw(dx);
      const per = c.cout * oh * ow;
      for (const r of [0, 1]) {
        const row = { data: rows.data.subarray(r * per, (r + 1) * per), shape: [c.cout, oh, ow] };
        const expected = refConvTranspose(row, w, c, h, wd);
        const n = expected.data.length;
        assertAllClose(got.subarray(r * n, (r + 1) * n), expected.data, {
          rtol: 1e-4,
          atol: 1e-5,
          label: `${c.name}, row ${r}`,
        });
      }
      tf.dispose([dy, dx]);
      g.dispose();
    }
  },
);

forEachBackend(
  "convTranspose() is the adjoint of the forward convolution: ⟨conv(x), dy⟩ = ⟨x, Wᵀdy⟩",
  async () => {
    for (const [i, c] of cases.entries()) {
      // tfjs's conv2d refuses strides and dilations both > 1 (the loop reference above covers the case).
      if (c.stride.some((s) => s > 1) && c.dil.some((d) => d > 1)) continue;
      const { g, node } = setup(c, 20 + i);
      const [h, wd] = [9, 10];
      const x = tf.randomNormal([2, h, wd, c.cin], 0, 1, "float32", 30 + i);
      const y = conv2dNoBias(node, x, node.params.weight);
      const dy = tf.randomNormal(y.shape, 0, 1, "float32", 40 + i);
      const dx = convTranspose(node, dy, x.shape);
      const lhs = await dot(y, dy);
      const rhs = await dot(x, dx);
      assertAllClose([rhs], [lhs], { rtol: 1e-4, atol: 1e-4, label: c.name });
      tf.dispose([x, y, dy, dx]);
      g.dispose();
    }
  },
);

forEachBackend(
  "convTranspose() equals tfjs autodiff of the convolution (Conv2DBackpropInput), ≤ 1e-4 relative",
  async (be) => {
    for (const [i, c] of cases.entries()) {
      // tfjs differentiates no dilated convolution, and tfjs-wasm has no depthwise backprop kernel.
      if (c.dil.some((d) => d > 1) || (be === "wasm" && c.group === c.cin)) continue;
      const { g, node } = setup(c, 60 + i);
      const [h, wd] = [9, 10];
      const x = tf.randomNormal([1, h, wd, c.cin], 0, 1, "float32", 70 + i);
      const y = conv2dNoBias(node, x, node.params.weight);
      const dy = tf.randomNormal(y.shape, 0, 1, "float32", 80 + i);
      const old = tf.grad((v: Tensor) => tf.sum(tf.mul(conv2dNoBias(node, v, node.params.weight), dy)))(x);
      const dx = convTranspose(node, dy, x.shape);
      const ref = await values(old);
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertAllClose(await values(dx), ref, { rtol: 1e-4, atol: 1e-4 * scale, label: c.name });
      tf.dispose([x, y, dy, old, dx]);
      g.dispose();
    }
  },
);

forEachBackend(
  "convTranspose({ weight }) transposes other weights of the same shape (|W| here)",
  async () => {
    const c = cases[9]; // groups 2, stride 2
    const { g, node, w, oh, ow } = setup(c, 90);
    const rows = randomRef([1, c.cout, oh, ow], 91);
    const dy = rowsToBackend(rows);
    const abs = tf.abs(node.params.weight);
    const dx = convTranspose(node, dy, [1, 9, 10, c.cin], { weight: abs });
    const expected = refConvTranspose(
      { data: rows.data, shape: [c.cout, oh, ow] },
      { data: w.data.map(Math.abs), shape: w.shape },
      c,
      9,
      10,
    );
    assertAllClose(await toNchw(dx), expected.data, { rtol: 1e-4, atol: 1e-5 });
    tf.dispose([dy, abs, dx]);
    g.dispose();
  },
);

forEachBackend(
  "convTranspose({ cache }) makes the kernels once, gives the same numbers, and releases them",
  async () => {
    const cache = new KernelCache();
    for (const [i, c] of [cases[1], cases[9], cases[10]].entries()) {
      const { g, node } = setup(c, 100 + i);
      const dy = tf.randomNormal([1, ...node.shape.slice(1), c.cout], 0, 1, "float32", 5);
      const plain = convTranspose(node, dy, [1, 9, 10, c.cin]);
      const first = convTranspose(node, dy, [1, 9, 10, c.cin], { cache });
      const held = cache.size;
      // Polyphase: one kernel per phase (2×2 phases) and group; depthwise: one per phase.
      assert.equal(held, 4 * (c.group === c.cin ? 1 : c.group), c.name);
      const before = tf.memory().numTensors;
      const again = convTranspose(node, dy, [1, 9, 10, c.cin], { cache });
      assert.equal(tf.memory().numTensors, before + 1, "only the result is new");
      assert.equal(cache.size, held);
      assertAllClose(await values(first), await values(plain), { rtol: 1e-6, atol: 1e-6 });
      assertAllClose(await values(again), await values(plain), { rtol: 1e-6, atol: 1e-6 });
      tf.dispose([dy, plain, first, again]);
      g.dispose();
      assert.equal(cache.sweep(), held, "released once the weight is disposed");
    }
    assert.equal(cache.size, 0);
  },
);

Deno.test("convTranspose() rejects a node that is not a convolution", () => {
  const node: GraphNode = { name: "r", op: "relu", inputs: ["x"], attrs: {}, params: {}, shape: [1, 2, 2] };
  assert.throws(
    () => convTranspose(node, tf.zeros([1, 2, 2, 1]), [1, 2, 2, 1]),
    (e: Error) =>
      e instanceof TypeError && e.message === "convTranspose() needs a conv2d node, got 'r' (relu)",
  );
});
