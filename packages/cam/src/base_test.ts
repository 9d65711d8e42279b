import assert from "node:assert/strict";
import { classLogit, gradients, perItem, tf, UnknownNodeError } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { capture, defineCam } from "./base.ts";
import { gradCam } from "./grad_cam.ts";
import { layerCam } from "./layer_cam.ts";
import { bilinear, gapNet, onBackends, residualNet, scalePlane } from "./_testing/nets.ts";

onBackends(
  "capture('gradients') (forward + partial backward walk) equals core gradients() at nested layers",
  [
    "cpu",
    "wasm",
    "webgpu",
  ],
  async () => {
    const g = residualNet();
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 121);
    const d = perItem([classLogit(0), classLogit(2)]);
    // relu1 is an ancestor of block.relu and reaches it twice (conv path and shortcut).
    const layers = ["relu1", "block.relu", "relu3"];
    const cap = capture("gradients", g, x, d, layers);
    const ref = gradients(g, x, d, layers);
    for (const l of layers) {
      assertAllClose(await values(cap.grads!.get(l)!), await values(ref.grads.get(l)!), {
        rtol: 1e-4,
        atol: 1e-6,
        label: l,
      });
      assertAllClose(await values(cap.trace.get(l)), await values(ref.trace.get(l)), {
        rtol: 1e-5,
        atol: 1e-6,
      });
    }
    assertAllClose(await values(cap.value), await values(ref.value), { rtol: 1e-5 });
    cap.dispose();
    ref.dispose();
    x.dispose();
    g.dispose();
  },
);

onBackends(
  "several layers: each map min-max scaled, upsampled (pixel centres) to the largest layer, averaged",
  [
    "cpu",
    "wasm",
  ],
  async () => {
    const g = gapNet();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 122);
    const d = classLogit(1);
    for (const method of [gradCam, layerCam]) {
      const both = await method(g, x, d, { layers: ["relu2", "relu1"], perLayer: true });
      const raw = await method(g, x, d, { layers: ["relu2", "relu1"], normalizeLayers: false });
      const deep = await method(g, x, d, { layers: ["relu2"] });
      const shallow = await method(g, x, d, { layers: ["relu1"] });
      assert.deepEqual([both.height, both.width], [10, 10]);
      assert.deepEqual(both.perLayer!.map((p) => [p.layer, p.height]), [["relu2", 5], ["relu1", 10]]);
      assert.deepEqual(both.perLayer![0].map, deep.map);
      const expected: number[] = [];
      const expectedRaw: number[] = [];
      for (let n = 0; n < 2; n++) {
        const dm = deep.map.slice(n * 25, (n + 1) * 25);
        const sm = shallow.map.slice(n * 100, (n + 1) * 100);
        const up = bilinear(scalePlane(dm), 5, 5, 10, 10, false);
        const s = scalePlane(sm);
        expected.push(...Array.from(up, (v, i) => (v + s[i]) / 2));
        const upRaw = bilinear(dm, 5, 5, 10, 10, false);
        expectedRaw.push(...Array.from(upRaw, (v, i) => (v + sm[i]) / 2));
      }
      assertAllClose(both.map, expected, { rtol: 1e-4, atol: 1e-5, label: "normalised mean" });
      assertAllClose(raw.map, expectedRaw, { rtol: 1e-4, atol: 1e-6, label: "raw mean" });
    }
    x.dispose();
    g.dispose();
  },
);

Deno.test("layers must be feature maps; unknown names suggest the nearest; definitions need one hook", async () => {
  const g = gapNet();
  const x = tf.ones([1, 10, 10, 3]);
  const before = tf.memory().numTensors;
  await assert.rejects(
    () => gradCam(g, x, classLogit(0), { layers: ["fc"] }),
    /Layer 'fc' outputs shape \[4\]/,
  );
  await assert.rejects(
    () => gradCam(g, x, classLogit(0), { layers: ["relu_2"] }),
    (e: Error) => e instanceof UnknownNodeError && /did you mean 'relu2'/.test(e.message),
  );
  await assert.rejects(() => gradCam(g, x, classLogit(9)), /Class 9 is out of range/);
  assert.equal(tf.memory().numTensors, before, "nothing leaked on the error paths");
  assert.throws(() => defineCam({ id: "bad", capture: "activations" }), TypeError);
  x.dispose();
  g.dispose();
});
