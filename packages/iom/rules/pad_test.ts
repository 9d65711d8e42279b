import assert from "node:assert/strict";
import { classLogit, type Graph, GraphBuilder, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { iom } from "../iom.ts";
import { image } from "../_testing/nets.ts";

/** conv(pad p) → ReLU → conv → GAP → FC, with the first convolution's padding either inside the conv
 * or as a separate zero `pad` node (the same function: TensorFlow/face-api graphs write it the second way). */
function net(separatePad: boolean): Graph {
  const b = new GraphBuilder([3, 8, 8], 7);
  let x: string = b.inputName;
  if (separatePad) x = b.op("pad", "pad", x, { padding: [0, 1, 2, 0, 1, 0], value: 0 });
  x = b.add("conv1", "conv2d", [x], {
    strides: [1, 1],
    pads: separatePad ? [0, 0, 0, 0] : [1, 2, 1, 0],
    dilations: [1, 1],
    group: 1,
  }, { weight: tf.randomNormal([3, 3, 3, 4], 0, 0.5, "float32", 11) });
  x = b.op("relu", "relu", x);
  x = b.conv("conv2", x, { out: 5, k: 3 });
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flat", "flatten", x);
  return b.build(b.linear("fc", x, 3));
}

Deno.test("IOM through a zero `pad` node equals IOM with the padding inside the convolution", async () => {
  await useBackend("cpu");
  const a = net(false), p = net(true);
  assert.deepEqual(a.node("conv1").shape, p.node("conv1").shape);
  const { x } = image([3, 8, 8], 3);
  for (const c of [0, 2]) {
    const ra = await iom(a, x, classLogit(c), { smoothing: 1 });
    const rp = await iom(p, x, classLogit(c), { smoothing: 1 });
    assertAllClose(rp.rexcPos, ra.rexcPos, { rtol: 1e-5, atol: 1e-7, label: `r-Exc+ class ${c}` });
    assertAllClose(rp.rexcNeg, ra.rexcNeg, { rtol: 1e-5, atol: 1e-7, label: `r-Exc- class ${c}` });
    assert.ok(ra.rexcPos.some((v) => v !== 0));
  }
  x.dispose();
  a.dispose();
  p.dispose();
});

Deno.test("pad excitation in reflect mode gathers every copy of an input value (plain-loop reference)", async () => {
  await useBackend("cpu");
  const { padExcitation } = await import("./pad.ts");
  // 1×1×4 row [a, b, 0, d] reflect-padded by 2 on the left and 1 on the right: [0, b, a, b, 0, d, 0].
  const x = tf.tensor4d([2, 3, 0, 5], [1, 1, 4, 1]);
  const node = {
    name: "p",
    op: "pad" as const,
    inputs: ["x"],
    params: {},
    shape: [1, 1, 7],
    attrs: { padding: [0, 0, 2, 0, 0, 1], mode: "reflect" as const },
  };
  const rows = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 10, 20, 30, 40, 50, 60, 70], [2, 1, 7, 1]);
  const [dx] = padExcitation(node, [x], rows, rows, [true]);
  // Output positions of each input: a ← 2; b ← 1, 3; 0 ← 0, 4, 6 (masked: the value is 0); d ← 5.
  assert.deepEqual(Array.from(await dx!.data()), [3, 2 + 4, 0, 6, 30, 20 + 40, 0, 60]);
  tf.dispose([x, rows, dx!]);
});
