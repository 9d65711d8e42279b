import assert from "node:assert/strict";
import { classLogit, GraphBuilder, perItem, runForward, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { cam, camHead } from "./cam.ts";
import { gradCam } from "./grad_cam.ts";
import { hiResCam } from "./hires_cam.ts";
import { gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

onBackends(
  "cam() weights are the FC column of the class; gradCam() equals cam() / (h·w) on a GAP + FC network",
  [
    "cpu",
    "wasm",
    "webgpu",
  ],
  async () => {
    const g = gapNet();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 8);
    const d = perItem([classLogit(3), classLogit(1)]);
    const c = await cam(g, x, d, { perLayer: true });
    const gc = await gradCam(g, x, d, { perLayer: true });
    const W = await values(g.node("fc").params.weight); // [6, 4]
    const expectedW = [0, 1, 2, 3, 4, 5].map((k) => W[k * 4 + 3]).concat(
      [0, 1, 2, 3, 4, 5].map((k) => W[k * 4 + 1]),
    );
    assertAllClose(c.perLayer![0].weights!, expectedW, { rtol: 1e-6, atol: 1e-7, label: "CAM weights" });
    // relu2 is 6 × 5 × 5: Grad-CAM's mean of gradients is W[k, c] / 25, so CAM = 25 · Grad-CAM exactly.
    assert.equal(c.height * c.width, 25);
    assertAllClose(gc.map.map((v) => v * 25), c.map, {
      rtol: 1e-4,
      atol: 1e-5,
      label: "25 · Grad-CAM vs CAM",
    });
    assert.ok(c.map.some((v) => v > 0) && c.map.some((v) => v === 0), "a non-trivial map");
    x.dispose();
    g.dispose();
  },
);

onBackends(
  "cam() map is ReLU(Σ_k W[k, c] A_k) (plain loop) and hiResCam() equals it / (h·w)",
  ["cpu"],
  async () => {
    const g = gapNet();
    const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 2);
    const r = await cam(g, x, classLogit(0));
    const h = await hiResCam(g, x, classLogit(0));
    const tr = runForward(g, x);
    const A = tr.get("relu2");
    const shape = A.shape as number[];
    const a = await values(A);
    const W = await values(g.node("fc").params.weight);
    const expected = reluArr(
      sumOverChannels(shape, (n, k, y, xx) => W[k * 4 + 0] * a[nhwc(shape, n, y, xx, k)]),
    );
    assertAllClose(r.map, expected, { rtol: 1e-5, atol: 1e-6 });
    assertAllClose(h.map.map((v) => v * 25), expected, { rtol: 1e-4, atol: 1e-5, label: "HiResCAM" });
    tr.dispose();
    x.dispose();
    g.dispose();
  },
);

Deno.test("camHead() walks reducemean + reshape heads and rejects a layer without global pooling", () => {
  const b = new GraphBuilder([2, 4, 4], 1);
  let x = b.conv("conv", b.inputName, { out: 3 });
  const r = b.op("relu", "relu", x);
  x = b.op("mean", "reducemean", r, { axes: [2, 3], keepdims: true });
  x = b.op("reshape", "reshape", x, { shape: [3] });
  x = b.linear("fc", x, 2);
  const g = b.build(x);
  assert.equal(camHead(g, "relu", "fc").name, "fc");
  assert.throws(() => camHead(g, "conv", "fc"), /op 'relu'.* is not part of such a head/);
  const b2 = new GraphBuilder([2, 4, 4], 1);
  let y = b2.conv("conv", b2.inputName, { out: 3 });
  y = b2.op("flatten", "flatten", y);
  y = b2.linear("fc", y, 2);
  const g2 = b2.build(y);
  assert.throws(() => camHead(g2, "conv", "fc"), /node 'fc' \(op 'gemm'\) is not part of such a head/);
  g.dispose();
  g2.dispose();
});

Deno.test("cam() on a network without a GAP + FC head fails with a RangeError naming the node", async () => {
  const b = new GraphBuilder([2, 4, 4], 1);
  let y = b.conv("conv", b.inputName, { out: 3 });
  y = b.op("flatten", "flatten", y);
  y = b.linear("fc", y, 2);
  const g = b.build(y);
  const x = tf.ones([1, 4, 4, 2]);
  const before = tf.memory().numTensors;
  await assert.rejects(() => cam(g, x, classLogit(0), { layers: ["conv"] }), RangeError);
  assert.equal(tf.memory().numTensors, before, "nothing leaked on the error path");
  x.dispose();
  g.dispose();
});
