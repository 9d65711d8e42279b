import assert from "node:assert/strict";
import {
  applyColormap,
  applyDivergingColormap,
  COLORMAP_SIZE,
  type ColormapName,
  colormaps,
  isColormapName,
} from "./colormap.ts";

function entry(name: ColormapName, i: number): number[] {
  return Array.from(colormaps[name].subarray(i * 3, i * 3 + 3));
}

function luminance(rgb: number[]): number {
  return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
}

Deno.test("every colour map is a 256-entry RGB table", () => {
  for (const name of Object.keys(colormaps)) {
    assert.ok(isColormapName(name));
    assert.equal(colormaps[name as ColormapName].length, COLORMAP_SIZE * 3);
  }
  assert.equal(isColormapName("hot"), false);
});

Deno.test("jet runs from dark blue to dark red with green in the middle", () => {
  assert.deepEqual(Array.from(applyColormap(new Float32Array([0, 1]), "jet")), [0, 0, 128, 128, 0, 0]);
  assert.deepEqual(entry("jet", 0), [0, 0, 128]);
  assert.deepEqual(entry("jet", 255), [128, 0, 0]);
  const [r, g, b] = Array.from(applyColormap(new Float32Array([0.5]), "jet"));
  assert.ok(g === 255 && Math.abs(r - b) <= 5 && r > 120, `jet(0.5) = ${[r, g, b]}`);
});

Deno.test("turbo and viridis endpoints match their published colours", () => {
  // Turbo's polynomial: dark blue-violet at 0, dark red at 1.
  const [t0, t1] = [entry("turbo", 0), entry("turbo", 255)];
  assert.ok(t0[2] > t0[1] && t0[0] < 60, `turbo(0) = ${t0}`);
  assert.ok(t1[0] > 100 && t1[1] < 30 && t1[2] < 30, `turbo(1) = ${t1}`);
  // matplotlib: viridis(0) = (0.267, 0.005, 0.329), viridis(0.5) = (0.128, 0.567, 0.551),
  // viridis(1) = (0.993, 0.906, 0.144).
  const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i] * 255) <= 2.5);
  assert.ok(close(entry("viridis", 0), [0.267, 0.005, 0.329]), `viridis(0) = ${entry("viridis", 0)}`);
  assert.ok(close(entry("viridis", 128), [0.128, 0.567, 0.551]), `viridis(0.5) = ${entry("viridis", 128)}`);
  assert.ok(close(entry("viridis", 255), [0.993, 0.906, 0.144]), `viridis(1) = ${entry("viridis", 255)}`);
});

Deno.test("viridis luminance increases monotonically", () => {
  let previous = -Infinity;
  for (let i = 0; i < COLORMAP_SIZE; i++) {
    const l = luminance(entry("viridis", i));
    assert.ok(l >= previous - 0.5, `luminance drops at ${i}: ${previous} -> ${l}`);
    previous = Math.max(previous, l);
  }
  for (let i = 8; i < COLORMAP_SIZE; i += 8) {
    assert.ok(luminance(entry("viridis", i)) > luminance(entry("viridis", i - 8)), `step ending at ${i}`);
  }
});

Deno.test("applyColormap clamps out-of-range values and maps NaN to 0", () => {
  const rgb = applyColormap(new Float32Array([NaN, -3, 0, 7, Infinity, 1]), "viridis");
  const at = (i: number) => Array.from(rgb.subarray(i * 3, i * 3 + 3));
  assert.deepEqual(at(0), entry("viridis", 0));
  assert.deepEqual(at(1), entry("viridis", 0));
  assert.deepEqual(at(3), entry("viridis", 255));
  assert.deepEqual(at(4), entry("viridis", 255));
  assert.deepEqual(at(0), at(2));
  assert.deepEqual(at(3), at(5));
});

Deno.test("the diverging map is white at 0, blue at -1, red at 1, and white for NaN", () => {
  const rgb = Array.from(applyDivergingColormap(new Float32Array([0, -1, 1, NaN, -5, 5, -0.5, 0.5])));
  const at = (i: number) => rgb.slice(i * 3, i * 3 + 3);
  assert.deepEqual(at(0), [255, 255, 255]);
  assert.deepEqual(at(3), [255, 255, 255]);
  assert.deepEqual(at(1), entry("bwr", 0));
  assert.deepEqual(at(2), entry("bwr", 255));
  assert.deepEqual(at(4), at(1));
  assert.deepEqual(at(5), at(2));
  const [blue, red] = [at(1), at(2)];
  assert.ok(blue[2] > blue[0] && blue[2] > blue[1], `blue end ${blue}`);
  assert.ok(red[0] > red[1] && red[0] > red[2], `red end ${red}`);
  assert.ok(at(6)[2] > at(6)[0] && at(6)[0] < 255, "-0.5 is a light blue");
  assert.ok(at(7)[0] > at(7)[2] && at(7)[2] < 255, "0.5 is a light red");
  // Through applyColormap, 0.5 is the white middle as well.
  assert.deepEqual(Array.from(applyColormap([0.5], "bwr")), [255, 255, 255]);
});

Deno.test("unknown colour map names are rejected", () => {
  assert.throws(() => applyColormap([0], "hot" as ColormapName), {
    name: "TypeError",
    message: 'Unknown colormap "hot"; expected one of turbo, jet, viridis, bwr',
  });
});
