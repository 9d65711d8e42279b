import assert from "node:assert/strict";
import { classLogit, cosineSimilarity, type Decision, type Graph, perItem, tf } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { camMap, camMethodIds, camMethods, isCamMethod } from "./methods.ts";
import { guidedGradCam } from "./guided_backprop.ts";
import { fullGradTerms } from "./full_grad.ts";
import { gapNet, onBackends, residualNet } from "./_testing/nets.ts";

Deno.test("camMethods registers every CLI method ID; camMap() rejects others with the valid list", async () => {
  assert.deepEqual([...camMethodIds], [
    "cam",
    "gradcam",
    "gradcam++",
    "xgradcam",
    "layercam",
    "hirescam",
    "scorecam",
    "ablationcam",
    "eigencam",
    "fullgrad",
    "random",
  ]);
  assert.ok(camMethodIds.every((id) => typeof camMethods[id] === "function" && isCamMethod(id)));
  assert.ok(!isCamMethod("naflow") && !isCamMethod("toString"));
  const g = gapNet();
  const x = tf.ones([1, 10, 10, 3]);
  await assert.rejects(
    () => camMap("gradcam+", g, x, classLogit(0)),
    /Unknown CAM method 'gradcam\+': use one of cam, gradcam/,
  );
  x.dispose();
  g.dispose();
});

const models: [string, () => Graph, number, number][] = [
  ["gapNet", gapNet, 10, 4],
  ["residualNet", residualNet, 8, 3],
];

for (const [model, make, size, classes] of models) {
  onBackends(`every method on ${model}: a batch of 2 with one decision per image equals two single runs`, [
    "cpu",
    "wasm",
  ], async () => {
    const g = make();
    const x = tf.randomNormal([2, size, size, 3], 0, 1, "float32", 131);
    const x0 = tf.slice(x, [0], [1]);
    const x1 = tf.slice(x, [1], [1]);
    const refs = tf.randomNormal([2, classes], 0, 1, "float32", 132);
    const pairs: [Decision, Decision][] = [
      [classLogit(2), classLogit(0)],
      [cosineSimilarity(refs), cosineSimilarity(refs)],
    ];
    for (const [d0, d1] of pairs) {
      const batched = d0.kind === "similarity" ? d0 : perItem([d0, d1]);
      for (const id of camMethodIds) {
        const opts = { batchSize: 3 };
        const both = await camMap(id, g, x, batched, opts);
        const a = await camMap(id, g, x0, d0, opts);
        const b = await camMap(id, g, x1, d1, opts);
        assert.equal(both.batch, 2);
        const single = new Float32Array([...a.map, ...b.map]);
        const scale = Math.max(...single.map(Math.abs), 1e-12);
        assertAllClose(both.map, single, { rtol: 1e-4, atol: 1e-5 * scale, label: `${id} ${d0.label} map` });
        assertAllClose(both.value, [...a.value, ...b.value], {
          rtol: 1e-5,
          atol: 1e-6,
          label: `${id} value`,
        });
      }
    }
    refs.dispose();
    x0.dispose();
    x1.dispose();
    x.dispose();
    g.dispose();
  });
}

for (
  const [backends, ids] of [
    [["cpu", "wasm"], camMethodIds],
    [["webgpu"], ["gradcam", "cam"]],
  ] as const
) {
  onBackends(
    `tf.memory() stays flat over repeated explanations: ${ids.join(", ")}`,
    [...backends],
    async () => {
      const g = residualNet();
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 133);
      const d = perItem([classLogit(1), classLogit(2)]);
      const run = async () => {
        for (const id of ids) {
          // CAM needs layers that reach the FC through GAP only.
          await camMap(id, g, x, d, {
            layers: id === "cam" ? ["relu3"] : ["relu1", "relu3"],
            perLayer: true,
          });
        }
        if (backends[0] === "cpu") {
          await guidedGradCam(g, x, d);
          await fullGradTerms(g, x, d);
        }
      };
      await run();
      const before = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      for (let i = 0; i < 3; i++) await run();
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.memory().numBytes, bytes);
      x.dispose();
      g.dispose();
    },
  );
}
