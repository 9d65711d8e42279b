import assert from "node:assert/strict";
import { encodePng, importTfjsModel, loadNpy, runForward, tf, useBackend } from "@cnnlens/core";
import { synthSample } from "@cnnlens/eval/synth";
import { cli, root } from "../_testing.ts";

const SYNTH: Record<string, string> = {
  "synth-vgg": "vgg_bn",
  "synth-resnet": "resnet_small",
  "synth-cnn6": "iom_cnn6",
  "synth-conv4": "conv4_leaky",
  "synth-fewshot": "fewshot_resnet",
};

Deno.test("cnnlens models lists the five models trained on synthetic shapes", async () => {
  const r = await cli("models", "--json");
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; size: number[]; description: string }[];
  for (const [name, dir] of Object.entries(SYNTH)) {
    const row = rows.find((e) => e.name === name);
    assert.ok(row, name);
    assert.deepEqual(row.size, [64, 64]);
    assert.match(row.description, new RegExp(`packages/eval/models/${dir}`));
  }
  const text = await cli("models");
  for (const name of Object.keys(SYNTH)) assert.match(text.stdout, new RegExp(`^zoo:${name} `, "m"));
});

Deno.test("cnnlens predict --model zoo:synth-* (or the bare name) runs the shipped model.json with its metadata", async () => {
  const s = synthSample("test", 5);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/x.png`, encodePng(s.image));
  // The models' normalisation (ImageNet mean/std), applied by hand to the 64×64 picture.
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const x = Float32Array.from(s.image.data, (p, i) => (p / 255 - mean[i % 3]) / std[i % 3]);
  await useBackend("cpu");
  // Every entry as zoo:NAME, and one by its bare name.
  const specs = [...Object.keys(SYNTH).map((n) => `zoo:${n}`), "synth-vgg"];
  for (const spec of specs) {
    const name = spec.replace(/^zoo:/, "");
    const folder = SYNTH[name];
    const out = `${dir}/${spec.replace(":", "_")}`;
    const r = await cli(
      "predict",
      "--model",
      spec,
      "--input",
      `${dir}/x.png`,
      "--out",
      out,
      "--backend",
      "cpu",
    );
    assert.equal(r.code, 0, `${spec}: ${r.stderr}`);
    const got = (await loadNpy(`${out}/output.npy`)).data as Float32Array;
    const g = await importTfjsModel(`${root}packages/eval/models/${folder}/model.json`);
    const t = tf.tensor4d(x, [1, 64, 64, 3]);
    const tr = runForward(g, t, { keep: [] });
    const want = await tr.get(g.output).data() as Float32Array;
    assert.equal(got.length, want.length, spec);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-3, `${spec} ${i}`);
    tr.dispose();
    t.dispose();
    g.dispose();
    const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
    assert.equal(res.model, spec);
    if (name === "synth-fewshot") assert.equal(res.top5[0].label, null); // an embedding: no class names
    else {assert.equal(
        res.top5[0].label,
        ["circle", "triangle", "star", "ring", "cross", "stripes"][res.top5[0].class],
      );}
  }
  const bad = await cli("predict", "--model", "synth-nope", "--input", `${dir}/x.png`);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^cnnlens: Cannot read model 'synth-nope': no such file \(nor a zoo model/);
  await Deno.remove(dir, { recursive: true });
});
