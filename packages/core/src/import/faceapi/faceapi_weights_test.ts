import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import {
  dequantizeFaceApiWeights,
  type FaceApiManifestGroup,
  faceapiModelDir,
  faceApiParameterCount,
  loadFaceApiWeights,
} from "./faceapi_weights.ts";

const test = (name: string, fn: () => Promise<void> | void) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

test("dequantizeFaceApiWeights() reads uint8, uint16 (little-endian) and float32 entries back to back", () => {
  const groups: FaceApiManifestGroup[] = [{
    paths: ["a.bin"],
    weights: [
      { name: "q8", shape: [3], dtype: "float32", quantization: { dtype: "uint8", scale: 0.25, min: -1 } },
      { name: "f32", shape: [1, 2], dtype: "float32" },
      { name: "q16", shape: [2], dtype: "float32", quantization: { dtype: "uint16", scale: 0.5, min: 3 } },
    ],
  }];
  const bytes = new Uint8Array(3 + 8 + 4);
  bytes.set([0, 4, 255], 0);
  const dv = new DataView(bytes.buffer);
  dv.setFloat32(3, 1.5, true);
  dv.setFloat32(7, -2.25, true);
  dv.setUint16(11, 1, true);
  dv.setUint16(13, 513, true);
  const w = dequantizeFaceApiWeights(groups, [bytes]);
  assert.deepEqual([...w.keys()], ["q8", "f32", "q16"]);
  assert.deepEqual([...w.get("q8")!.data], [-1, 0, 62.75]);
  assert.deepEqual([...w.get("f32")!.data], [1.5, -2.25]);
  assert.deepEqual(w.get("f32")!.shape, [1, 2]);
  assert.deepEqual([...w.get("q16")!.data], [3.5, 259.5]);
  assert.equal(w.get("q16")!.stored, "uint16");
});

test("dequantizeFaceApiWeights() names the group when bytes and manifest disagree, and rejects float16", () => {
  const groups: FaceApiManifestGroup[] = [{
    paths: ["m.bin"],
    weights: [{ name: "w", shape: [4], dtype: "float32" }],
  }];
  assert.throws(
    () => dequantizeFaceApiWeights(groups, [new Uint8Array(15)]),
    /m\.bin.*before 'w' \(needs 16\)/,
  );
  assert.throws(
    () => dequantizeFaceApiWeights(groups, [new Uint8Array(17)]),
    /have 17 bytes, the manifest describes 16/,
  );
  const f16: FaceApiManifestGroup[] = [{
    paths: ["h.bin"],
    weights: [{ name: "h", shape: [1], dtype: "float32", quantization: { dtype: "float16" } }],
  }];
  assert.throws(() => dequantizeFaceApiWeights(f16, [new Uint8Array(2)]), /'h' is quantized as float16/);
});

for (const model of ["face_recognition_model", "face_expression_model"]) {
  test(`loadFaceApiWeights('${model}') equals TensorFlow.js's own decodeWeights bit for bit`, async () => {
    await useBackend("cpu");
    const dir = faceapiModelDir();
    const manifest: FaceApiManifestGroup[] = JSON.parse(
      await Deno.readTextFile(new URL(`${model}-weights_manifest.json`, dir)),
    );
    const { weights } = await loadFaceApiWeights(model);
    const bin = await Deno.readFile(new URL(manifest[0].paths[0], dir));
    // deno-lint-ignore no-explicit-any
    const ref = tf.io.decodeWeights(bin.buffer as ArrayBuffer, manifest[0].weights as any);
    assert.deepEqual([...weights.keys()], Object.keys(ref));
    for (const [name, w] of weights) {
      assert.deepEqual(w.shape, ref[name].shape, name);
      const r = await ref[name].data();
      for (let i = 0; i < r.length; i++) {
        if (r[i] !== w.data[i]) assert.fail(`${name}[${i}]: ${w.data[i]} vs ${r[i]}`);
      }
    }
    tf.dispose(Object.values(ref));
  });
}

test("faceApiParameterCount() counts the shipped parameters (5,614,592 and 323,687)", async () => {
  const dir = faceapiModelDir();
  const read = async (m: string) =>
    JSON.parse(await Deno.readTextFile(new URL(`${m}-weights_manifest.json`, dir))) as FaceApiManifestGroup[];
  assert.equal(faceApiParameterCount(await read("face_recognition_model")), 5_614_592);
  assert.equal(faceApiParameterCount(await read("face_expression_model")), 323_687);
});

test("loadFaceApiWeights() with a wrong modelDir says which file it could not read", async () => {
  await assert.rejects(
    () => loadFaceApiWeights("face_recognition_model", { modelDir: "/nonexistent/faceapi" }),
    /Cannot read face-api weights '\/nonexistent\/faceapi\/face_recognition_model-weights_manifest\.json'/,
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/x-weights_manifest.json`, "{ nope");
  await assert.rejects(() => loadFaceApiWeights("x", { modelDir: dir }), /Cannot parse face-api manifest/);
  await Deno.writeTextFile(
    `${dir}/y-weights_manifest.json`,
    JSON.stringify([{ paths: ["y.bin"], weights: [] }]),
  );
  await Deno.writeFile(`${dir}/y.bin`, new Uint8Array(0));
  const { weights } = await loadFaceApiWeights("y", { modelDir: new URL(`file://${dir}`) });
  assert.equal(weights.size, 0);
  await Deno.remove(dir, { recursive: true });
});
