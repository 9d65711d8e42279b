import assert from "node:assert/strict";
import { noisyLinearImpute, ROAD_NEIGHBOURS, roadCurve } from "./road.ts";
import {
  conjugateGradient,
  csrFromTriplets,
  csrMultiply,
  incompleteLU,
  jacobiPreconditioner,
} from "./sparse.ts";
import { assertClose, denseSolve, mapOf, testRng } from "./_testing.ts";

/** Imputation from its definition, as a dense system solved by Gaussian elimination. */
function referenceImpute(img: Float32Array, c: number, h: number, w: number, removed: Uint8Array): number[] {
  const unknown: number[] = [];
  for (let p = 0; p < h * w; p++) if (removed[p]) unknown.push(p);
  const pos = new Map(unknown.map((p, i) => [p, i]));
  const out = Array.from(img);
  for (let ch = 0; ch < c; ch++) {
    const a = unknown.map(() => new Array(unknown.length).fill(0));
    const b = new Array(unknown.length).fill(0);
    unknown.forEach((p, i) => {
      const y = Math.floor(p / w), x = p % w;
      // x_p · Σ w_q − Σ_{q removed} w_q x_q = Σ_{q kept} w_q X_q, over in-image 8-neighbours.
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((dy === 0 && dx === 0) || y + dy < 0 || y + dy >= h || x + dx < 0 || x + dx >= w) continue;
          const wt = Math.abs(dy) + Math.abs(dx) === 1 ? 1 / 6 : 1 / 12;
          const q = (y + dy) * w + x + dx;
          a[i][i] += wt;
          if (pos.has(q)) a[i][pos.get(q)!] -= wt;
          else b[i] += wt * img[ch * h * w + q];
        }
      }
    });
    denseSolve(a, b).forEach((v, i) => out[ch * h * w + unknown[i]] = v);
  }
  return out;
}

Deno.test("ROAD_NEIGHBOURS are ROAD's weights: 1/6 direct, 1/12 diagonal, summing to 1", () => {
  let s = 0;
  for (const [dy, dx, wt] of ROAD_NEIGHBOURS) {
    assert.equal(wt, Math.abs(dy) + Math.abs(dx) === 1 ? 1 / 6 : 1 / 12);
    s += wt;
  }
  assertClose(s, 1, 1e-15);
});

Deno.test("noisyLinearImpute() reproduces a linear ramp exactly (interior holes, no noise)", () => {
  const [h, w] = [6, 7];
  const data = new Float32Array(2 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[y * w + x] = 0.3 * y + 0.7 * x + 1;
      data[h * w + y * w + x] = 2 - y;
    }
  }
  // A 2×3 block of adjacent unknowns and two scattered ones, all off the border.
  const removed = new Uint8Array(h * w);
  for (const [y, x] of [[1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [2, 3], [4, 5], [3, 4]]) {
    removed[y * w + x] = 1;
  }
  const r = noisyLinearImpute({ data, shape: [2, h, w] }, removed, { noise: 0, tolerance: 1e-12 });
  assertClose(r.data, data, 1e-5);
  assert.ok(r.residual < 1e-10);
  // The corner of f = y + x takes the renormalised average of its 3 neighbours:
  // (1/6 · 1 + 1/6 · 1 + 1/12 · 2) / (5/12) = 6/5 — not the ramp's 0 (border pixels are one-sided).
  const ramp = mapOf([[[0, 1, 2], [1, 2, 3], [2, 3, 4]]]);
  const corner = noisyLinearImpute(ramp, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0]), { noise: 0 });
  assertClose(corner.data[0], 1.2, 1e-6);
  // A constant image is reproduced everywhere, border included.
  const flat = { data: new Float32Array(12).fill(0.4), shape: [1, 3, 4] };
  const hole = new Uint8Array([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
  assertClose(noisyLinearImpute(flat, hole, { noise: 0, tolerance: 1e-12 }).data, flat.data, 1e-6);
});

Deno.test("noisyLinearImpute() equals the dense solution of the neighbour-average system on random masks", () => {
  const rand = testRng(21);
  for (let trial = 0; trial < 6; trial++) {
    const h = 3 + Math.floor(rand() * 6), w = 3 + Math.floor(rand() * 6), c = 1 + (trial % 3);
    const img = Float32Array.from({ length: c * h * w }, () => rand() * 2 - 1);
    const removed = Uint8Array.from({ length: h * w }, () => (rand() < 0.6 ? 1 : 0));
    if (removed.every((v) => v === 1)) removed[0] = 0;
    const r = noisyLinearImpute({ data: img, shape: [c, h, w] }, removed, { noise: 0, tolerance: 1e-12 });
    assertClose(r.data, referenceImpute(img, c, h, w, removed), 2e-6, 0, `trial ${trial}`);
    // Kept pixels are untouched.
    for (let p = 0; p < c * h * w; p++) if (!removed[p % (h * w)]) assert.equal(r.data[p], img[p]);
  }
});

