import assert from "node:assert/strict";
import { drawScene, rasterizeShape, type ShapeParams } from "./scene.ts";
import { SYNTH_CLASSES_A, SYNTH_CLASSES_B } from "./shapes.ts";
import { synthSpec } from "./synth_sample.ts";

const ALL = [...SYNTH_CLASSES_A, ...SYNTH_CLASSES_B];

Deno.test("every class's shape lies in the disc of radius 1.05 (the rasteriser's search window relies on it)", () => {
  for (const c of ALL) {
    let inside = 0;
    for (let y = -300; y <= 300; y++) {
      for (let x = -300; x <= 300; x++) {
        const u = x / 200, v = y / 200;
        const t = c.paint(u, v);
        if (t < 0) continue;
        inside++;
        assert.ok(Math.hypot(u, v) <= 1.05, `${c.name} paints (${u}, ${v})`);
        assert.ok(t <= 1, `${c.name} weight ${t}`);
      }
    }
    // Each shape covers a real part of the disc (at least a quarter of it).
    assert.ok(inside > 0.25 * Math.PI * 200 * 200, `${c.name} covers ${inside} grid points`);
  }
});

Deno.test("rasterizeShape() of a circle is exactly the pixels whose centre is within the radius", () => {
  const s: ShapeParams = {
    className: "circle",
    cx: 20.3,
    cy: 17.8,
    radius: 9.6,
    angle: 1,
    aspect: 1,
    color: [0, 0, 0],
    alt: [0, 0, 0],
  };
  const r = rasterizeShape(s, 40);
  const expected: number[] = [];
  for (let y = 0; y < 40; y++) {
    for (let x = 0; x < 40; x++) {
      if ((x + 0.5 - 20.3) ** 2 + (y + 0.5 - 17.8) ** 2 <= 9.6 ** 2) expected.push(y * 40 + x);
    }
  }
  assert.deepEqual(Array.from(r.pixels), expected);
  // The box is tight: the extreme pixels of the list.
  const xs = expected.map((p) => p % 40), ys = expected.map((p) => Math.floor(p / 40));
  assert.deepEqual(r.box, {
    x0: Math.min(...xs),
    y0: Math.min(...ys),
    x1: Math.max(...xs) + 1,
    y1: Math.max(...ys) + 1,
  });
});

Deno.test("rasterizeShape() clips at the border and returns an empty box for a shape outside the image", () => {
  const base: ShapeParams = {
    className: "stripes",
    cx: -1,
    cy: 5,
    radius: 4,
    angle: 0,
    aspect: 1,
    color: [0, 0, 0],
    alt: [0, 0, 0],
  };
  const r = rasterizeShape(base, 16);
  assert.ok(r.pixels.length > 0);
  assert.equal(r.box.x0, 0);
  assert.ok(Array.from(r.pixels).every((p) => p % 16 < 3));
  const out = rasterizeShape({ ...base, cx: -20 }, 16);
  assert.equal(out.pixels.length, 0);
  assert.deepEqual(out.box, { x0: 0, y0: 0, x1: 0, y1: 0 });
});

Deno.test("drawScene() paints the object's pixels from its class texture, and nothing of the object elsewhere", () => {
  const spec = synthSpec("train", 5); // stripes
  spec.noiseSigma = 0; // exact colours
  const with_ = drawScene(spec), without = drawScene(spec, { object: false });
  const r = rasterizeShape(spec.object, spec.size);
  const { color, alt } = spec.object;
  for (let i = 0; i < r.pixels.length; i++) {
    const p = r.pixels[i] * 3;
    for (let k = 0; k < 3; k++) {
      const want = Math.round(color[k] + (alt[k] - color[k]) * r.weights[i]);
      assert.ok(Math.abs(with_.image.data[p + k] - want) <= 1, `pixel ${r.pixels[i]} channel ${k}`);
    }
  }
  const onObject = new Set(r.pixels);
  for (let p = 0; p < spec.size * spec.size; p++) {
    if (onObject.has(p)) continue;
    for (let k = 0; k < 3; k++) assert.equal(with_.image.data[p * 3 + k], without.image.data[p * 3 + k]);
  }
  // Stripes: both colours appear on the object.
  const ws = new Set(r.weights);
  assert.deepEqual([...ws].sort(), [0, 1]);
});

Deno.test("drawScene() without distractors changes only the distractors' pixels", () => {
  const spec = synthSpec("val", 11);
  assert.ok(spec.distractors.length > 0);
  const a = drawScene(spec), b = drawScene(spec, { distractors: false });
  const covered = new Set<number>();
  for (const d of spec.distractors) for (const p of rasterizeShape(d, spec.size).pixels) covered.add(p);
  let changed = 0;
  for (let p = 0; p < spec.size * spec.size; p++) {
    const same = [0, 1, 2].every((k) => a.image.data[p * 3 + k] === b.image.data[p * 3 + k]);
    if (!same) {
      assert.ok(covered.has(p), `pixel ${p} changed outside the distractors`);
      changed++;
    }
  }
  assert.ok(changed > 0);
});

Deno.test("drawScene() rejects a bad size", () => {
  const spec = synthSpec("test", 0);
  assert.throws(() => drawScene({ ...spec, size: 4 }), RangeError);
});
