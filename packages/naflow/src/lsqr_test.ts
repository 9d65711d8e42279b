import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../../core/src/_testing/assert.ts";
import { rng } from "../../core/src/_testing/reference.ts";
import { lsqr } from "./lsqr.ts";
import { lstsq, type Mat, zeros } from "./_testing/dense.ts";

function randomMat(rows: number, cols: number, seed: number): Mat {
  const r = rng(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = r() * 2 - 1;
  return m;
}

async function solveWith(m: Mat, b: number[], options: Parameters<typeof lsqr>[3]) {
  const a = tf.tensor2d(Float32Array.from(m.data), [m.rows, m.cols]);
  const bt = tf.tensor2d(b, [m.rows, 1]);
  const r = await lsqr((v) => tf.matMul(a, v), (u) => tf.matMul(a, u, true), bt, options);
  const x = Array.from(await r.x.data());
  [a, bt, r.x].forEach((t) => t.dispose());
  return { ...r, x };
}

for (
  const [rows, cols, name] of [[30, 12, "tall (least squares)"], [16, 16, "square"], [
    10,
    25,
    "wide (minimum norm)",
  ]] as const
) {
  Deno.test(`lsqr() equals the dense normal-equation solution: ${name}`, async () => {
    await useBackend("cpu");
    const m = randomMat(rows, cols, rows * 31 + cols);
    const r = rng(7);
    const b = Array.from({ length: rows }, () => r() * 2 - 1);
    const before = tf.memory().numTensors;
    const got = await solveWith(m, b, { tolerance: 1e-10, maxIterations: 400 });
    assert.equal(tf.memory().numTensors, before);
    assertAllClose(got.x, lstsq(m, b), { rtol: 2e-3, atol: 2e-4, label: name });
    assert.ok(got.iterations > 0 && got.iterations <= 400);
    if (rows <= cols) assert.ok(got.residual < 1e-4, `consistent system: residual ${got.residual}`);
    else assert.ok(got.residual > 0.05, `inconsistent system keeps a misfit: ${got.residual}`);
  });
}

Deno.test("lsqr() with damping equals the Tikhonov closed form (aᵀa + λ²I)⁻¹aᵀb", async () => {
  await useBackend("cpu");
  for (const [rows, cols] of [[20, 9], [8, 20]]) {
    const m = randomMat(rows, cols, 3 + rows);
    const b = Array.from({ length: rows }, (_, i) => Math.sin(i + 1));
    const got = await solveWith(m, b, { tolerance: 1e-10, maxIterations: 300, damp: 0.7 });
    assertAllClose(got.x, lstsq(m, b, 0.7), { rtol: 1e-3, atol: 1e-4, label: `${rows}x${cols}` });
    // The reported residual is the undamped misfit ‖A x − b‖ / ‖b‖.
    let num = 0, den = 0;
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += m.data[i * cols + j] * got.x[j];
      num += (s - b[i]) ** 2;
      den += b[i] ** 2;
    }
    assertAllClose([got.residual], [Math.sqrt(num / den)], { rtol: 1e-2, atol: 1e-4, label: "residual" });
  }
});

Deno.test("lsqr() returns x = 0 at once for b = 0 and for b orthogonal to the range", async () => {
  await useBackend("cpu");
  const m = zeros(3, 2);
  m.data.set([1, 0, 0, 1, 0, 0]);
  const zero = await solveWith(m, [0, 0, 0], {});
  assert.deepEqual([zero.iterations, zero.residual, ...zero.x], [0, 0, 0, 0]);
  const orth = await solveWith(m, [0, 0, 2], {});
  assert.deepEqual([orth.iterations, orth.residual, ...orth.x], [0, 1, 0, 0]);
});

Deno.test("lsqr() stops at the iteration cap and says it did not converge", async () => {
  await useBackend("cpu");
  const m = randomMat(40, 40, 99);
  const b = Array.from({ length: 40 }, (_, i) => (i % 3) - 1);
  const got = await solveWith(m, b, { tolerance: 1e-12, maxIterations: 3 });
  assert.equal(got.iterations, 3);
  assert.equal(got.converged, false);
  assert.ok(got.residual > 0 && got.residual < 1);
  await assert.rejects(() => solveWith(m, b, { damp: -1 }), RangeError);
});
