import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { type BackendName, useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { backwardWalk } from "../../exec/backward.ts";
import { gradients } from "../../exec/gradients.ts";
import { negSquaredEuclidean } from "../../targets/decision.ts";
import type { Graph } from "../../graph/graph.ts";
import { faceRecognitionGraph, faceRecognitionNet } from "./face_recognition_net.ts";
import { faceApiParameterCount, loadFaceApiWeights } from "./faceapi_weights.ts";
import { assertWalkEqualsAutodiff, batch, faceCrops, faceRefs, maxAbs } from "./_fixtures.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

async function descriptors(g: Graph, x: tf.Tensor4D): Promise<Float32Array> {
  const trace = runForward(g, x, { keep: [] });
  const d = Float32Array.from(await trace.get(g.output).data() as Float32Array);
  trace.dispose();
  return d;
}

for (const [backend, count] of [["wasm", 22], ["cpu", 2]] as [BackendName, number][]) {
  test(`faceRecognitionNet() equals face-api's descriptors on its sample photos' faces [${backend}, ${count} faces]`, async () => {
    await useBackend(backend);
    const faces = (await faceRefs()).slice(0, count);
    assert.equal(faces.length, count);
    const g = await faceRecognitionNet();
    const x = batch(await faceCrops(faces), 150);
    const d = await descriptors(g, x);
    let worst = 0;
    faces.forEach((f, i) => {
      assert.equal(f.descriptor.length, 128);
      worst = Math.max(worst, maxAbs(d.subarray(i * 128, (i + 1) * 128), f.descriptor));
    });
    console.log(
      `  descriptor max abs error vs face-api (${backend}, ${count} faces): ${worst.toExponential(2)}`,
    );
    assert.ok(worst <= 1e-4, `max abs error ${worst}`);
    x.dispose();
    g.dispose();
  });
}

test("faceRecognitionGraph() with scale layers kept equals the folded graph and holds the manifest's parameters", async () => {
  await useBackend("wasm");
  const { weights, manifest } = await loadFaceApiWeights("face_recognition_model");
  const folded = faceRecognitionGraph(weights);
  const kept = faceRecognitionGraph(weights, { foldScale: false });
  const total = faceApiParameterCount(manifest);
  const scaleParams = manifest[0].weights.filter((w) => w.name.includes("/scale/"))
    .reduce((a, w) => a + w.shape.reduce((p, q) => p * q, 1), 0);
  assert.equal(total, 5_614_592);
  assert.equal(kept.parameterCount(), total);
  assert.equal(folded.parameterCount(), total - scaleParams);
  assert.equal(kept.byOp("batchnorm").length, 29);
  assert.equal(folded.byOp("batchnorm").length, 0);
  // The folded conv answers to the scale layer's name too.
  assert.equal(folded.node("conv64_1/conv2/scale").name, "conv64_1/conv2/conv");
  const x = batch(await faceCrops((await faceRefs()).slice(0, 3)), 150);
  const layers = ["conv32_down/scale", "conv128_down/conv2/scale", "fc"];
  const a = runForward(folded, x, { keep: layers });
  const b = runForward(kept, x, { keep: layers });
  for (const l of layers) {
    const [u, v] = [await a.get(l).data(), await b.get(l).data()];
    const scale = maxAbs(v, new Float32Array(v.length));
    assert.ok(maxAbs(u, v) <= 1e-5 * scale, `${l}: ${maxAbs(u, v)} (scale ${scale})`);
  }
  a.dispose();
  b.dispose();
  x.dispose();
  folded.dispose();
  kept.dispose();
});

test("faceRecognitionNet() layers: residualDown pads the shortcut's channels and the main path's last row/column", async () => {
  await useBackend("cpu");
  const g = await faceRecognitionNet();
  const shape = (n: string) => g.node(n).shape.join("×");
  assert.equal(shape("input"), "3×150×150");
  assert.equal(shape("conv32_down/relu"), "32×72×72");
  assert.equal(shape("maxpool"), "32×35×35");
  assert.equal(shape("conv64_down/relu"), "64×17×17");
  assert.equal(shape("conv128_down/relu"), "128×8×8");
  assert.equal(shape("conv256_down/conv2/conv"), "256×3×3");
  assert.equal(shape("conv256_down/conv2/pad"), "256×4×4");
  assert.equal(shape("conv256_down_out/conv2/pad"), "256×2×2");
  assert.equal(shape("fc"), "128");
  // Channel zero-padding where the block widens (64, 128, 256), not in conv256_down_out (256 → 256).
  for (const n of ["conv64_down", "conv128_down", "conv256_down"]) assert.ok(g.has(`${n}/avgpool/pad`), n);
  assert.ok(!g.has("conv256_down_out/avgpool/pad"));
  // The spatial padding only where 'valid' stride-2 conv and 2×2 pooling disagree.
  for (const n of ["conv64_down", "conv128_down"]) assert.ok(!g.has(`${n}/conv2/pad`), n);
  assert.deepEqual(g.node("conv256_down/conv2/pad").attrs.padding, [0, 0, 0, 0, 1, 1]);
  assert.deepEqual(g.node("conv64_down/avgpool/pad").attrs.padding, [0, 0, 0, 32, 0, 0]);
  assert.equal(g.lastSpatialNode().name, "conv256_down_out/relu");
  assert.equal(g.nodes.filter((n) => n.op === "conv2d").length, 29);
  g.dispose();
});

test("faceRecognitionNet() descriptors of a second crop of each face are nearest to that face's own", async () => {
  // The sample photos carry no identity labels (and show no person twice that one can tell), so the
  // "same person" is the same face framed differently: the inner 85% of the crop, off centre.
  await useBackend("wasm");
  const faces = await faceRefs();
  const g = await faceRecognitionNet();
  const inner = (c: { width: number; height: number }) => ({
    x: 0.1 * c.width,
    y: 0.05 * c.height,
    width: 0.85 * c.width,
    height: 0.85 * c.height,
  });
  const x = batch(await faceCrops(faces, inner), 150);
  const d = await descriptors(g, x);
  const dist = (i: number, ref: number[]) =>
    Math.hypot(...Array.from(d.subarray(i * 128, (i + 1) * 128), (v, k) => v - ref[k]));
  faces.forEach((f, i) => {
    const own = dist(i, f.descriptor);
    const others = faces.filter((_, j) => j !== i).map((o) => dist(i, o.descriptor));
    assert.ok(
      own < Math.min(...others),
      `${f.image} face ${f.face}: own ${own}, nearest other ${Math.min(...others)}`,
    );
  });
  x.dispose();
  g.dispose();
});

test("faceRecognitionNet() leaks no tensors over repeated forward passes, and dispose() releases its weights", async () => {
  await useBackend("wasm");
  const start = tf.memory().numTensors;
  const g = await faceRecognitionNet();
  const built = tf.memory().numTensors;
  const x = batch(await faceCrops((await faceRefs()).slice(0, 1)), 150);
  for (let i = 0; i < 3; i++) await descriptors(g, x);
  x.dispose();
  assert.equal(tf.memory().numTensors, built);
  g.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("faceRecognitionNet() per-op VJP walk equals tfjs autodiff through pads, pools and folded convs (cpu and wasm)", async () => {
  // On wasm the core differentiates (depthwise) convolutions by forward convolutions and max-pools by its
  // own first-argmax routing: tfjs-wasm has no depthwise backprop kernel and its MaxPoolGrad is wrong.
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const faces = await faceRefs();
    const g = await faceRecognitionNet();
    const x = batch(await faceCrops(faces.slice(0, 1)), 150);
    const ref = tf.tensor2d(faces[1].descriptor, [1, 128]);
    const wrt = ["input", "conv64_down/relu", "conv256_down/conv2/conv"];
    const auto = gradients(g, x, negSquaredEuclidean(ref), wrt);
    // d(−‖z − r‖²)/dz = −2 (z − r), seeded at the output and walked back with the core's per-op rules.
    const trace = runForward(g, x, { keep: "all" });
    const seed = tf.mul(-2, tf.sub(trace.get(g.output), ref));
    const walked = backwardWalk(g, trace, new Map([[g.output, seed]]), { to: wrt });
    await assertWalkEqualsAutodiff(auto.grads, walked, wrt, backend);
    tf.dispose([...walked.values(), seed, ref, x]);
    trace.dispose();
    auto.dispose();
    g.dispose();
  }
});
