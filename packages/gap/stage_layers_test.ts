import assert from "node:assert/strict";
import { GraphBuilder, resnet18, resnet50, useBackend, vgg16 } from "@cnnlens/core";
import { cutNodes, defaultLayers, stageLayers } from "./stage_layers.ts";
import { resLike } from "./_testing.ts";

Deno.test("stageLayers(vgg16) are the ReLUs after conv1_2, conv2_2, conv3_3, conv4_3, conv5_3 (the paper's S1…S5)", async () => {
  await useBackend("cpu");
  const g = vgg16({ width: 1 / 16, classes: 10 });
  assert.deepEqual(stageLayers(g), ["features.3", "features.8", "features.15", "features.22", "features.29"]);
  assert.deepEqual(defaultLayers(g), [
    "features.29",
    "features.22",
    "features.15",
    "features.8",
    "features.3",
  ]);
  for (const n of stageLayers(g)) assert.equal(g.node(n).op, "relu");
  g.dispose();
});

Deno.test("stageLayers(resnet) are the stem ReLU and each stage's last block output", async () => {
  await useBackend("cpu");
  const r50 = resnet50({ width: 0.125, size: [64, 64], classes: 10 });
  assert.deepEqual(stageLayers(r50), [
    "relu",
    "layer1.2.relu_2",
    "layer2.3.relu_2",
    "layer3.5.relu_2",
    "layer4.2.relu_2",
  ]);
  // Resolutions halve from stage to stage (64 → 32 stem, then 16, 8, 4, 2).
  assert.deepEqual(stageLayers(r50).map((n) => r50.node(n).shape[1]), [32, 16, 8, 4, 2]);
  // The inner ReLU before a stride-2 convolution is at the old resolution but is no cut: the shortcut
  // bypasses it.
  assert.ok(!cutNodes(r50).includes("layer2.0.relu"));
  assert.ok(cutNodes(r50).includes("layer1.0.relu_2"));
  r50.dispose();
  const r18 = resnet18({ width: 0.125, size: [64, 64], classes: 10 });
  assert.deepEqual(stageLayers(r18), [
    "relu",
    "layer1.1.relu_1",
    "layer2.1.relu_1",
    "layer3.1.relu_1",
    "layer4.1.relu_1",
  ]);
  r18.dispose();
});

Deno.test("cutNodes() lists the nodes every input-to-output path goes through", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([2, 8, 8], 1);
  const a = b.conv("a", b.inputName, { out: 2, k: 3 });
  const l = b.conv("left", a, { out: 2, k: 3 });
  const r = b.op("right", "relu", a);
  const s = b.op("sum", "add", [l, r]);
  const p = b.maxpool("pool", s, 2);
  const c = b.conv("c", p, { out: 3, k: 3, stride: 2 }); // strided conv: 4×4 → 2×2
  const t = b.op("t", "relu", c);
  const g = b.build(t);
  assert.deepEqual(cutNodes(g), ["input", "a", "sum", "pool", "c", "t"]);
  // Stages: 8×8 (a, sum; conv a) → sum; 4×4 (pool only, no conv at 4×4) → none; 2×2 (c, t) → t.
  assert.deepEqual(stageLayers(g), ["sum", "t"]);
  g.dispose();
});

Deno.test("stageLayers() on a net with pad, concat and strided convolutions only", async () => {
  await useBackend("cpu");
  const g = resLike(4, 32);
  assert.deepEqual(stageLayers(g), ["relu", "layer1.0.relu_1", "head.relu"]);
  g.dispose();
});
