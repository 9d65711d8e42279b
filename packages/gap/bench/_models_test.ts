import { runForward, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { adaptiveBins, vgg16At } from "./_models.ts";

Deno.test("adaptiveBins() are torchvision's adaptive pooling bins (3 → 7)", () => {
  const bins = adaptiveBins(3, 7);
  if (JSON.stringify(bins) !== "[[0],[0],[0,1],[1],[1,2],[2],[2]]") throw new Error(JSON.stringify(bins));
});

Deno.test("vgg16At(112) computes adaptive pooling to 7×7 followed by the original first FC layer", async () => {
  await useBackend("cpu");
  const ref = vgg16At(224, { width: 1 / 16, classes: 10 });
  const g = vgg16At(112, { width: 1 / 16, classes: 10 });
  const x = tf.randomNormal([1, 112, 112, 3], 0, 1, "float32", 1);
  const tr = runForward(g, x);
  const feat = await tr.get("features.30").data(); // NHWC [1, 3, 3, C]
  const C = 32;
  const bins = adaptiveBins(3, 7);
  const pooled = new Float64Array(C * 49); // (c, i, i') order, as flatten gives
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < 7; i++) {
      for (let k = 0; k < 7; k++) {
        let s = 0;
        for (const a of bins[i]) for (const b of bins[k]) s += feat[(a * 3 + b) * C + c];
        pooled[(c * 7 + i) * 7 + k] = s / (bins[i].length * bins[k].length);
      }
    }
  }
  const W = await ref.node("classifier.0").params.weight.data(); // [C·49, O]
  const bias = await ref.node("classifier.0").params.bias.data();
  const O = bias.length;
  const expected = Array.from({ length: O }, (_, o) => {
    let s = bias[o];
    for (let r = 0; r < C * 49; r++) s += W[r * O + o] * pooled[r];
    return s;
  });
  assertAllClose(await tr.get("classifier.0").data(), expected, { rtol: 1e-4, atol: 1e-5 });
  tr.dispose();
  x.dispose();
  g.dispose();
  ref.dispose();
});
