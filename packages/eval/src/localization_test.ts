import assert from "node:assert/strict";
import { boxFromInclusive, boxIoU, boxMask, rasterizeBox, scaleBox } from "./box.ts";
import { connectedComponents, largestComponentBox } from "./components.ts";
import { estimateBox, localizationIoU } from "./localization_iou.ts";
import { energyProportion } from "./proportion.ts";
import { assertClose, mapOf, testRng } from "./_testing.ts";

// A 4×4 map whose min-max normalisation is easy: values /8 → 0.25, 0.5, 0.5, 1 in the centre, total 2.25.
const centre = mapOf([
  [0, 0, 0, 0],
  [0, 2, 4, 0],
  [0, 4, 8, 0],
  [0, 0, 0, 0],
]);

Deno.test("energyProportion() gives the share of min-max normalised energy in the box (Eq. 19)", () => {
  // Box = row 1, columns 1-2: 0.25 + 0.5 of 2.25.
  assertClose(energyProportion(centre, [{ x0: 1, y0: 1, x1: 3, y1: 2 }]), 0.75 / 2.25);
  // Min-max is what Eq. 19's norm() does: an offset map gives the same proportion...
  const offset = { data: centre.data.map((v) => v + 10), shape: centre.shape };
  assertClose(energyProportion(offset, [{ x0: 1, y0: 1, x1: 3, y1: 2 }]), 0.75 / 2.25);
  // ...while "none" counts the offset as energy: (12 + 14) / (16·10 + 18).
  assertClose(
    energyProportion(offset, [{ x0: 1, y0: 1, x1: 3, y1: 2 }], { normalize: "none" }),
    26 / 178,
    1e-7,
  );
});

Deno.test("energyProportion() edge cases: all in box, empty map, border box, two boxes, channels", () => {
  assert.equal(energyProportion(centre, [{ x0: 1, y0: 1, x1: 3, y1: 3 }]), 1); // map entirely inside the box
  assert.equal(energyProportion(centre, [{ x0: 0, y0: 0, x1: 4, y1: 4 }]), 1);
  assert.equal(energyProportion(mapOf([[0, 0], [0, 0]]), [{ x0: 0, y0: 0, x1: 1, y1: 1 }]), 0); // no energy
  assert.equal(energyProportion(mapOf([[3, 3], [3, 3]]), [{ x0: 0, y0: 0, x1: 1, y1: 1 }]), 0); // constant → 0
  assert.equal(energyProportion(centre, []), 0); // no box
  // A box reaching past the top-left border is clipped: only pixel (1, 1) = 0.25 is inside.
  assertClose(energyProportion(centre, [{ x0: -5, y0: -5, x1: 2, y1: 2 }]), 0.25 / 2.25);
  // Overlapping boxes: the union counts pixel (2, 2) once → (1 + 0.5 + 0.5) / 2.25.
  const two = [{ x0: 2, y0: 1, x1: 3, y1: 3 }, { x0: 1, y0: 2, x1: 3, y1: 3 }];
  assertClose(energyProportion(centre, two), 2 / 2.25);
  // [C, H, W]: normalised jointly (max 8 over both channels), summed per pixel.
  const chw = mapOf([[[8, 0], [0, 0]], [[0, 4], [0, 0]]]);
  assertClose(energyProportion(chw, [{ x0: 0, y0: 0, x1: 1, y1: 1 }]), 1 / 1.5);
});

Deno.test("rasterizeBox() uses the half-open / pixel-centre rule and clips to the image", () => {
  assert.deepEqual(rasterizeBox({ x0: 1, y0: 1, x1: 3, y1: 2 }, 4, 4), { x0: 1, y0: 1, x1: 3, y1: 2 });
  // Centre of pixel 2 is 2.5: x0 = 2.5 keeps it, 2.51 drops it; x1 = 2.5 drops it, 2.51 keeps it.
  assert.equal(rasterizeBox({ x0: 2.5, y0: 0, x1: 4, y1: 1 }, 4, 4).x0, 2);
  assert.equal(rasterizeBox({ x0: 2.51, y0: 0, x1: 4, y1: 1 }, 4, 4).x0, 3);
  assert.equal(rasterizeBox({ x0: 0, y0: 0, x1: 2.5, y1: 1 }, 4, 4).x1, 2);
  assert.equal(rasterizeBox({ x0: 0, y0: 0, x1: 2.51, y1: 1 }, 4, 4).x1, 3);
  assert.deepEqual(rasterizeBox({ x0: 5, y0: 5, x1: 9, y1: 9 }, 4, 4), { x0: 4, y0: 4, x1: 4, y1: 4 }); // outside
  assert.deepEqual(Array.from(boxMask([{ x0: 1, y0: 0, x1: 2, y1: 2 }], 2, 3)), [0, 1, 0, 0, 1, 0]);
  // Scaling a whole-image box keeps it whole; inclusive corners convert with +1.
  const whole = scaleBox({ x0: 0, y0: 0, x1: 500, y1: 375 }, { width: 500, height: 375 }, {
    width: 7,
    height: 7,
  });
  assert.deepEqual(rasterizeBox(whole, 7, 7), { x0: 0, y0: 0, x1: 7, y1: 7 });
  assert.deepEqual(boxFromInclusive(0, 0, 499, 374), { x0: 0, y0: 0, x1: 500, y1: 375 });
  assert.throws(() => rasterizeBox({ x0: 2, y0: 0, x1: 1, y1: 1 }, 4, 4), RangeError);
  assert.throws(() => rasterizeBox({ x0: NaN, y0: 0, x1: 1, y1: 1 }, 4, 4), TypeError);
});

