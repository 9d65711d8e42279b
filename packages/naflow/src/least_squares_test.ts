import assert from "node:assert/strict";
import { GraphBuilder, runForward, tf, useBackend } from "@cnnlens/core";
import { assertAllClose, maxRelError, values } from "../../core/src/_testing/assert.ts";
import { leastSquaresInverse } from "./least_squares.ts";
import { convMatrix, hwcToChw, lstsq, matvec, solve } from "./_testing/dense.ts";

// NAFlow Eqs. 6-10 for one convolution, checked against its explicit Jacobian (Eq. 5) built with loops.
const cases = [
  { name: "q > p (Eq. 6: least squares)", cin: 2, cout: 3, stride: 1 },
  { name: "q = p (Eq. 8: W_p⁻¹(y − b))", cin: 3, cout: 3, stride: 1 },
  { name: "q < p (stride 2: minimum-norm correction)", cin: 3, cout: 4, stride: 2 },
];

for (const c of cases) {
  Deno.test(`leastSquaresInverse() equals the dense Jacobian solve, ${c.name}`, async () => {
    await useBackend("cpu");
    const [h, w] = [5, 5];
    const b = new GraphBuilder([c.cin, h, w], 17 + c.cout);
    const g = b.build(b.conv("conv", b.inputName, { out: c.cout, k: 3, stride: c.stride }));
    const node = g.node("conv");
    const x = tf.randomNormal([1, h, w, c.cin], 0, 1, "float32", 2);
    const tr = runForward(g, x);
    const weight = await values(node.params.weight);
    const bias = await values(node.params.bias);
    const { mat: J, out } = convMatrix(weight, node.params.weight.shape as number[], [h, w], c.stride, 1);
    const p = c.cin * h * w, q = out[0] * out[1] * out[2];
    assert.equal(c.name.startsWith("q > p") ? q > p : c.name.startsWith("q = p") ? q === p : q < p, true);
    // Dense forward y = J A + b, checked against the graph's.
    const A = hwcToChw(await values(x), [c.cin, h, w]);
    const y = matvec(J, A).map((v, i) => v + bias[Math.floor(i / (out[1] * out[2]))]);
    assertAllClose(hwcToChw(await values(tr.get("conv")), out), y, {
      rtol: 1e-4,
      atol: 1e-4,
      label: "forward",
    });
    // y' abandons every output the next ReLU would drop.
    const yPrime = y.map((v) => Math.max(v, 0));
    const target = tf.tensor4d(
      Float32Array.from({ length: q }, (_, i) => {
        const [hw, k] = [Math.floor(i / out[0]), i % out[0]];
        return yPrime[k * out[1] * out[2] + hw];
      }),
      [1, out[1], out[2], out[0]],
    );
    const r = await leastSquaresInverse(g, tr, "input", "conv", target, {
      tolerance: 1e-9,
      maxIterations: 600,
    });
    const got = hwcToChw(await values(r.value), [c.cin, h, w]);
    const delta = lstsq(J, yPrime.map((v, i) => v - y[i]));
    const expected = A.map((v, i) => v + delta[i]);
    if (q === p) {
      // Eq. 8 literally: x = W_p⁻¹ (y' − b).
      const eq8 = solve(J, yPrime.map((v, i) => v - bias[Math.floor(i / (out[1] * out[2]))]));
      assert.ok(maxRelError(eq8, expected) < 1e-6);
    }
    const err = maxRelError(got, expected);
    assert.ok(err <= 1e-3, `relative error ${err} (${r.stats.iterations} iterations)`);
    assert.ok(r.stats.converged);
    if (q <= p) assert.ok(r.stats.residual < 1e-3, `consistent: residual ${r.stats.residual}`);
    [x, target, r.value].forEach((t) => t.dispose());
    tr.dispose();
    g.dispose();
  });
}

Deno.test("leastSquaresInverse() with damping is Tikhonov's A + (JᵀJ + λ²I)⁻¹Jᵀ(y' − y), λ = damping·σ̄", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([3, 4, 4], 5);
  const g = b.build(b.conv("conv", b.inputName, { out: 3, k: 3 }));
  const node = g.node("conv");
  const x = tf.randomNormal([1, 4, 4, 3], 0, 1, "float32", 8);
  const tr = runForward(g, x);
  const target = tf.relu(tr.get("conv"));
  const { mat: J } = convMatrix(await values(node.params.weight), [3, 3, 3, 3], [4, 4], 1, 1);
  const r = await leastSquaresInverse(g, tr, "input", "conv", target, {
    damping: 0.5,
    tolerance: 1e-9,
    maxIterations: 400,
  });
  // λ = damping·‖J z‖/‖z‖ with the ±1 probe z_i = sign(sin(i + ½)) (backend order): a Hutchinson
  // estimate of σ̄ = ‖J‖_F/√p, here within 30% of it.
  const z = hwcToChw(Float64Array.from({ length: 48 }, (_, i) => Math.sign(Math.sin(i + 0.5))), [3, 4, 4]);
  const jz = matvec(J, z);
  const gain = Math.hypot(...jz) / Math.hypot(...z);
  assertAllClose([r.stats.damp], [0.5 * gain], { rtol: 1e-4 });
  let fro = 0;
  for (const v of J.data) fro += v * v;
  const sigma = Math.sqrt(fro / J.cols);
  assert.ok(Math.abs(gain - sigma) < 0.3 * sigma, `‖Jz‖/‖z‖ ${gain} vs σ̄ ${sigma}`);
  const y = hwcToChw(await values(tr.get("conv")), [3, 4, 4]);
  const yp = hwcToChw(await values(target), [3, 4, 4]);
  const A = hwcToChw(await values(x), [3, 4, 4]);
  const delta = lstsq(J, yp.map((v, i) => v - y[i]), r.stats.damp);
  const got = hwcToChw(await values(r.value), [3, 4, 4]);
  assert.ok(maxRelError(got, A.map((v, i) => v + delta[i])) < 1e-3);
  [x, target, r.value].forEach((t) => t.dispose());
  tr.dispose();
  g.dispose();
});
