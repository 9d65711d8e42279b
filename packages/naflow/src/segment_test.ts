import assert from "node:assert/strict";
import { GraphBuilder, resnet18, resnet50 } from "@cnnlens/core";
import { pathNodes, segmentChain } from "./segment.ts";
import { gatedNet, residualNet } from "./_testing/nets.ts";

const show = (u: { from: string; to: string; inner: string[]; block: boolean }) =>
  u.block ? `${u.from} => ${u.to} [${u.inner.join(" ")}]` : `${u.from} -> ${u.to}`;

Deno.test("segmentChain() cuts a residual network into layers and one block per residual block", () => {
  const g = residualNet();
  assert.deepEqual(segmentChain(g, g.input, "block.relu_out").map(show), [
    "input -> stem",
    "stem -> stem_bn",
    "stem_bn -> stem_relu",
    "stem_relu => block.add [block.conv1 block.bn1 block.relu block.conv2 block.bn2]",
    "block.add -> block.relu_out",
  ]);
  g.dispose();
});

Deno.test("segmentChain() makes each attention gate one block (fork → multiply)", () => {
  const g = gatedNet();
  const units = segmentChain(g, g.input, "relu2").map(show);
  assert.deepEqual(units, [
    "input -> conv1",
    "conv1 -> relu1",
    "relu1 => se.mul [se.pool se.fc1 se.relu se.fc2 se.sigmoid]",
    "se.mul => sa.mul [sa.mean sa.max sa.cat sa.conv sa.sigmoid]",
    "sa.mul -> conv2",
    "conv2 -> relu2",
  ]);
  // Inside the spatial gate's branch, the channel pools form a nested block ending at the concatenation.
  assert.deepEqual(segmentChain(g, "se.mul", "sa.sigmoid").map(show), [
    "se.mul => sa.cat [sa.mean sa.max]",
    "sa.cat -> sa.conv",
    "sa.conv -> sa.sigmoid",
  ]);
  g.dispose();
});

Deno.test("segmentChain() on torchvision ResNets: 4 stem layers, then a block and a ReLU per residual block", () => {
  for (
    const [g, blocks] of [[resnet18({ size: [64, 64], classes: 2, width: 0.25 }), 8], [
      resnet50({ size: [64, 64], classes: 2, width: 0.25 }),
      16,
    ]] as const
  ) {
    const units = segmentChain(g, g.input, g.lastSpatialNode().name);
    assert.equal(units.length, 4 + 2 * blocks);
    assert.deepEqual(units.slice(0, 4).map((u) => u.to), ["conv1", "bn1", "relu", "maxpool"]);
    for (let i = 0; i < blocks; i++) {
      const block = units[4 + 2 * i];
      const relu = units[5 + 2 * i];
      assert.ok(block.block && block.to.endsWith(".add"), show(block));
      assert.ok(!relu.block && g.node(relu.to).op === "relu", show(relu));
    }
    // Blocks with a projection shortcut hold its conv and BN too.
    assert.ok(
      units[4 + 2 * (blocks === 8 ? 2 : 3)].inner.includes(
        blocks === 8 ? "layer2.0.downsample.0" : "layer2.0.downsample.0",
      ),
    );
    g.dispose();
  }
});

Deno.test("segmentChain() treats a node reading its input twice as a block", () => {
  const b = new GraphBuilder([1, 3, 3]);
  const a = b.op("double", "add", [b.inputName, b.inputName]);
  const r = b.op("relu", "relu", a);
  const g = b.build(r);
  assert.deepEqual(segmentChain(g, g.input, "relu").map(show), ["input => double []", "double -> relu"]);
  assert.deepEqual(pathNodes(g, "double", "relu"), ["double", "relu"]);
  assert.throws(() => pathNodes(g, "relu", "double"), RangeError);
  g.dispose();
});

Deno.test("segmentChain() on an Inception-style concatenation of three branches", () => {
  const b = new GraphBuilder([2, 5, 5], 2);
  const x = b.op("stem", "relu", b.inputName);
  const p = b.conv("p1", x, { out: 2, k: 1, pad: 0 });
  let q = b.conv("p3a", x, { out: 2, k: 1, pad: 0 });
  q = b.conv("p3b", q, { out: 2, k: 3 });
  const m = b.maxpool("pool", x, 3, 1, 1);
  const c = b.op("cat", "concat", [p, q, m], { axis: 1 });
  const g = b.build(b.op("out", "relu", c));
  assert.deepEqual(segmentChain(g, g.input, "out").map(show), [
    "input -> stem",
    "stem => cat [p1 p3a p3b pool]",
    "cat -> out",
  ]);
  g.dispose();
});