Deno.test("connectedComponents() matches a union-find over 8-neighbours on random masks", () => {
  const rand = testRng(11);
  for (let trial = 0; trial < 30; trial++) {
    const h = 1 + Math.floor(rand() * 9), w = 1 + Math.floor(rand() * 9);
    const mask = Array.from({ length: h * w }, () => (rand() < 0.45 ? 1 : 0));
    // Reference: union-find joining every pair of foreground pixels at Chebyshev distance 1.
    const parent = mask.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    for (let p = 0; p < h * w; p++) {
      for (let q = p + 1; q < h * w; q++) {
        const dy = Math.abs(Math.floor(p / w) - Math.floor(q / w)), dx = Math.abs((p % w) - (q % w));
        if (mask[p] && mask[q] && dy <= 1 && dx <= 1) parent[find(p)] = find(q);
      }
    }
    const sizes = new Map<number, number>();
    for (let p = 0; p < h * w; p++) if (mask[p]) sizes.set(find(p), (sizes.get(find(p)) ?? 0) + 1);
    const c = connectedComponents(mask, h, w);
    assert.equal(c.count, sizes.size);
    assert.deepEqual([...c.sizes].sort((a, b) => a - b), [...sizes.values()].sort((a, b) => a - b));
    for (let p = 0; p < h * w; p++) {
      for (let q = 0; q < h * w; q++) {
        if (mask[p] && mask[q]) assert.equal(c.labels[p] === c.labels[q], find(p) === find(q));
      }
    }
  }
});

Deno.test("largestComponentBox() uses 8-connectivity and breaks size ties by raster order", () => {
  // A diagonal of 4 pixels (one component under 8-connectivity, four under 4-connectivity) and an
  // L-shaped blob of 3 pixels: the diagonal wins.
  const mask = new Uint8Array([
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
    0,
    0,
  ]);
  assert.deepEqual(largestComponentBox(mask, 4, 6), { x0: 0, y0: 0, x1: 4, y1: 4 });
  // Two components of 2 pixels: the one starting first in raster order.
  const tie = new Uint8Array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(largestComponentBox(tie, 2, 6), { x0: 4, y0: 0, x1: 6, y1: 1 });
  assert.equal(largestComponentBox(new Uint8Array(6), 2, 3), null);
});

Deno.test("localizationIoU() boxes the largest component above 0.2·max and scores Eq. 20", () => {
  // Two components after thresholding at 0.2 × 10 = 2 (strictly above): a 2×3 block (6 px, top-left)
  // and a single bright pixel (1 px). Value 2 exactly is background.
  const map = mapOf([
    [5, 5, 5, 0, 0, 0],
    [5, 5, 5, 0, 2, 0],
    [0, 0, 0, 0, 0, 10],
    [0, 0, 0, 0, 0, 0],
  ]);
  const est = estimateBox(map, { normalize: "none" });
  assert.deepEqual(est, { x0: 0, y0: 0, x1: 3, y1: 2 });
  // Default min-max does not change this map (min is 0).
  assert.deepEqual(estimateBox(map), est);
  // Ground truth {x0: 1, y0: 0, x1: 4, y1: 3}: 9 px; intersection 2×2 = 4; union 6 + 9 − 4 = 11.
  const gt = { x0: 1, y0: 0, x1: 4, y1: 3 };
  const r = localizationIoU(map, [gt]);
  assertClose(r.iou, 4 / 11);
  assert.equal(r.matched, 0);
  // Several ground-truth boxes: the best one counts.
  const r2 = localizationIoU(map, [{ x0: 5, y0: 2, x1: 6, y1: 3 }, gt, { x0: 0, y0: 0, x1: 3, y1: 2 }]);
  assert.equal(r2.iou, 1);
  assert.equal(r2.matched, 2);
  // A ground-truth box reaching past the border is clipped to the image first.
  assertClose(localizationIoU(map, [{ x0: -10, y0: -10, x1: 3, y1: 2 }]).iou, 1);
  // Threshold 0.6: only the 10 survives (5 ≤ 6).
  assert.deepEqual(estimateBox(map, { threshold: 0.6 }), { x0: 5, y0: 2, x1: 6, y1: 3 });
  assert.equal(boxIoU(est!, gt), r.iou);
});

Deno.test("localizationIoU() edge cases: empty map, no boxes, map entirely inside the box", () => {
  const zero = mapOf([[0, 0], [0, 0]]);
  assert.deepEqual(localizationIoU(zero, [{ x0: 0, y0: 0, x1: 1, y1: 1 }]), {
    iou: 0,
    box: null,
    matched: -1,
  });
  assert.deepEqual(localizationIoU(mapOf([[4, 4], [4, 4]]), [{ x0: 0, y0: 0, x1: 2, y1: 2 }]).box, null);
  assert.equal(localizationIoU(mapOf([[0, 1], [0, 0]]), []).iou, 0);
  // Map inside a bigger box: IoU = 1 px / 4 px.
  assertClose(localizationIoU(mapOf([[0, 1], [0, 0]]), [{ x0: 0, y0: 0, x1: 2, y1: 2 }]).iou, 0.25);
  // With min-max (FAM), a negative-valued map still localises its peak: [-3, -1] → [0, 1].
  assert.deepEqual(estimateBox(mapOf([[-3, -1]])), { x0: 1, y0: 0, x1: 2, y1: 1 });
  assert.throws(() => estimateBox(zero, { threshold: -1 }), RangeError);
});
