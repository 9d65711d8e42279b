import assert from "node:assert/strict";
import {
  extractFace,
  FACE_EXPRESSION_PREPROCESSING,
  FACE_RECOGNITION_PREPROCESSING,
  FACEAPI_MEAN_RGB,
  faceapiPreprocess,
} from "./faceapi_preprocess.ts";
import { faceRefs, maxAbs, samplePhoto, TESTDATA } from "./_fixtures.ts";

/** The LCG of tools/faceapi_reference.ts that made the pixels of preprocess.json. */
function pixels(seed: number, n: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

Deno.test("faceapiPreprocess() equals face-api's NetInput.toBatchTensor + normalisation on odd shapes", async () => {
  const ref = JSON.parse(await Deno.readTextFile(new URL("preprocess.json", TESTDATA)));
  assert.deepEqual(ref.meanRgb, [...FACEAPI_MEAN_RGB]);
  assert.equal(ref.cases.length, 6);
  for (const c of ref.cases) {
    const img = { width: c.width, height: c.height, data: pixels(c.seed, c.width * c.height * 3) };
    const x = faceapiPreprocess(img, c.size);
    assert.equal(x.length, c.size * c.size * 3);
    const err = maxAbs(x, c.output);
    assert.ok(err <= 1e-6, `${c.width}×${c.height} → ${c.size}: max abs error ${err}`);
  }
});

Deno.test("faceapiPreprocess() pads the larger half after the image and samples at i · in/out", () => {
  // 1 × 4 column of values 10, 20, 30, 40 (grey): padded to 4 × 4 with 1 column before, 2 after.
  const col = new Uint8Array([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
  const x = faceapiPreprocess({ width: 1, height: 4, data: col }, 4);
  const px = (r: number, c: number) => x[(r * 4 + c) * 3] * 255 + FACEAPI_MEAN_RGB[0];
  for (let r = 0; r < 4; r++) {
    assert.deepEqual([0, 1, 2, 3].map((c) => Math.round(px(r, c) * 1e4) / 1e4), [0, 10 * (r + 1), 0, 0]);
  }
  // Downsampling 4 → 3: source rows/cols 0, 4/3, 8/3 (no half-pixel offset); (r, c) = (1, 1) mixes
  // rows 1, 2 with weights 2/3, 1/3 and columns 1, 2 likewise.
  const y = faceapiPreprocess({ width: 1, height: 4, data: col }, 3);
  const v = y[(1 * 3 + 1) * 3] * 255 + FACEAPI_MEAN_RGB[0];
  const expected = (2 / 3) * ((2 / 3) * 20 + (1 / 3) * 0) + (1 / 3) * ((2 / 3) * 30 + (1 / 3) * 0);
  assert.ok(Math.abs(v - expected) < 1e-4, `${v} vs ${expected}`);
});

Deno.test("faceapiPreprocess() rejects malformed images and sizes", () => {
  assert.throws(
    () => faceapiPreprocess({ width: 2, height: 2, data: new Uint8Array(11) }, 4),
    /11 values \(expected 12\)/,
  );
  assert.throws(
    () => faceapiPreprocess({ width: 1, height: 1, data: new Uint8Array(3) }, 0),
    /positive integer, got 0/,
  );
});

Deno.test("extractFace() cuts the boxes face-api's extractFaceTensors cut from a sample photo", async () => {
  const all = await faceRefs();
  assert.equal(all.length, 22);
  // One photo only: decoding a 1920-pixel JPEG takes seconds.
  const faces = all.filter((f) => f.image === "sample1.jpg");
  assert.equal(faces.length, 3);
  for (const f of faces) {
    const img = await samplePhoto(f.image);
    const c = extractFace(img, { x: f.box[0], y: f.box[1], width: f.box[2], height: f.box[3] });
    assert.deepEqual([c.width, c.height], [f.crop.width, f.crop.height], `${f.image} face ${f.face}`);
    // Spot-check the corners against the photo at the recorded integer origin.
    for (const [r, q] of [[0, 0], [c.height - 1, c.width - 1]]) {
      const src = ((f.crop.y + r) * img.width + f.crop.x + q) * 3;
      assert.deepEqual([...c.data.subarray((r * c.width + q) * 3, (r * c.width + q) * 3 + 3)], [
        ...img.data.subarray(src, src + 3),
      ]);
    }
  }
  const photo = await samplePhoto("sample1.jpg");
  assert.throws(
    () => extractFace(photo, { x: 5000, y: 0, width: 10, height: 10 }),
    /outside the 1920×1280 image/,
  );
});

Deno.test("face-api preprocessing records: 150 / 112, mean = meanRgb / 255, std 1", () => {
  assert.deepEqual(FACE_RECOGNITION_PREPROCESSING.size, [150, 150]);
  assert.deepEqual(FACE_EXPRESSION_PREPROCESSING.size, [112, 112]);
  for (const p of [FACE_RECOGNITION_PREPROCESSING, FACE_EXPRESSION_PREPROCESSING]) {
    p.mean.forEach((m, i) => assert.ok(Math.abs(m * 255 - FACEAPI_MEAN_RGB[i]) < 1e-9));
    assert.deepEqual(p.std, [1, 1, 1]);
  }
});
