import assert from "node:assert/strict";
import { classLogit, gradients, GraphBuilder, perItem, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { fullGrad, fullGradTerms } from "./full_grad.ts";
import { bilinear, gapNet, nhwc, onBackends, scalePlane } from "./_testing/nets.ts";

/** conv(+bias) → BN → GAP → FC(+bias): affine in the input, so the decomposition is exact anywhere. */
function linearBiasNet() {
  const b = new GraphBuilder([2, 6, 6], 4);
  let x = b.conv("conv", b.inputName, { out: 3, k: 3 });
  x = b.bn("bn", x, true);
  x = b.op("gap", "globalavgpool", x);
  x = b.op("flatten", "flatten", x);
  x = b.linear("fc", x, 2);
  return b.build(x);
}

onBackends("fullGradTerms() is complete: ⟨∂d/∂x, x⟩ + Σ ⟨∂d/∂b, b⟩ = d on linear+bias and ReLU networks", [
  "cpu",
  "wasm",
], async () => {
  for (
    const [g, x, d, names] of [
      [
        linearBiasNet(),
        tf.randomNormal([2, 6, 6, 2], 0, 1, "float32", 91),
        perItem([classLogit(1), classLogit(0)]),
        ["conv", "bn", "fc"],
      ],
      [gapNet(), tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 92), classLogit(3), [
        "conv1",
        "bn1",
        "conv2",
        "bn2",
        "fc",
      ]],
    ] as const
  ) {
    const t = await fullGradTerms(g, x, d);
    assert.deepEqual(t.biases.map((b) => b.node), names);
    const total = t.value.map((_, n) => t.input[n] + t.biases.reduce((s, b) => s + b.value[n], 0));
    assertAllClose(total, t.value, { rtol: 1e-4, atol: 1e-4, label: "completeness" });
    assert.ok(t.biases.every((b) => b.value.some((v) => Math.abs(v) > 1e-4)), "every bias contributes");
    x.dispose();
    g.dispose();
  }
});

onBackends(
  "fullGrad() equals pytorch-grad-cam's sum of scaled |x·∂d/∂x| and resized |b·∂d/∂y| (plain loops)",
  [
    "cpu",
    "wasm",
  ],
  async () => {
    const g = gapNet();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 93);
    const d = perItem([classLogit(0), classLogit(2)]);
    const r = await fullGrad(g, x, d, { perLayer: true });
    assert.deepEqual(r.layers, ["conv1", "bn1", "conv2", "bn2"]);
    assert.equal(r.height, 10);
    const layers = ["conv1", "bn1", "conv2", "bn2"];
    const gr = gradients(g, x, d, ["input", ...layers]);
    const xs = await values(x);
    const gx = await values(gr.grads.get("input")!);
    const expected = new Float64Array(2 * 100);
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        const plane = Array.from(
          { length: 100 },
          (_, p) => Math.abs(xs[(n * 100 + p) * 3 + c] * gx[(n * 100 + p) * 3 + c]),
        );
        scalePlane(plane).forEach((v, p) => expected[n * 100 + p] += v);
      }
    }
    for (const l of layers) {
      const node = g.node(l);
      const G = gr.grads.get(l)!;
      const shape = G.shape as number[];
      const gv = await values(G);
      let bias: number[];
      if (node.op === "conv2d") bias = Array.from(await values(node.params.bias));
      else {
        const [s, sh, m, v] = await Promise.all(
          ["scale", "shift", "mean", "variance"].map((k) => values(node.params[k])),
        );
        bias = Array.from(s, (si, k) => sh[k] - m[k] * si / Math.sqrt(v[k] + 1e-5));
      }
      const [, h, w, c] = shape;
      for (let n = 0; n < 2; n++) {
        for (let k = 0; k < c; k++) {
          const plane = Array.from(
            { length: h * w },
            (_, p) => Math.abs(bias[k] * gv[nhwc(shape, n, Math.floor(p / w), p % w, k)]),
          );
          bilinear(scalePlane(plane), h, w, 10, 10, false).forEach((v, p) => expected[n * 100 + p] += v);
        }
      }
    }
    gr.dispose();
    assertAllClose(r.map, expected, { rtol: 1e-4, atol: 1e-4 });
    const sumOfTerms = r.perLayer!.reduce((acc, t) => acc.map((v, i) => v + t.map[i]), new Float64Array(200));
    assertAllClose(sumOfTerms, r.map, { rtol: 1e-5, atol: 1e-5, label: "perLayer terms add up" });
    x.dispose();
    g.dispose();
  },
);
