import assert from "node:assert/strict";
import {
  mergePreprocessing,
  preprocessingFromFlags,
  preprocessingFromSpec,
  readLabelsFile,
  tfjsMetadataPreprocessing,
} from "./preprocessing.ts";
import { UsageError } from "./errors.ts";
import { root } from "./_testing.ts";

function close(a: number[] | undefined, b: number[], tol = 1e-12) {
  assert.ok(a, "missing");
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < tol, `${a} vs ${b}`));
}

Deno.test("preprocessingFromSpec() folds scale into mean/std for [0, 1] pixels and reads shape by layout", () => {
  // Caffe-style: raw 0..255 pixels minus a mean in those units, std 1 → (p − m)/1 = (p/255 − m/255)/(1/255).
  const caffe = preprocessingFromSpec({ scale: 1, mean: [103.9, 116.8, 123.7], shape: [3, 224, 200] }, "x");
  close(caffe.mean, [103.9 / 255, 116.8 / 255, 123.7 / 255]);
  close(caffe.std, [1 / 255, 1 / 255, 1 / 255]);
  assert.deepEqual(caffe.size, [224, 200]); // NCHW by default: [C, H, W]
  // For every pixel value, the folded form gives the same number as the spec's own formula.
  const spec = { scale: 2 / 255, mean: [0.3, 0.2, 0.1], std: [0.5, 0.25, 2] };
  const p = preprocessingFromSpec(spec, "x");
  for (const px of [0, 17, 128, 255]) {
    for (let c = 0; c < 3; c++) {
      const want = (px * spec.scale - spec.mean[c]) / spec.std[c];
      const got = (px / 255 - p.mean![c]) / p.std![c];
      assert.ok(Math.abs(got - want) < 1e-12, `${px} ${c}`);
    }
  }
  assert.deepEqual(preprocessingFromSpec({ shape: [1, 32, 48, 3], layout: "nhwc" }, "x").size, [32, 48]);
  assert.deepEqual(preprocessingFromSpec({ shape: [null, null, 3], layout: "NHWC" }, "x").size, undefined);
  assert.deepEqual(preprocessingFromSpec({ size: 96 }, "x"), { size: [96, 96] });
});

Deno.test("preprocessingFromSpec() names the bad key or value", () => {
  const cases: [unknown, RegExp][] = [
    [{ means: [0, 0, 0] }, /unknown key 'means'/],
    [{ mean: [0, 0] }, /'mean' must be 3 numbers/],
    [{ std: [1, 0, 1] }, /'std' must be non-zero/],
    [{ layout: "NCWH" }, /'layout' must be "NCHW" or "NHWC"/],
    [{ shape: [3, 64] }, /'shape' must be/],
    [{ size: [64, 0] }, /'size' must be a positive integer or \[H, W\]/],
    [{ scale: -1 }, /'scale' must be a positive number/],
    [[1, 2], /it must be a JSON object/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(() => preprocessingFromSpec(spec, "config 'c.json' preprocessing"), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^Cannot use config 'c.json' preprocessing: /);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("tfjsMetadataPreprocessing() reads the eval models' labels, size and normalisation", async () => {
  const path = `${root}packages/eval/models/vgg_bn/model.json`;
  const p = tfjsMetadataPreprocessing(JSON.parse(await Deno.readTextFile(path)), path);
  assert.deepEqual(p.labels, ["circle", "triangle", "star", "ring", "cross", "stripes"]);
  assert.deepEqual(p.size, [64, 64]);
  close(p.mean, [0.485, 0.456, 0.406]);
  close(p.std, [0.229, 0.224, 0.225]);
  // Metadata keys cnnlens does not use are ignored; no metadata gives nothing.
  assert.deepEqual(
    tfjsMetadataPreprocessing(
      { userDefinedMetadata: { input: { dtype: "float32", size: 8 }, other: 1 } },
      "m",
    ),
    { size: [8, 8] },
  );
  assert.deepEqual(tfjsMetadataPreprocessing({}, "m"), {});
  assert.throws(
    () => tfjsMetadataPreprocessing({ userDefinedMetadata: { labels: "abc" } }, "m"),
    /labels must be/,
  );
});

Deno.test("preprocessingFromFlags() parses --mean/--std/--size; mergePreprocessing() lets the first source win", () => {
  assert.deepEqual(preprocessingFromFlags({ mean: "0.5", std: "0.1,0.2,0.3", size: "32x48" }), {
    mean: [0.5, 0.5, 0.5],
    std: [0.1, 0.2, 0.3],
    size: [32, 48],
  });
  assert.deepEqual(preprocessingFromFlags({ size: "64" }), { size: [64, 64] });
  assert.throws(() => preprocessingFromFlags({ mean: "1,2" }), /--mean must be one number or three/);
  assert.throws(() => preprocessingFromFlags({ std: "0" }), /--std must be non-zero/);
  assert.throws(() => preprocessingFromFlags({ size: "64,a" }), /--size must be numbers/);
  assert.throws(() => preprocessingFromFlags({ size: "1.5" }), /--size must be N or H,W/);
  assert.deepEqual(
    mergePreprocessing({ std: [1, 1, 1] }, undefined, { mean: [0, 0, 0], std: [2, 2, 2], labels: ["a"] }),
    { mean: [0, 0, 0], std: [1, 1, 1], labels: ["a"] },
  );
});

Deno.test("readLabelsFile() reads text (one per line) and JSON arrays", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/l.txt`, "cat\r\n dog \nbird\n\n");
  assert.deepEqual(await readLabelsFile(`${dir}/l.txt`), ["cat", "dog", "bird"]);
  await Deno.writeTextFile(`${dir}/l.json`, '{"labels": ["a", "b"]}');
  assert.deepEqual(await readLabelsFile(`${dir}/l.json`), ["a", "b"]);
  await Deno.writeTextFile(`${dir}/bad.json`, "[1, 2]");
  await assert.rejects(() => readLabelsFile(`${dir}/bad.json`), /labels must be an array of strings/);
  await assert.rejects(
    () => readLabelsFile(`${dir}/none.txt`),
    /Cannot read labels '.*none.txt': no such file/,
  );
  await Deno.remove(dir, { recursive: true });
});
