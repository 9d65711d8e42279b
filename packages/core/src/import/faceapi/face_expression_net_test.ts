import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { type BackendName, useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { backwardWalk } from "../../exec/backward.ts";
import { gradients } from "../../exec/gradients.ts";
import { classLogit } from "../../targets/decision.ts";
import { FACE_EXPRESSION_LABELS, faceExpressionGraph, faceExpressionNet } from "./face_expression_net.ts";
import { faceapiModelDir, faceApiParameterCount, loadFaceApiWeights } from "./faceapi_weights.ts";
import { assertWalkEqualsAutodiff, batch, faceCrops, faceRefs, maxAbs } from "./_fixtures.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

/** Softmax of each row of 7, in float64. */
function softmaxRows(logits: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < logits.length; i += n) {
    const row = Array.from({ length: n }, (_, k) => logits[i + k]);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

for (const [backend, count] of [["wasm", 22], ["cpu", 4]] as [BackendName, number][]) {
  test(`faceExpressionNet() equals face-api's expressions on its sample photos' faces [${backend}, ${count} faces]`, async () => {
    await useBackend(backend);
    const faces = (await faceRefs()).slice(0, count);
    const g = await faceExpressionNet();
    const x = batch(await faceCrops(faces), 112);
    const trace = runForward(g, x, { keep: [] });
    const logits = await trace.get(g.output).data();
    trace.dispose();
    x.dispose();
    g.dispose();
    const probs = softmaxRows(logits, 7);
    let worstLogit = 0;
    let worstProb = 0;
    faces.forEach((f, i) => {
      worstLogit = Math.max(worstLogit, maxAbs(logits.subarray(i * 7, i * 7 + 7), f.expressionLogits));
      worstProb = Math.max(worstProb, maxAbs(probs.slice(i * 7, i * 7 + 7), f.expressionProbabilities));
      const top = (p: ArrayLike<number>) => Array.from(p).indexOf(Math.max(...Array.from(p)));
      assert.equal(
        FACE_EXPRESSION_LABELS[top(probs.slice(i * 7, i * 7 + 7))],
        FACE_EXPRESSION_LABELS[top(f.expressionProbabilities)],
        `${f.image} face ${f.face}`,
      );
    });
    console.log(
      `  expression max abs error vs face-api (${backend}, ${count} faces): probabilities ${
        worstProb.toExponential(2)
      }, logits ${worstLogit.toExponential(2)}`,
    );
    assert.ok(worstProb <= 1e-4, `probabilities: max abs error ${worstProb}`);
    assert.ok(worstLogit <= 1e-4, `logits: max abs error ${worstLogit}`);
  });
}

test("FACE_EXPRESSION_LABELS is face-api's FACE_EXPRESSION_LABELS, in order", async () => {
  const src = await Deno.readTextFile(
    new URL("../src/faceExpressionNet/FaceExpressions.ts", faceapiModelDir()),
  );
  const m = src.match(/FACE_EXPRESSION_LABELS\s*=\s*\[([^\]]*)\]/);
  assert.ok(m, "face-api's FACE_EXPRESSION_LABELS not found");
  assert.deepEqual([...FACE_EXPRESSION_LABELS], m[1].split(",").map((s) => s.trim().replace(/['"]/g, "")));
});

test("faceExpressionNet() layers: four dense blocks halve 112 to 7, 7×7 pooling, 256 → 7, manifest's parameters", async () => {
  await useBackend("cpu");
  const { weights, manifest } = await loadFaceApiWeights("face_expression_model");
  const g = faceExpressionGraph(weights);
  assert.equal(g.parameterCount(), faceApiParameterCount(manifest));
  assert.equal(g.parameterCount(), 323_687);
  const shape = (n: string) => g.node(n).shape.join("×");
  assert.equal(shape("dense0/out"), "32×56×56");
  assert.equal(shape("dense1/out"), "64×28×28");
  assert.equal(shape("dense2/out"), "128×14×14");
  assert.equal(shape("dense3/out"), "256×7×7");
  assert.equal(shape("avgpool"), "256×1×1");
  assert.equal(shape("fc"), "7");
  // TensorFlow 'same' at stride 2 on even sizes pads only after; at stride 1, one on every side.
  assert.deepEqual(g.node("dense0/conv0").attrs.pads, [0, 0, 1, 1]);
  assert.deepEqual(g.node("dense2/conv0/depthwise").attrs.pads, [0, 0, 1, 1]);
  assert.deepEqual(g.node("dense2/conv3/depthwise").attrs.pads, [1, 1, 1, 1]);
  assert.equal(g.node("dense2/conv3/depthwise").attrs.group, 128);
  assert.deepEqual(g.node("dense2/conv3").params.weight.shape, [1, 1, 128, 128]);
  assert.equal(g.lastSpatialNode().name, "dense3/out");
  // dense0: a plain conv0 and 3 separable (depthwise + pointwise) pairs; dense1-3: 4 separable pairs.
  assert.equal(g.byOp("conv2d").length, 1 + 3 * 2 + 3 * 4 * 2);
  g.dispose();
});

test("faceExpressionNet() leaks no tensors over repeated forward passes, and dispose() releases its weights", async () => {
  await useBackend("wasm");
  const start = tf.memory().numTensors;
  const g = await faceExpressionNet();
  const built = tf.memory().numTensors;
  const x = batch(await faceCrops((await faceRefs()).slice(0, 2)), 112);
  for (let i = 0; i < 5; i++) {
    const t = runForward(g, x, { keep: "all" });
    await t.get(g.output).data();
    t.dispose();
  }
  x.dispose();
  assert.equal(tf.memory().numTensors, built);
  g.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("faceExpressionNet() per-op VJP walk equals tfjs autodiff through the dense blocks (cpu and wasm)", async () => {
  // On wasm the core differentiates (depthwise) convolutions by forward convolutions and max-pools by its
  // own first-argmax routing: tfjs-wasm has no depthwise backprop kernel and its MaxPoolGrad is wrong.
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const g = await faceExpressionNet();
    const x = batch(await faceCrops((await faceRefs()).slice(0, 1)), 112);
    const wrt = ["input", "dense1/in4", "dense3/conv0/depthwise"];
    const happy = FACE_EXPRESSION_LABELS.indexOf("happy");
    const auto = gradients(g, x, classLogit(happy), wrt);
    const trace = runForward(g, x, { keep: "all" });
    const seed = tf.oneHot([happy], 7).toFloat();
    const walked = backwardWalk(g, trace, new Map([[g.output, seed]]), { to: wrt });
    await assertWalkEqualsAutodiff(auto.grads, walked, wrt, backend);
    tf.dispose([...walked.values(), seed, x]);
    trace.dispose();
    auto.dispose();
    g.dispose();
  }
});