Deno.test("noisyLinearImpute() adds seeded Gaussian noise of the requested σ to imputed pixels only", () => {
  const rand = testRng(2);
  const [h, w] = [40, 40];
  const img = { data: Float32Array.from({ length: 2 * h * w }, rand), shape: [2, h, w] };
  const removed = Uint8Array.from({ length: h * w }, () => (rand() < 0.5 ? 1 : 0));
  const clean = noisyLinearImpute(img, removed, { noise: 0 });
  const noisy = noisyLinearImpute(img, removed, { noise: 0.1, seed: 4 });
  const diffs: number[] = [];
  for (let p = 0; p < 2 * h * w; p++) {
    if (removed[p % (h * w)]) diffs.push(noisy.data[p] - clean.data[p]);
    else assert.equal(noisy.data[p], img.data[p]);
  }
  const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / (diffs.length - 1));
  assert.ok(diffs.length > 1400);
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.1) < 0.008, `sd ${sd}`);
  assert.deepEqual(noisyLinearImpute(img, removed, { noise: 0.1, seed: 4 }).data, noisy.data);
  assert.notDeepEqual(noisyLinearImpute(img, removed, { noise: 0.1, seed: 5 }).data, noisy.data);
  // Everything removed: no data to impute from → zeros (plus noise).
  const all = noisyLinearImpute(img, new Uint8Array(h * w).fill(1), { noise: 0 });
  assert.ok(all.data.every((v) => v === 0));
  assert.throws(() => noisyLinearImpute(img, new Uint8Array(3)), RangeError);
});

Deno.test("roadCurve() removes round(p·H·W) pixels most- or least-relevant first and scores the imputation", async () => {
  const rand = testRng(8);
  const [h, w] = [5, 5];
  const x = { data: Float32Array.from({ length: 3 * h * w }, rand), shape: [3, h, w] };
  const map = { data: Float32Array.from({ length: h * w }, rand), shape: [h, w] };
  const order = Array.from({ length: h * w }, (_, p) => p).sort((a, b) => map.data[b] - map.data[a]);
  const seen: Float32Array[] = [];
  const changed = (xs: Float32Array[]) => {
    seen.push(...xs);
    return xs.map((v) => {
      let n = 0;
      for (let p = 0; p < h * w; p++) if (v[p] !== x.data[p]) n++;
      return n;
    });
  };
  const percentiles = [0, 0.1, 0.5, 0.9];
  const morf = await roadCurve(x, map, changed, { percentiles, noise: 0, batchSize: 3 });
  assert.deepEqual(morf.scores, [0, 3, 13, 23]); // round(2.5) = 3, round(12.5) = 13, round(22.5) = 23
  assert.ok(morf.residuals.every((r) => r <= 1e-5)); // the default tolerance
  // The 3 pixels changed at 10 % are the 3 most relevant.
  const changedAt10 = [];
  for (let p = 0; p < h * w; p++) if (seen[1][p] !== x.data[p]) changedAt10.push(p);
  assert.deepEqual(changedAt10.sort((a, b) => a - b), order.slice(0, 3).sort((a, b) => a - b));
  seen.length = 0;
  const lerf = await roadCurve(x, map, changed, { percentiles: [0.1], order: "least-first", noise: 0 });
  assert.equal(lerf.order, "least-first");
  const lerfChanged = [];
  for (let p = 0; p < h * w; p++) if (seen[0][p] !== x.data[p]) lerfChanged.push(p);
  assert.deepEqual(lerfChanged.sort((a, b) => a - b), order.slice(-3).sort((a, b) => a - b));
  // Default percentiles 10 %..90 %; seeded noise gives identical curves run to run.
  const sum = (xs: Float32Array[]) => xs.map((v) => v.reduce((a, b) => a + b, 0));
  const a = await roadCurve(x, map, sum, { seed: 3 });
  assert.deepEqual(a.percentiles, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual((await roadCurve(x, map, sum, { seed: 3, batchSize: 2 })).scores, a.scores);
  await assert.rejects(() => roadCurve(x, map, sum, { percentiles: [1.5] }), RangeError);
});

Deno.test("conjugateGradient() matches Gaussian elimination on random SPD matrices", () => {
  const rand = testRng(13);
  for (const n of [1, 2, 5, 20]) {
    const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rand() - 0.5));
    const dense = Array.from(
      { length: n },
      (_, i) =>
        Array.from(
          { length: n },
          (_, j) => b.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 0.5 : 0),
        ),
    );
    const rows: number[] = [], cols: number[] = [], vals: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) rows.push(i), cols.push(j), vals.push(dense[i][j]);
    }
    const a = csrFromTriplets(n, rows, cols, vals);
    const rhs = Array.from({ length: n }, () => rand() - 0.5);
    const r = conjugateGradient(a, rhs, { tolerance: 1e-13 });
    assertClose(r.x, denseSolve(dense, rhs), 1e-9, 1e-9, `n=${n}`);
    assert.ok(r.residual <= 1e-12, `residual ${r.residual}`);
    assert.ok(r.iterations <= n + 5);
  }
  // Duplicate triplets are summed; the product uses them once each.
  const a = csrFromTriplets(2, [1, 0, 1, 1], [1, 0, 0, 1], [2, 1, 3, 4]); // [[1, 0], [3, 6]]
  assert.deepEqual(Array.from(csrMultiply(a, [1, 2])), [1, 15]);
  assert.deepEqual(Array.from(a.rowPtr), [0, 1, 3]);
  assert.throws(() => csrFromTriplets(2, [2], [0], [1]), RangeError);
  assert.deepEqual(conjugateGradient(a, [0, 0]).residual, 0);
});

