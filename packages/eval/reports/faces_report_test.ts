import assert from "node:assert/strict";
import { join } from "node:path";
import { createImage, decodeImage, faceapiPreprocess, tf, useBackend } from "@cnnlens/core";
import { numbersInRange } from "./_common.ts";
import {
  compareDescriptors,
  FACES_DIR,
  mirror,
  networkView,
  reframe,
  report,
  sampleFaces,
} from "./faces_report.ts";

Deno.test("faces report (CI size): face-api's decisions reproduced, numbers in range, figures written, no leak", async () => {
  await useBackend("wasm");
  const before = tf.memory().numTensors;
  const dir = await Deno.makeTempDir({ prefix: "faces_report_" });
  try {
    const s = await report.run({ ci: true, outDir: dir, log: () => {} });
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.deepEqual(
      numbersInRange(s.numbers, {
        "^probability\\.photo0$": [1 / 7, 1],
        "^faceapi_probability\\.photo0$": [1 / 7, 1],
        "^similarity\\.pair[0-2]$": [-4, 0],
        "^distance\\.pair[0-2]$": [0, 2],
        "^cosine\\.pair[0-2]$": [-1, 1],
        // The graph equals face-api (core README: ≤ 5e-7), and FAM's score is −d² of the same descriptors.
        "^check\\.max_abs_prob_diff$": [0, 1e-5],
        "^check\\.fam_similarity_vs_distance$": [0, 1e-4],
        "^verification\\.correct_fraction$": [0, 1],
        "^iom_class_spearman_abs\\.photo0$": [-1, 1],
        "^fam\\.pearson_(positive_vs_negative|vs_activation_sum)$": [-1, 1],
      }),
      [],
    );
    // Positive pairs (the same face reframed, mirrored) are nearer than the other person.
    assert.ok(s.numbers["distance.pair0"]! < s.numbers["distance.pair2"]!);
    assert.ok(s.numbers["distance.pair1"]! < s.numbers["distance.pair2"]!);
    assert.equal(s.file, join(dir, "faces.md"));
    const md = await Deno.readTextFile(s.file);
    for (const t of ["## Expressions", "| sample1.jpg |", "## Verification", "| 2 | other person |"]) {
      assert.ok(md.includes(t), `missing ${t}`);
    }
    for (const f of ["expressions.png", "verification.png"]) {
      const png = await Deno.readFile(join(dir, "faces", f));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], f); // "PNG"
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampleFaces() gives face 0 of the six photos in order; reframe() and mirror() are the pair views", async () => {
  const faces = await sampleFaces();
  assert.deepEqual(faces.map((f) => f.file), [1, 2, 3, 4, 5, 6].map((i) => `sample${i}_face0.jpg`));
  const img = createImage(20, 10);
  for (let i = 0; i < img.data.length; i++) img.data[i] = i % 251;
  const m = mirror(img);
  assert.deepEqual([...m.data.subarray(0, 3)], [...img.data.subarray(19 * 3, 20 * 3)]); // (0,0) ← (19,0)
  assert.deepEqual(mirror(m).data, img.data);
  const r = reframe(img); // 17×9 (round(0.85·20), round(0.85·10)), flush right, y offset round(1/3) = 0
  assert.deepEqual([r.width, r.height], [17, 9]);
  assert.deepEqual([...r.data.subarray(0, 3)], [...img.data.subarray(3 * 3, 4 * 3)]); // (0,0) ← (3,0)
});

Deno.test("networkView() undoes faceapiPreprocess's normalisation; compareDescriptors() by hand", async () => {
  const img = decodeImage(await Deno.readFile(FACES_DIR + "sample1_face0.jpg"));
  const square = createImage(8, 8, [200, 100, 50]);
  assert.deepEqual([...networkView(faceapiPreprocess(square, 8), 8).data.subarray(0, 3)], [200, 100, 50]);
  const v = networkView(faceapiPreprocess(img, 112), 112);
  // The crop is taller than wide: face-api pads black columns on both sides, and the face fills the middle.
  assert.deepEqual([...v.data.subarray(0, 3)], [0, 0, 0]);
  const mid = (56 * 112 + 56) * 3;
  assert.ok(v.data[mid] + v.data[mid + 1] + v.data[mid + 2] > 150);
  const c = compareDescriptors([3, 4], [0, 0.5]);
  assert.ok(Math.abs(c.distance - Math.sqrt(9 + 12.25)) < 1e-12);
  assert.ok(Math.abs(c.cosine - 0.8) < 1e-12);
});
