import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { rng } from "../../_testing/reference.ts";
import {
  decodeTfjsWeights,
  float16ToNumber,
  loadTfjsWeights,
  shardReaderFor,
  type TfjsWeightSpec,
} from "./tfjs_weights.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";
import { read } from "./_test_helpers.ts";

Deno.test("float16ToNumber(): exact on normals, subnormals, zero, infinities and NaN", () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, v] of cases) assert.ok(Object.is(float16ToNumber(bits), v), `0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(float16ToNumber(0x7e00)));
});

Deno.test("decodeTfjsWeights(): equals tf.io.decodeWeights for float32, int32, uint8, uint16 and float16", async () => {
  await useBackend("cpu");
  const r = rng(8);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const f32 = new Float32Array(Array.from({ length: 6 }, () => r() * 4 - 2));
  const i32 = Int32Array.of(-7, 0, 123456, 2 ** 24);
  // float16 bits with exponents < 31 (finite values).
  const f16 = Uint16Array.from({ length: 5 }, () => Math.floor(r() * 0x7c00) | (r() < 0.5 ? 0x8000 : 0));
  const specs: TfjsWeightSpec[] = [
    { name: "a", shape: [2, 3], dtype: "float32" },
    { name: "b", shape: [4], dtype: "int32" },
    {
      name: "c",
      shape: [3, 3],
      dtype: "float32",
      quantization: { dtype: "uint8", scale: 0.0173, min: -1.21 },
    },
    { name: "d", shape: [7], dtype: "float32", quantization: { dtype: "uint16", scale: 3.1e-5, min: -0.6 } },
    { name: "e", shape: [5], dtype: "float32", quantization: { dtype: "float16" } },
    { name: "f", shape: [2], dtype: "int32", quantization: { dtype: "uint8", scale: 0.5, min: -3 } },
  ];
  const data = new Uint8Array([
    ...new Uint8Array(f32.buffer),
    ...new Uint8Array(i32.buffer),
    ...bytes(9),
    ...bytes(14),
    ...new Uint8Array(f16.buffer),
    ...bytes(2),
  ]);
  const ours = decodeTfjsWeights(specs, data);
  const theirs = tf.io.decodeWeights(data.buffer, specs as tf.io.WeightsManifestEntry[]);
  for (const s of specs) {
    assert.deepEqual(Array.from(ours.get(s.name)!.data), Array.from(await read(theirs[s.name])), s.name);
    assert.deepEqual(ours.get(s.name)!.shape, s.shape);
  }
  tf.dispose(Object.values(theirs));
});

Deno.test("loadTfjsWeights(): groups read through a shard reader, or one buffer for all groups", async () => {
  const w = Float32Array.of(1, 2, 3, 4, 5);
  const all = new Uint8Array(w.buffer);
  const manifest = [
    { paths: ["p1", "p2"], weights: [{ name: "x", shape: [3], dtype: "float32" }] },
    { paths: ["q"], weights: [{ name: "y", shape: [2], dtype: "float32" }] },
  ];
  const files: Record<string, Uint8Array> = { p1: all.slice(0, 5), p2: all.slice(5, 12), q: all.slice(12) };
  const byReader = await loadTfjsWeights(manifest, (p) => Promise.resolve(files[p]));
  const byBuffer = await loadTfjsWeights(manifest, all.buffer);
  for (const m of [byReader, byBuffer]) {
    assert.deepEqual(Array.from(m.get("x")!.data), [1, 2, 3]);
    assert.deepEqual(Array.from(m.get("y")!.data), [4, 5]);
  }
});

Deno.test("decodeTfjsWeights() and shardReaderFor(): truncation and missing files are one-line errors", async () => {
  assert.throws(
    () =>
      decodeTfjsWeights(
        [{ name: "k", shape: [4], dtype: "float32" }],
        new Uint8Array(12),
        "weights file(s) 'a.bin'",
      ),
    (e: Error) =>
      e instanceof TfjsImportError &&
      e.message ===
        "Cannot import TensorFlow.js model: weights file(s) 'a.bin' hold 12 bytes, but weight 'k' needs " +
          "bytes 0..16 (truncated or missing shard?)",
  );
  assert.throws(
    () => decodeTfjsWeights([{ name: "s", shape: [1], dtype: "string" }], new Uint8Array(8)),
    /weight 's' has unsupported dtype 'string'/,
  );
  assert.throws(
    () =>
      decodeTfjsWeights(
        [{ name: "q", shape: [1], dtype: "float32", quantization: { dtype: "uint8" } }],
        new Uint8Array(1),
      ),
    /weight 'q' is quantized to uint8 without 'scale' and 'min'/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => shardReaderFor(`${dir}/model.json`)("group1-shard1of1.bin"),
      (e: Error) =>
        e instanceof TfjsImportError &&
        e.message ===
          `Cannot import TensorFlow.js model: cannot read weights file '${dir}/group1-shard1of1.bin' (no such file)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTfjsWeights(): face-api's shipped uint8-quantized manifest decodes as tf.io.decodeWeights does", async () => {
  await useBackend("cpu");
  const path = new URL(
    "../../../../../node_modules/@vladmandic/face-api/model/face_expression_model-weights_manifest.json",
    import.meta.url,
  ).pathname;
  const manifest = JSON.parse(await Deno.readTextFile(path));
  const ours = await loadTfjsWeights(manifest, shardReaderFor(path));
  const bytes = await Deno.readFile(path.replace(/-weights_manifest\.json$/, ".bin"));
  const theirs = tf.io.decodeWeights(bytes.buffer, manifest[0].weights);
  assert.equal(ours.size, 49);
  for (const [name, t] of Object.entries(theirs)) {
    assert.deepEqual(Array.from(ours.get(name)!.data), Array.from(await read(t)), name);
  }
  tf.dispose(Object.values(theirs));
});
