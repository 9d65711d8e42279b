import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { useBackend } from "../backend/backend.ts";
import { GraphBuilder } from "../models/builder.ts";
import { gradients } from "../exec/gradients.ts";
import { runForward } from "../exec/forward.ts";
import { backwardWalk, jvpWalk } from "../exec/backward.ts";
import { neuron } from "../targets/decision.ts";
import { assertAllClose, values } from "../_testing/assert.ts";
import { padAdjoint } from "./pad.ts";

/** ONNX reflect index: output j of an axis padded by `before` reads input |j − before| folded at n − 1. */
function reflectIndex(j: number, before: number, n: number): number {
  let k = Math.abs(j - before);
  if (k > n - 1) k = 2 * (n - 1) - k;
  return k;
}

// [C, H, W] = [2, 4, 5] padded (H: 2 top, 1 bottom; W: 1 left, 3 right) → [2, 7, 9].
const [C, H, W] = [2, 4, 5];
const [T, B, L, R] = [2, 1, 1, 3];
const [OH, OW] = [H + T + B, W + L + R];

/** The explicit matrix of reflect padding on NHWC vectors (rows: outputs, columns: inputs). */
function reflectMatrix(): Float64Array {
  const m = new Float64Array(OH * OW * C * H * W * C);
  for (let i = 0; i < OH; i++) {
    for (let j = 0; j < OW; j++) {
      for (let c = 0; c < C; c++) {
        const src = (reflectIndex(i, T, H) * W + reflectIndex(j, L, W)) * C + c;
        m[((i * OW + j) * C + c) * (H * W * C) + src] = 1;
      }
    }
  }
  return m;
}

function padNet(mode: "reflect" | "constant") {
  const b = new GraphBuilder([C, H, W], 0);
  const p = b.op("pad", "pad", b.inputName, { padding: [0, T, L, 0, B, R], mode, value: 0.5 });
  return b.build(p);
}

Deno.test("reflect pad: gradients(), the vjp walk and padAdjoint equal the explicit matrix's transpose (tfjs's MirrorPad gradient does not)", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const g = padNet("reflect");
    const x = tf.randomNormal([1, H, W, C], 0, 1, "float32", 5);
    const m = reflectMatrix();
    const forward = await values(runForward(g, x).get(g.output));
    const xs = await values(x);
    const expectedOut = new Float64Array(OH * OW * C);
    for (let r = 0; r < expectedOut.length; r++) {
      for (let k = 0; k < xs.length; k++) expectedOut[r] += m[r * xs.length + k] * xs[k];
    }
    assertAllClose(forward, expectedOut, { atol: 0, label: `${backend} forward` });
    // Cotangent u at the output: Pᵀu by the matrix, against three implementations.
    const u = tf.randomNormal([1, OH, OW, C], 0, 1, "float32", 6);
    const us = await values(u);
    const expected = new Float64Array(xs.length);
    for (let r = 0; r < us.length; r++) {
      for (let k = 0; k < xs.length; k++) expected[k] += m[r * xs.length + k] * us[r];
    }
    const adj = padAdjoint(g.node("pad"), u);
    assertAllClose(await values(adj), expected, { atol: 1e-5, label: `${backend} padAdjoint` });
    const trace = runForward(g, x, { keep: "all" });
    const walked = backwardWalk(g, trace, new Map([[g.output, u]]), { to: ["input"] }).get("input")!;
    assertAllClose(await values(walked), expected, { atol: 1e-5, label: `${backend} backwardWalk` });
    // tfjs autodiff of ⟨u, pad(x)⟩ through the graph's forward rule.
    const viaGraph = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(runForward(g, v).get(g.output), u)))(x);
    assertAllClose(await values(viaGraph), expected, { atol: 1e-5, label: `${backend} autodiff` });
    const tfjsOwn = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(tf.mirrorPad(v as tf.Tensor4D, [[0, 0], [T, B], [L, R], [0, 0]], "reflect"), u))
    )(x);
    const diff = (await values(tfjsOwn)).reduce((d, v, k) => Math.max(d, Math.abs(v - expected[k])), 0);
    assert.ok(diff > 0.5, `tfjs's MirrorPad gradient drops the reflected copies (max diff ${diff})`);
    // JVP: P v by the matrix.
    const v = tf.randomNormal([1, H, W, C], 0, 1, "float32", 7);
    const vs = await values(v);
    const pv = new Float64Array(us.length);
    for (let r = 0; r < us.length; r++) {
      for (let k = 0; k < vs.length; k++) pv[r] += m[r * vs.length + k] * vs[k];
    }
    const jv = jvpWalk(g, trace, new Map([["input", v]]), { to: g.output });
    assertAllClose(await values(jv), pv, { atol: 1e-5, label: `${backend} jvpWalk` });
    tf.dispose([x, u, v, adj, walked, viaGraph, tfjsOwn, jv]);
    trace.dispose();
    g.dispose();
  }
});

Deno.test("pad: gradients() of one output neuron counts each copy (reflect) or the single copy (constant)", async () => {
  await useBackend("cpu");
  for (const mode of ["reflect", "constant"] as const) {
    const g = padNet(mode);
    const x = tf.randomNormal([1, H, W, C], 0, 1, "float32", 8);
    // Output (c=1, i=0, j=0): reflect reads input (T, L) = (2, 1); constant mode is the pad value there.
    const r = gradients(g, x, neuron("pad", 1, 0, 0), ["input"]);
    const grad = await values(r.grads.get("input")!);
    const want = new Float64Array(grad.length);
    if (mode === "reflect") want[(reflectIndex(0, T, H) * W + reflectIndex(0, L, W)) * C + 1] = 1;
    assertAllClose(grad, want, { atol: 0, label: mode });
    r.dispose();
    x.dispose();
    g.dispose();
  }
});
