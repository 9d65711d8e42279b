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
