import assert from "node:assert/strict";
import { resnet18, resnet50 } from "./resnet.ts";
import { vgg16 } from "./vgg.ts";
import { conv4, conv64f } from "./conv4.ts";
import { useBackend } from "../backend/backend.ts";

Deno.test("architectures: parameter counts equal torchvision's", async () => {
  await useBackend("cpu");
  for (
    const [name, make, expected] of [
      ["resnet18", resnet18, 11_689_512],
      ["resnet50", resnet50, 25_557_032],
      ["vgg16", vgg16, 138_357_544],
    ] as const
  ) {
    const g = make();
    assert.equal(g.parameterCount(), expected, name);
    g.dispose();
  }
});

Deno.test("architectures: torchvision parameter names and NCHW shapes", async () => {
  await useBackend("cpu");
  const g = resnet18({ classes: 10, size: [64, 64] });
  assert.equal(g.node("layer1.0.conv1").paramNames?.weight, "layer1.0.conv1.weight");
  assert.equal(g.node("layer2.0.downsample.1").paramNames?.variance, "layer2.0.downsample.1.running_var");
  assert.deepEqual(g.node("layer4.1.relu_1").shape, [512, 2, 2]);
  assert.equal(g.lastSpatialNode().name, "layer4.1.relu_1");
  g.dispose();
  const c = conv4();
  assert.deepEqual(c.node(c.output).shape, [64 * 5 * 5]);
  assert.equal(c.parameterCount(), 4 * 64 * 2 + 3 * 64 * 9 + 64 + 3 * (64 * 64 * 9 + 64));
  c.dispose();
  const f = conv64f();
  assert.deepEqual(f.node(f.output).shape, [64 * 21 * 21]);
  f.dispose();
});

Deno.test("GraphBuilder: a built graph owns every tensor it made (bn with random statistics leaks none)", async () => {
  const { GraphBuilder } = await import("./builder.ts");
  const { tf } = await import("../tf.ts");
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const b = new GraphBuilder([3, 8, 8], 1);
  const c = b.conv("conv", b.inputName, { out: 4, k: 3, pad: 1 });
  const n = b.bn("bn", c, true);
  const g = b.build(n);
  const owned = g.nodes.reduce((s, node) => s + Object.keys(node.params).length, 0);
  assert.equal(owned, 1 + 1 + 4); // conv weight + bias, BN's four vectors
  assert.equal(tf.memory().numTensors - before, owned);
  g.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("GraphBuilder: seed 0 is reproducible too (tfjs reads a seed of 0 as unseeded)", async () => {
  const { GraphBuilder } = await import("./builder.ts");
  await useBackend("cpu");
  const weights = async () => {
    const b = new GraphBuilder([3, 8, 8], 0);
    const g = b.build(b.conv("conv", b.inputName, { out: 4, k: 3 }));
    const w = await g.node("conv").params.weight.data();
    g.dispose();
    return Array.from(w);
  };
  assert.deepEqual(await weights(), await weights());
});
