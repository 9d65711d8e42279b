import assert from "node:assert/strict";
import { classLogit, runForward, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { randomCam } from "./random_cam.ts";
import { gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

onBackends("randomCam() is ReLU(Σ_k w_k A_k) with seeded uniform weights, independent of the decision", [
  "cpu",
  "wasm",
], async () => {
  const g = gapNet();
  const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 101);
  const a = await randomCam(g, x, classLogit(0), { seed: 7, perLayer: true });
  const b = await randomCam(g, x, classLogit(3), { seed: 7 });
  const c = await randomCam(g, x, classLogit(0), { seed: 8 });
  assert.deepEqual(a.map, b.map);
  assert.notDeepEqual(a.map, c.map);
  const w = a.perLayer![0].weights!;
  assert.ok(
    w.every((v) => v >= -1 && v < 1) && w.slice(0, 6).every((v, k) => v === w[6 + k]),
    "shared, in [-1, 1)",
  );
  const tr = runForward(g, x);
  const A = tr.get("relu2");
  const shape = A.shape as number[];
  const av = await values(A);
  tr.dispose();
  const map = reluArr(sumOverChannels(shape, (n, k, y, xx) => w[k] * av[nhwc(shape, n, y, xx, k)]));
  assertAllClose(a.map, map, { rtol: 1e-5, atol: 1e-6 });
  x.dispose();
  g.dispose();
});
