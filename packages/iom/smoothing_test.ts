import assert from "node:assert/strict";
import { neighbourhoodAverage, normaliseSigned } from "./smoothing.ts";
import { randomRef } from "../core/src/_testing/reference.ts";

Deno.test("neighbourhoodAverage() equals the mean of the in-image k×k neighbours", () => {
  const [c, h, w] = [2, 5, 7];
  const v = randomRef([c, h, w], 3).data;
  for (const k of [1, 3, 5, 9]) {
    const out = neighbourhoodAverage(v, [c, h, w], k);
    const r = (k - 1) / 2;
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const vals: number[] = [];
          for (let yy = y - r; yy <= y + r; yy++) {
            for (let xx = x - r; xx <= x + r; xx++) {
              if (yy >= 0 && yy < h && xx >= 0 && xx < w) vals.push(v[(ch * h + yy) * w + xx]);
            }
          }
          const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
          assert.ok(Math.abs(out[(ch * h + y) * w + x] - mean) < 1e-6, `k ${k} at ${ch},${y},${x}`);
        }
      }
    }
  }
});

Deno.test("neighbourhoodAverage() keeps channels apart and rejects bad windows and shapes", () => {
  const v = new Float32Array(18);
  v[4] = 9; // channel 0 centre
  const out = neighbourhoodAverage(v, [2, 3, 3], 3);
  assert.ok(out.slice(9).every((x) => x === 0));
  assert.equal(out[4], 1);
  assert.throws(() => neighbourhoodAverage(v, [2, 3, 3], 2), RangeError);
  assert.throws(() => neighbourhoodAverage(v, [2, 3, 3], 0), RangeError);
  assert.throws(() => neighbourhoodAverage(v, [2, 3, 4], 3), RangeError);
});

Deno.test("normaliseSigned() scales by the largest absolute value and keeps zero maps zero", () => {
  assert.deepEqual(Array.from(normaliseSigned([1, -4, 2])), [0.25, -1, 0.5]);
  assert.deepEqual(Array.from(normaliseSigned([0, 0])), [0, 0]);
});