/** ROAD's system on an m×m grid whose every pixel is unknown, with known pixels all around (Dirichlet). */
function gridSystem(m: number) {
  const rows: number[] = [], cols: number[] = [], vals: number[] = [];
  for (let y = 0; y < m; y++) {
    for (let x = 0; x < m; x++) {
      rows.push(y * m + x), cols.push(y * m + x), vals.push(1);
      for (const [dy, dx, wt] of ROAD_NEIGHBOURS) {
        const ny = y + dy, nx = x + dx;
        if (ny >= 0 && ny < m && nx >= 0 && nx < m) {
          rows.push(y * m + x), cols.push(ny * m + nx), vals.push(-wt);
        }
      }
    }
  }
  return csrFromTriplets(m * m, rows, cols, vals);
}

Deno.test("incompleteLU(): ILU(0) matches A on its pattern, MILU keeps row sums, both symmetric", () => {
  const a = gridSystem(4), n = 16;
  const dense = Array.from({ length: n }, (_, i) => {
    const row = new Array(n).fill(0);
    for (let k = a.rowPtr[i]; k < a.rowPtr[i + 1]; k++) row[a.colIdx[k]] = a.values[k];
    return row;
  });
  for (const omega of [0, 1]) {
    const apply = incompleteLU(a, { omega });
    // M⁻¹ column by column, then M = (M⁻¹)⁻¹ by dense elimination.
    const minv = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let j = 0; j < n; j++) {
      const e = new Float64Array(n), z = new Float64Array(n);
      e[j] = 1;
      apply(e, z);
      for (let i = 0; i < n; i++) minv[i][j] = z[i];
    }
    const M = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let j = 0; j < n; j++) {
      const e = new Array(n).fill(0);
      e[j] = 1;
      denseSolve(minv, e).forEach((v, i) => M[i][j] = v);
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) assertClose(M[i][j], M[j][i], 1e-12, 0, "symmetric");
    }
    if (omega === 0) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (dense[i][j] !== 0) assertClose(M[i][j], dense[i][j], 1e-12, 0, `M[${i}][${j}]`);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        assertClose(
          M[i].reduce((s, v) => s + v, 0),
          dense[i].reduce((s, v) => s + v, 0),
          1e-12,
          0,
          `row ${i}`,
        );
      }
    }
    // Fill-in exists on this pattern, so M ≠ A somewhere off the pattern.
    assert.ok(M.some((row, i) => row.some((v, j) => dense[i][j] === 0 && Math.abs(v) > 1e-6)));
  }
});

Deno.test("conjugateGradient() with MILU needs far fewer iterations than with Jacobi on a grid", () => {
  const a = gridSystem(40);
  const b = Float64Array.from({ length: 1600 }, (_, i) => Math.sin(i));
  const jac = conjugateGradient(a, b, { tolerance: 1e-8, preconditioner: jacobiPreconditioner(a) });
  const milu = conjugateGradient(a, b, { tolerance: 1e-8, preconditioner: incompleteLU(a) });
  assert.ok(jac.residual <= 1e-8 && milu.residual <= 1e-8);
  assertClose(milu.x, jac.x, 1e-6);
  assert.ok(milu.iterations * 3 < jac.iterations, `${milu.iterations} vs ${jac.iterations}`);
});
