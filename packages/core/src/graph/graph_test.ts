import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { Graph, UnknownNodeError } from "./graph.ts";
import type { Attrs, GraphNode, OpName } from "./node.ts";
import { convWeightFromTorch } from "./weights.ts";
import { runForward } from "../exec/forward.ts";
import { assertAllClose, forEachBackend, values } from "../_testing/assert.ts";
import { randomRef, type Ref, refConv, refPool } from "../_testing/reference.ts";
import { tinyNet } from "../_testing/tiny.ts";

function nchwToBackend(r: Ref): tf.Tensor {
  const [c, h, w] = r.shape;
  return tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from(r.data), [1, c, h, w]), [0, 2, 3, 1]));
}

async function backendToNchw(t: tf.Tensor): Promise<Float32Array> {
  const n = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
  const v = await values(n);
  if (n !== t) n.dispose();
  return v;
}

function single(op: OpName, inShape: number[], attrs: Attrs, params: Record<string, tf.Tensor> = {}): Graph {
  const nodes: GraphNode[] = [
    { name: "x", op: "input", inputs: [], attrs: {}, params: {}, shape: inShape },
    { name: "y", op, inputs: ["x"], attrs, params, shape: [] },
  ];
  return new Graph(nodes);
}

async function runSingle(g: Graph, x: Ref): Promise<Float32Array> {
  const xt = nchwToBackend(x);
  const tr = runForward(g, xt);
  const out = await backendToNchw(tr.get("y"));
  tr.dispose();
  xt.dispose();
  return out;
}

const convCases = [
  {
    name: "3x3 stride 1 pad 1",
    cin: 3,
    cout: 5,
    k: 3,
    stride: [1, 1],
    pads: [1, 1, 1, 1],
    dil: [1, 1],
    group: 1,
  },
  {
    name: "3x3 stride 2 asym pad",
    cin: 4,
    cout: 6,
    k: 3,
    stride: [2, 2],
    pads: [1, 0, 0, 1],
    dil: [1, 1],
    group: 1,
  },
  {
    name: "3x3 dilation 2",
    cin: 2,
    cout: 3,
    k: 3,
    stride: [1, 1],
    pads: [2, 2, 2, 2],
    dil: [2, 2],
    group: 1,
  },
  { name: "groups 2", cin: 4, cout: 6, k: 3, stride: [1, 1], pads: [1, 1, 1, 1], dil: [1, 1], group: 2 },
  { name: "depthwise ×2", cin: 4, cout: 8, k: 3, stride: [2, 2], pads: [1, 1, 1, 1], dil: [1, 1], group: 4 },
  { name: "1x1 stride 2", cin: 3, cout: 4, k: 1, stride: [2, 2], pads: [0, 0, 0, 0], dil: [1, 1], group: 1 },
] as const;

for (const c of convCases) {
  forEachBackend(`conv2d forward equals the loop definition (${c.name})`, async () => {
    const x = randomRef([c.cin, 9, 10], 1);
    const w = randomRef([c.cout, c.cin / c.group, c.k, c.k], 2);
    const bias = Array.from(randomRef([c.cout], 3).data);
    const wt = tf.tensor4d(Float32Array.from(w.data), w.shape as [number, number, number, number]);
    const g = single("conv2d", [c.cin, 9, 10], {
      strides: [...c.stride],
      pads: [...c.pads],
      dilations: [...c.dil],
      group: c.group,
    }, { weight: convWeightFromTorch(wt, c.group, c.cin), bias: tf.tensor1d(bias) });
    wt.dispose();
    const ref = refConv(x, w, bias, {
      stride: [...c.stride],
      pads: [...c.pads],
      dil: [...c.dil],
      group: c.group,
    });
    assert.deepEqual(g.node("y").shape, ref.shape);
    assertAllClose(await runSingle(g, x), ref.data, { rtol: 1e-4, atol: 1e-5 });
    g.dispose();
  });
}

const poolCases = [
  { kind: "max", k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], ceil: false, cip: false },
  { kind: "max", k: [2, 2], s: [2, 2], pads: [0, 0, 0, 0], ceil: true, cip: false },
  { kind: "avg", k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], ceil: false, cip: false },
  { kind: "avg", k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], ceil: false, cip: true },
  { kind: "avg", k: [2, 2], s: [2, 2], pads: [0, 0, 0, 0], ceil: true, cip: false },
] as const;

for (const p of poolCases) {
  forEachBackend(
    `${p.kind}pool forward equals the loop definition (k${p.k[0]} s${p.s[0]} pad ${
      p.pads[0]
    } ceil ${p.ceil} cip ${p.cip})`,
    async () => {
      const x = randomRef([3, 9, 9], 4);
      const g = single(p.kind === "max" ? "maxpool" : "avgpool", [3, 9, 9], {
        kernel: [...p.k],
        strides: [...p.s],
        pads: [...p.pads],
        ceilMode: p.ceil,
        countIncludePad: p.cip,
      });
      const ref = refPool(x, p.kind, [...p.k], [...p.s], [...p.pads], p.ceil, p.cip);
      assert.deepEqual(g.node("y").shape, ref.shape);
      assertAllClose(await runSingle(g, x), ref.data, { rtol: 1e-5, atol: 1e-6 });
    },
  );
}

forEachBackend("batchnorm forward equals (x − mean)·scale/√(var + eps) + shift", async () => {
  const x = randomRef([3, 4, 5], 5);
  const p = { scale: [0.5, 2, -1], shift: [0.1, -0.2, 0.3], mean: [0.2, -0.1, 0], variance: [0.5, 2, 1.5] };
  const g = single("batchnorm", [3, 4, 5], { epsilon: 1e-3 }, {
    scale: tf.tensor1d(p.scale),
    shift: tf.tensor1d(p.shift),
    mean: tf.tensor1d(p.mean),
    variance: tf.tensor1d(p.variance),
  });
  const expected = x.data.map((v, i) => {
    const c = Math.floor(i / 20);
    return (v - p.mean[c]) * p.scale[c] / Math.sqrt(p.variance[c] + 1e-3) + p.shift[c];
  });
  assertAllClose(await runSingle(g, x), expected, { rtol: 1e-5, atol: 1e-6 });
  g.dispose();
});

Deno.test("Graph.node() names the nearest layers for an unknown name", () => {
  const g = tinyNet();
  assert.throws(() => g.node("conv3"), (e: Error) => {
    assert.ok(e instanceof UnknownNodeError);
    assert.match(e.message, /^Cannot find layer 'conv3': did you mean 'conv1', 'conv2'/);
    return true;
  });
  g.dispose();
});

Deno.test("Graph rejects a shape mismatch with a one-line message", () => {
  const w = tf.zeros([3, 3, 4, 2]);
  assert.throws(
    () => single("conv2d", [3, 8, 8], { group: 1 }, { weight: w }),
    { message: "Shape mismatch at node 'y' (conv2d): weight expects 4 input channels, got 3" },
  );
  w.dispose();
});

Deno.test("Graph infers NCHW shapes and finds the last spatial layer", () => {
  const g = tinyNet();
  assert.deepEqual(g.node("conv1").shape, [4, 8, 8]);
  assert.deepEqual(g.node("pool1").shape, [4, 4, 4]);
  assert.deepEqual(g.node("gap").shape, [6, 1, 1]);
  assert.deepEqual(g.node("fc").shape, [3]);
  assert.equal(g.lastSpatialNode().name, "relu2");
  assert.deepEqual(g.descendants(["bn2"]), ["relu2", "gap", "flatten", "fc"]);
  g.dispose();
});
