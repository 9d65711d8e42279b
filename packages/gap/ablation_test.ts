import assert from "node:assert/strict";
import { classLogit, neuron, runForward, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../core/src/_testing/assert.ts";
import { ablationGroundTruth, maskingCurve } from "./ablation.ts";
import { decompose } from "./decompose.ts";
import { chw, f64, fromChw, linearHead, linearParts, vggLike } from "./_testing.ts";

Deno.test("ablationGroundTruth() equals the closed form of a linear head (mean and zero replacement)", async () => {
  await useBackend("cpu");
  const g = linearHead();
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 1);
  for (const c of [0, 1]) {
    const { F, W } = await linearParts(g, x, c);
    const mean = [0, 1, 2].map((k) => F.slice(k * 36, (k + 1) * 36).reduce((a, b) => a + b, 0) / 36);
    const dropMean = [0, 1, 2].map((k) => {
      let s = 0;
      for (let i = 0; i < 36; i++) s += W[k * 36 + i] * (F[k * 36 + i] - mean[k]);
      return s;
    });
    const dropZero = [0, 1, 2].map((k) => {
      let s = 0;
      for (let i = 0; i < 36; i++) s += W[k * 36 + i] * F[k * 36 + i];
      return s;
    });
    assertAllClose(await ablationGroundTruth(g, x, classLogit(c), "feat"), dropMean, {
      rtol: 1e-4,
      atol: 1e-5,
    });
    assertAllClose(
      await ablationGroundTruth(g, x, classLogit(c), "feat", { replace: "zero", batch: 2 }),
      dropZero,
      {
        rtol: 1e-4,
        atol: 1e-5,
      },
    );
    assertAllClose(await ablationGroundTruth(g, x, classLogit(c), "feat", { channels: [2, 0] }), [
      dropMean[2],
      dropMean[0],
    ], {
      rtol: 1e-4,
      atol: 1e-5,
    });
    // For a linear head gAP is exact: α_k (AA) · Z is the zero-ablation drop (Eq. 4 with G = W).
    const d = await decompose(g, x, classLogit(c), "feat");
    assertAllClose(Array.from(d.alpha, (a) => a * 36), dropZero, { rtol: 1e-4, atol: 1e-5 });
  }
  x.dispose();
  g.dispose();
});

Deno.test("ablationGroundTruth() equals one forward pass per channel, for class and neuron decisions", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 2);
  const base = runForward(g, x);
  const F = await chw(base.get("s1"));
  const [K, H, W] = F.shape;
  const targets = [classLogit(1), neuron("s2", 2, 1, 1), {
    layer: "r3",
    channel: 1,
    position: [2, 3] as [number, number],
  }];
  for (const t of targets) {
    const read = async (tr: ReturnType<typeof runForward>) => {
      if ("read" in t) return (await f64(tf.tidy(() => t.read(tr.get(t.node ?? g.output)))))[0];
      return (await chw(tr.get(t.layer)))
        .data[
          (t.channel * tr.get(t.layer).shape[1]! + t.position[0]) * tr.get(t.layer).shape[2]! + t.position[1]
        ];
    };
    const f = await read(base);
    const expected: number[] = [];
    for (let k = 0; k < K; k++) {
      const data = Float64Array.from(F.data);
      let m = 0;
      for (let i = 0; i < H * W; i++) m += data[k * H * W + i] / (H * W);
      for (let i = 0; i < H * W; i++) data[k * H * W + i] = m;
      const v = fromChw(data, [K, H, W]);
      const tr = runForward(g, x, { overrides: new Map([["s1", v]]), base });
      expected.push(f - await read(tr));
      tr.dispose();
      v.dispose();
    }
    const got = await ablationGroundTruth(g, x, t, "s1", { base });
    assertAllClose(got, expected, { rtol: 1e-4, atol: 1e-6 });
  }
  base.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("maskingCurve() removes the top-k and bottom-k channels together (Fig. 6)", async () => {
  await useBackend("cpu");
  const g = linearHead(8);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 3);
  const { F, W, bias } = await linearParts(g, x, 0);
  const d = await decompose(g, x, classLogit(0), "feat");
  const order = d.ranking(); // by α
  const drop = (k: number) => {
    let s = 0;
    for (let i = 0; i < 36; i++) s += W[k * 36 + i] * F[k * 36 + i];
    return s;
  };
  const c = await maskingCurve(g, x, classLogit(0), "feat", d.alpha, [0, 1, 2, 3], { replace: "zero" });
  assertAllClose([c.value], [d.value], { rtol: 1e-6 });
  assertAllClose([c.value], [[0, 1, 2].reduce((s, k) => s + drop(k), bias)], { rtol: 1e-4 });
  // Linear head: removing a set of channels subtracts their terms.
  const expectTop = [0, 1, 2, 3].map((k) => -order.slice(0, k).reduce((s, ch) => s + drop(ch), 0));
  const expectBottom = [0, 1, 2, 3].map((k) => -order.slice(3 - k).reduce((s, ch) => s + drop(ch), 0));
  assertAllClose(c.important, expectTop, { rtol: 1e-4, atol: 1e-5 });
  assertAllClose(c.unimportant, expectBottom, { rtol: 1e-4, atol: 1e-5 });
  // Important first: the decision falls most when the top channel goes.
  assert.ok(c.important[1] <= c.unimportant[1]);
  await assert.rejects(() => maskingCurve(g, x, classLogit(0), "feat", d.alpha, [4]), /out of range/);
  await assert.rejects(() => maskingCurve(g, x, classLogit(0), "feat", [1, 2], [1]), /alpha has 2 values/);
  x.dispose();
  g.dispose();
});

Deno.test("ablation functions leave tf.memory() flat", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 2);
  await ablationGroundTruth(g, x, classLogit(0), "r3");
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    await ablationGroundTruth(g, x, classLogit(i), "s1", { batch: 3 });
    await maskingCurve(g, x, classLogit(i), "r3", [1, 2, 3, 4, 5], [1, 2]);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  g.dispose();
});
