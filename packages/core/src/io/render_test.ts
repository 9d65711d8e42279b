import assert from "node:assert/strict";
import { applyColormap, applyDivergingColormap } from "./colormap.ts";
import { GLYPH_HEIGHT, textWidth } from "./font.ts";
import { createImage, resizeBilinear, type RgbImage } from "./image.ts";
import {
  colorbar,
  drawMarker,
  drawText,
  grid,
  normalizeMaxAbs,
  normalizeMinMax,
  overlay,
  upsampleMap,
} from "./render.ts";

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return Array.from(img.data.subarray(i, i + 3));
}

/** Coordinates of pixels that differ between two same-sized images. */
function changed(a: RgbImage, b: RgbImage): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) if (pixel(a, x, y).join() !== pixel(b, x, y).join()) out.push([x, y]);
  }
  return out;
}

function noisyImage(w: number, h: number): RgbImage {
  const img = createImage(w, h);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 97 + 13) % 256;
  return img;
}

Deno.test("normalizeMinMax maps to [0, 1], zeros constant maps and NaN", () => {
  assert.deepEqual(Array.from(normalizeMinMax(new Float32Array([2, 4, 6, 3]))), [0, 0.5, 1, 0.25]);
  assert.deepEqual(Array.from(normalizeMinMax(new Float32Array([5, 5, 5]))), [0, 0, 0]);
  assert.deepEqual(Array.from(normalizeMinMax(new Float32Array([NaN, -1, 1, Infinity]))), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(normalizeMinMax(new Float32Array([NaN, NaN]))), [0, 0]);
  assert.equal(normalizeMinMax(new Float32Array()).length, 0);
  assert.deepEqual(Array.from(normalizeMaxAbs(new Float32Array([-2, 1, 0, NaN]))), [-1, 0.5, 0, 0]);
  assert.deepEqual(Array.from(normalizeMaxAbs(new Float32Array([0, 0]))), [0, 0]);
});

Deno.test("upsampleMap is single-channel bilinear resizing", () => {
  const map = new Float32Array([0, 1, 2, 3, 4, 5]);
  assert.deepEqual(upsampleMap(map, 2, 3, 5, 4), resizeBilinear(map, 1, 2, 3, 5, 4, "chw"));
});

Deno.test("overlay with alpha 0 is the image and with alpha 1 is the colour-mapped map", () => {
  const img = noisyImage(8, 6);
  const map = new Float32Array([0, 3, 1, 2, 5, 4]); // 2x3
  assert.deepEqual(overlay(img, map, 2, 3, { alpha: 0 }), img);

  const expected = applyColormap(normalizeMinMax(upsampleMap(map, 2, 3, 6, 8)), "jet");
  assert.deepEqual(overlay(img, map, 2, 3, { alpha: 1 }).data, expected);

  const half = overlay(img, map, 2, 3);
  for (const i of [0, 17, 143]) assert.equal(half.data[i], Math.round(0.5 * img.data[i] + 0.5 * expected[i]));

  const raw = overlay(img, new Float32Array([0.25, 0.25, 0.25, 0.25]), 2, 2, { alpha: 1, normalize: false });
  assert.deepEqual(pixel(raw, 3, 3), Array.from(applyColormap([0.25], "jet")));
});

Deno.test("signed overlays use the diverging map: zero is white", () => {
  const img = noisyImage(4, 4);
  const map = new Float32Array([-2, 0, 0, 4]);
  const out = overlay(img, map, 2, 2, { alpha: 1, signed: true });
  const expected = applyDivergingColormap(normalizeMaxAbs(upsampleMap(map, 2, 2, 4, 4)));
  assert.deepEqual(out.data, expected);
  assert.deepEqual(pixel(overlay(img, new Float32Array(4), 2, 2, { alpha: 1, signed: true }), 1, 1), [
    255,
    255,
    255,
  ]);
});

Deno.test("overlay rejects bad alpha and mismatched map sizes", () => {
  const img = noisyImage(4, 4);
  assert.throws(() => overlay(img, new Float32Array(4), 2, 2, { alpha: 1.5 }), {
    name: "RangeError",
    message: "Cannot overlay map: alpha must be in [0, 1], got 1.5",
  });
  assert.throws(() => overlay(img, new Float32Array(5), 2, 2), {
    name: "RangeError",
    message: "Cannot overlay map: map has 5 values but mapH*mapW = 2*2 = 4",
  });
});

