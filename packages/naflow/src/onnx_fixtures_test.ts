import assert from "node:assert/strict";
import { classLogit, gradients, importOnnx, loadNpy, tf, toBackendLayout, useBackend } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { naflow } from "./naflow.ts";

// PyTorch-exported fixtures from the core (random weights, 3×32×32 inputs): residual, bottleneck, SE, CBAM,
// VGG-BN, Conv4 with LeakyReLU, MobileNetV2 (depthwise convolutions, ReLU6 as Clip), BN fused or kept.
const dir = new URL("../../core/testdata/onnx/", import.meta.url);
const fixtures: [string, { gates?: string[]; inner: boolean }][] = [
  ["resnet_bottleneck_kept_op11", { inner: true }],
  ["se_block_kept_op17", { gates: ["/layer1/layer1.0/attention/Mul"], inner: true }],
  ["cbam_block_fused_op11", { gates: ["/layer1/layer1.0/attention/sa/sigmoid/Sigmoid"], inner: true }],
  ["vgg_bn_fused_op17", { inner: false }],
  ["conv4_leaky_kept_op17", { inner: false }],
  ["mobilenetv2_025_kept_op17", { inner: true }],
];

for (const [name, expect] of fixtures) {
  Deno.test(`naflow() runs on the ONNX fixture ${name}: Eq. 2 at the start, maps for every layer`, async () => {
    await useBackend("cpu");
    const g = importOnnx(await Deno.readFile(new URL(`${name}.onnx`, dir)));
    const arr = await loadNpy(new URL(`${name.replace(/_(kept|fused)_op\d+$/, "")}_input.npy`, dir).pathname);
    const nchw = tf.tensor(arr.data as Float32Array, arr.shape);
    const x = toBackendLayout(nchw);
    const before = tf.memory().numTensors;
    const flow = await naflow(g, x, classLogit(1), { maxIterations: 3 });
    assert.equal(tf.memory().numTensors, before);
    const last = flow.layers[flow.layers.length - 1];
    assert.equal(last.name, g.lastSpatialNode().name);
    // Every spatial node between the input and the start layer has a map at its own resolution.
    for (const l of flow.layers) {
      assert.equal(l.map.length, l.shape[1] * l.shape[2], l.name);
      assert.ok(l.map.every((v) => Number.isFinite(v) && v >= 0), `${l.name}: finite, ≥ 0`);
    }
    assert.equal(flow.layers.some((l) => l.inner), expect.inner);
    for (const gate of expect.gates ?? []) assert.ok(flow.layers.some((l) => l.name === gate), gate);
    // At the start layer BPFM = A and Λ = ∂y/∂A: the map is ReLU(Σ_d ∂y/∂A_d ⊙ A_d).
    const r = gradients(g, x, classLogit(1), [last.name]);
    const m = tf.tidy(() => tf.relu(tf.sum(tf.mul(r.grads.get(last.name)!, r.trace.get(last.name)), -1)));
    assertAllClose(last.map, await values(m), { rtol: 1e-4, atol: 1e-6 });
    [m, nchw, x].forEach((t) => t.dispose());
    r.dispose();
    g.dispose();
  });
}
