import assert from "node:assert/strict";
import { readImage } from "@cnnlens/core";
import { readManifest } from "../manifest.ts";
import { synthSamples } from "./synth_sample.ts";
import { writeSynthSplit } from "./write_synth_split.ts";

Deno.test("writeSynthSplit() writes PNGs and a manifest that readManifest() reads back exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { manifest, count } = await writeSynthSplit(dir, "fewshot", { count: 8, seed: 4 });
    assert.equal(count, 8);
    const entries = await readManifest(manifest);
    const samples = synthSamples("fewshot", 8, { seed: 4 });
    assert.equal(entries.length, 8);
    for (const [i, e] of entries.entries()) {
      const s = samples[i];
      assert.equal(e.label, s.label);
      assert.deepEqual(e.boxes, [s.box]);
      assert.equal(e.extra.class, s.className);
      assert.equal(e.extra.split, "fewshot");
      assert.equal(e.extra.index, i);
      assert.deepEqual(e.extra.distractor_boxes, s.distractorBoxes.map((b) => [b.x0, b.y0, b.x1, b.y1]));
      const img = await readImage(e.image); // lossless: the same bytes come back
      assert.deepEqual(img.data, s.image.data);
      assert.equal(e.image, `${dir}/images/00000${i}.png`);
    }
    const info = JSON.parse(await Deno.readTextFile(`${dir}/dataset.json`));
    assert.equal(info.seed, 4);
    assert.equal(info.class_set, "B");
    assert.deepEqual(info.classes, ["hexagon", "crescent", "diamond", "heart", "arrow", "dots"]);
    // Nothing else was left behind (atomic writes clean up their temporaries).
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["dataset.json", "images", "manifest.jsonl"]);
    assert.equal([...Deno.readDirSync(`${dir}/images`)].length, 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSynthSplit() rejects a bad count before writing anything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => writeSynthSplit(`${dir}/x`, "test", { count: 0 }),
      /Count must be an integer ≥ 1/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