Deno.test("grid of 5 tiles in 3 columns has 2 rows and places tiles and labels", () => {
  const tiles = Array.from({ length: 5 }, (_, i) => ({
    image: createImage(16, 8, [i * 40 + 20, 0, 0]),
    label: `t${i}`,
  }));
  const out = grid(tiles, { columns: 3, padding: 4, labelHeight: 12 });
  assert.equal(out.width, 3 * 16 + 4 * 4);
  assert.equal(out.height, 2 * (8 + 12) + 3 * 4);
  // Tile 4 is row 1, column 1: its top-left pixel sits at (4 + 20, 4 + 24), its bottom-right at (39, 35).
  assert.deepEqual(pixel(out, 24, 28), [180, 0, 0]);
  assert.deepEqual(pixel(out, 39, 35), [180, 0, 0]);
  assert.deepEqual(pixel(out, 23, 28), [255, 255, 255]);
  assert.deepEqual(pixel(out, 40, 35), [255, 255, 255]);
  // The sixth cell is empty background.
  for (let y = 28; y < 48; y++) {
    for (let x = 44; x < 60; x++) assert.deepEqual(pixel(out, x, y), [255, 255, 255]);
  }
  // Each label band holds some black ink, and nothing outside the band is black.
  const inkRows = new Set<number>();
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) if (pixel(out, x, y).join() === "0,0,0") inkRows.add(y);
  }
  for (const y of inkRows) assert.ok((y >= 12 && y < 24) || (y >= 36 && y < 48), `ink on row ${y}`);
  assert.ok(inkRows.size > 0);

  const unlabelled = grid(tiles.map((t) => ({ image: t.image })), { columns: 3 });
  assert.equal(unlabelled.height, 2 * 8 + 3 * 4, "no label band without labels");
  assert.throws(() => grid([]), { name: "RangeError", message: "Cannot build grid: no tiles" });
});

Deno.test("grid centres smaller tiles and shortens labels that do not fit", () => {
  const out = grid(
    [{ image: createImage(20, 10, [0, 0, 255]), label: "a label far too long for the cell" }, {
      image: createImage(6, 4, [0, 255, 0]),
    }],
    { columns: 2, padding: 2, background: [10, 10, 10] },
  );
  assert.equal(out.width, 2 * 20 + 3 * 2);
  assert.deepEqual(pixel(out, 2 + 22 + 7, 2), [0, 255, 0]);
  assert.deepEqual(pixel(out, 2 + 22 + 6, 2), [10, 10, 10]);
  const labelBand = { y0: 12, y1: 12 + GLYPH_HEIGHT + 4 };
  for (let y = labelBand.y0; y < labelBand.y1; y++) {
    for (let x = 22; x < out.width; x++) {
      assert.notDeepEqual(pixel(out, x, y), [0, 0, 0], "label stays in its cell");
    }
  }
});

Deno.test("drawText changes pixels only inside its box", () => {
  for (const scale of [1, 2]) {
    const blank = createImage(60, 30, [255, 255, 255]);
    const img = createImage(60, 30, [255, 255, 255]);
    drawText(img, 3, 4, "Hi!g", [255, 0, 0], scale);
    const diff = changed(blank, img);
    assert.ok(diff.length > 10);
    const w = textWidth("Hi!g", scale), h = GLYPH_HEIGHT * scale;
    for (const [x, y] of diff) {
      assert.ok(x >= 3 && x < 3 + w && y >= 4 && y < 4 + h, `pixel (${x}, ${y}) outside the box`);
      assert.deepEqual(pixel(img, x, y), [255, 0, 0]);
    }
  }
  const edge = createImage(8, 8);
  drawText(edge, -3, -6, "HH", [1, 2, 3], 3); // clipped on two sides, must not throw
  assert.ok(changed(createImage(8, 8), edge).length > 0);
});

Deno.test("drawMarker draws a cross centred on the point", () => {
  const blank = createImage(21, 21);
  const img = createImage(21, 21);
  drawMarker(img, 10, 10, [0, 255, 0], 3);
  const diff = changed(blank, img);
  assert.equal(diff.length, 13);
  const xs = diff.map(([x]) => x), ys = diff.map(([, y]) => y);
  assert.equal(Math.min(...xs) + Math.max(...xs), 20);
  assert.equal(Math.min(...ys) + Math.max(...ys), 20);
  assert.equal(xs.reduce((a, b) => a + b) / xs.length, 10);
  assert.equal(ys.reduce((a, b) => a + b) / ys.length, 10);
  assert.deepEqual(pixel(img, 10, 10), [0, 255, 0]);
  drawMarker(img, 0, 20); // clipped at a corner, must not throw
});

Deno.test("colorbar runs from value 1 at the top to 0 at the bottom", () => {
  const bar = colorbar({ colormap: "viridis", width: 5, height: 50 });
  assert.equal(bar.width, 5);
  assert.equal(bar.height, 50);
  assert.deepEqual(pixel(bar, 2, 0), Array.from(applyColormap([1], "viridis")));
  assert.deepEqual(pixel(bar, 4, 49), Array.from(applyColormap([0], "viridis")));
  const across = colorbar({ orientation: "horizontal" });
  assert.equal(across.width, 128);
  assert.deepEqual(pixel(across, 127, 0), Array.from(applyColormap([1], "jet")));
});
