import assert from "node:assert/strict";
import {
  classLogit,
  findRule,
  gradients,
  GraphBuilder,
  perItem,
  registeredOps,
  tf,
  toNCHW,
} from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { ensureGuidedRules, GUIDED_BACKPROP, guidedBackprop, guidedGradCam } from "./guided_backprop.ts";
import { gradCam } from "./grad_cam.ts";
import { bilinear, gapNet, onBackends } from "./_testing/nets.ts";

/** x [2, 3, 3] → flatten → fc1 (8) → ReLU → fc2 (6) → ReLU → fc3 (3). */
function reluMlp() {
  const b = new GraphBuilder([2, 3, 3], 6);
  let x = b.op("flatten", "flatten", b.inputName);
  x = b.linear("fc1", x, 8);
  x = b.op("relu1", "relu", x);
  x = b.linear("fc2", x, 6);
  x = b.op("relu2", "relu", x);
  x = b.linear("fc3", x, 3);
  return b.build(x);
}

onBackends(
  "guidedBackprop() equals the closed form of a ReLU network: dx = dy ⊙ [x > 0] ⊙ [dy > 0] per ReLU",
  [
    "cpu",
    "wasm",
    "webgpu",
  ],
  async () => {
    const g = reluMlp();
    const x = tf.randomNormal([2, 3, 3, 2], 0, 1, "float32", 111);
    const classes = [2, 0];
    const r = await guidedBackprop(g, x, perItem(classes.map((c) => classLogit(c))));
    const [W1, b1, W2, b2, W3] = await Promise.all(
      [["fc1", "weight"], ["fc1", "bias"], ["fc2", "weight"], ["fc2", "bias"], ["fc3", "weight"]].map((
        [n, p],
      ) => values(g.node(n).params[p])),
    );
    const xt = toNCHW(x);
    const xn = await values(xt); // flatten reads NCHW order: index c·9 + y·3 + x
    xt.dispose();
    const expected: number[] = [];
    let differs = false;
    for (let n = 0; n < 2; n++) {
      const xi = Array.from(xn.slice(n * 18, (n + 1) * 18));
      const z1 = Array.from(
        { length: 8 },
        (_, j) => b1[j] + xi.reduce((s, v, i) => s + v * W1[i * 8 + j], 0),
      );
      const h1 = z1.map((v) => Math.max(v, 0));
      const z2 = Array.from(
        { length: 6 },
        (_, j) => b2[j] + h1.reduce((s, v, i) => s + v * W2[i * 6 + j], 0),
      );
      const g2 = Array.from({ length: 6 }, (_, i) => W3[i * 3 + classes[n]]);
      const g2p = g2.map((v, i) => (z2[i] > 0 && v > 0 ? v : 0));
      const g1 = Array.from({ length: 8 }, (_, i) => g2p.reduce((s, v, j) => s + v * W2[i * 6 + j], 0));
      const g1p = g1.map((v, i) => (z1[i] > 0 && v > 0 ? v : 0));
      const gx = Array.from({ length: 18 }, (_, i) => g1p.reduce((s, v, j) => s + v * W1[i * 8 + j], 0));
      expected.push(...gx);
      differs ||= g2.some((v, i) => z2[i] > 0 && v < 0) || g1.some((v, i) => z1[i] > 0 && v < 0);
    }
    assert.ok(differs, "the guidance removes some negative signal (the test would not see a plain gradient)");
    assertAllClose(r.map, expected, { rtol: 1e-5, atol: 1e-6 });
    assert.deepEqual([r.batch, r.channels, r.height, r.width], [2, 2, 3, 3]);
    x.dispose();
    g.dispose();
  },
);

Deno.test("ensureGuidedRules() fills every core vjp op with the chain rule and guides only relu", () => {
  const plain = ensureGuidedRules();
  const ops = registeredOps("vjp");
  assert.deepEqual(plain.sort(), ops.filter((o) => o !== "relu").sort());
  for (const op of ops) {
    const same = findRule(GUIDED_BACKPROP, op) === findRule("vjp", op);
    assert.equal(same, op !== "relu", op);
  }
});

onBackends("guidedGradCam() is guided backprop times the upsampled Grad-CAM map", ["cpu"], async () => {
  const g = gapNet();
  const x = tf.randomNormal([1, 10, 10, 3], 0, 1, "float32", 112);
  const r = await guidedGradCam(g, x, classLogit(1));
  const gb = await guidedBackprop(g, x, classLogit(1));
  const gc = await gradCam(g, x, classLogit(1));
  const up = bilinear(gc.map, gc.height, gc.width, 10, 10, false);
  const expected = Array.from(gb.map, (v, i) => v * up[i % 100]);
  assertAllClose(r.map, expected, { rtol: 1e-5, atol: 1e-7 });
  // And the plain gradient differs from the guided one.
  const plain = gradients(g, x, classLogit(1), ["input"]);
  const pt = toNCHW(plain.grads.get("input")!);
  const pg = await values(pt);
  pt.dispose();
  plain.dispose();
  assert.ok(pg.some((v, i) => Math.abs(v - gb.map[i]) > 1e-6));
  x.dispose();
  g.dispose();
});
