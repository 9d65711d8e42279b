import assert from "node:assert/strict";
import { type ConvSpec, GraphBuilder, tf } from "@cnnlens/core";
import { maxRelError } from "../../core/src/_testing/assert.ts";
import { randomRef } from "../../core/src/_testing/reference.ts";
import { convTranspose, dilateKernel } from "./conv_transpose.ts";
import { readCHW } from "../read_chw.ts";
import { onBackends } from "../_testing/nets.ts";
import { readParams, referenceForward } from "../_testing/excitation_reference.ts";

const configs: [number, ConvSpec][] = [
  [3, { out: 5, k: 3, stride: 2, pad: 1 }],
  [3, { out: 2, k: 4, stride: 3, pad: 0 }],
  [4, { out: 6, k: 3, stride: 2, pad: 1, group: 2 }],
  [4, { out: 8, k: 3, stride: 2, pad: 1, group: 4 }],
  [4, { out: 4, k: 3, stride: 1, pad: 2, group: 4, dilation: 2 }],
  [3, { out: 4, k: 3, stride: 1, pad: 3, dilation: 3 }],
  [3, { out: 4, k: 7, stride: 2, pad: 3 }],
  [4, { out: 3, k: 1, stride: 2, pad: 0 }],
];

onBackends(
  "convTranspose() is the transpose of the explicit convolution matrix",
  ["cpu", "wasm", "webgpu"],
  async (be) => {
    for (const [i, [cin, spec]] of configs.entries()) {
      if (be === "webgpu" && i % 2) continue;
      const b = new GraphBuilder([cin, 7, 7], 90 + i);
      const g = b.build(b.conv("c", b.inputName, spec));
      const node = g.node("c");
      const ref = referenceForward(g, await readParams(g), randomRef([cin, 7, 7], 1).data).get("c")!;
      const [co, oh, ow] = node.shape;
      // Two rows at once (a batch of 2), NCHW values → NHWC tensor.
      const rows = randomRef([2, co, oh, ow], 5 + i);
      const dy = tf.tidy(() =>
        tf.transpose(tf.tensor4d(Float32Array.from(rows.data), [2, co, oh, ow]), [0, 2, 3, 1])
      );
      const dx = convTranspose(node, dy, [2, 7, 7, cin]);
      const n = cin * 49;
      const m = co * oh * ow;
      for (const r of [0, 1]) {
        const expected = new Float64Array(n);
        for (let o = 0; o < m; o++) {
          for (let k = 0; k < n; k++) {
            expected[k] += ref.coef[0][o * n + k] * rows.data[r * m + o];
          }
        }
        const got = (await readCHW(tf.slice(dx, [r], [1]))).data;
        const err = maxRelError(got, expected);
        assert.ok(err < 1e-5, `config ${i}, row ${r}: relative error ${err}`);
      }
      tf.dispose([dy, dx]);
      g.dispose();
    }
  },
);

onBackends("convTranspose() handles unequal strides and asymmetric padding", ["cpu", "wasm"], async () => {
  const b = new GraphBuilder([2, 7, 6], 3);
  const c = b.conv("c0", b.inputName, { out: 3, k: 3 });
  const node0 = b.nodes.find((n) => n.name === c)!;
  b.add("c", "conv2d", [b.inputName], { strides: [1, 2], pads: [2, 0, 1, 1], dilations: [1, 1], group: 1 }, {
    weight: node0.params.weight,
  });
  const g = b.build("c");
  const node = g.node("c");
  const ref = referenceForward(g, await readParams(g), randomRef([2, 7, 6], 1).data).get("c")!;
  const [co, oh, ow] = node.shape;
  const rows = randomRef([1, co, oh, ow], 8);
  const dy = tf.tidy(() =>
    tf.transpose(tf.tensor4d(Float32Array.from(rows.data), [1, co, oh, ow]), [0, 2, 3, 1])
  );
  const dx = convTranspose(node, dy, [1, 7, 6, 2]);
  const expected = new Float64Array(84);
  for (let o = 0; o < co * oh * ow; o++) {
    for (let k = 0; k < 84; k++) expected[k] += ref.coef[0][o * 84 + k] * rows.data[o];
  }
  assert.ok(maxRelError((await readCHW(dx)).data, expected) < 1e-5);
  tf.dispose([dy, dx]);
  g.dispose();
});

Deno.test("dilateKernel() inserts zeros between taps", async () => {
  const w = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
  const d = dilateKernel(w, [2, 3]);
  assert.deepEqual(d.shape, [3, 4, 1, 1]);
  assert.deepEqual(Array.from(await d.data()), [1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4]);
  tf.dispose([w, d]);
});
