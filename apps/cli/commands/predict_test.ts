import assert from "node:assert/strict";
import {
  encodePng,
  importTfjsModel,
  loadNpy,
  type RgbImage,
  runForward,
  tf,
  useBackend,
} from "@cnnlens/core";
import { synthSample } from "@cnnlens/eval/synth";
import { cli, root } from "../_testing.ts";

const vgg = `${root}packages/eval/models/vgg_bn/model.json`;
const CLASSES = ["circle", "triangle", "star", "ring", "cross", "stripes"];

/**
 * The model's logits for a 64×64 image normalised by hand: x[y, x, c] = (p / 255 − mean[c]) / std[c]
 * (no resizing: the picture is the model's size).
 */
async function logits(model: string, img: RgbImage, mean: number[], std: number[]): Promise<Float32Array> {
  await useBackend("cpu");
  const g = await importTfjsModel(model);
  const x = new Float32Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = (img.data[i] / 255 - mean[i % 3]) / std[i % 3];
  const t = tf.tensor4d(x, [1, img.height, img.width, 3]);
  const tr = runForward(g, t, { keep: [] });
  const out = Float32Array.from(await tr.get(g.output).data() as Float32Array);
  tr.dispose();
  t.dispose();
  g.dispose();
  return out;
}

function assertClose(got: Float32Array, want: Float32Array, tol = 1e-3) {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) < tol, `${i}: ${got[i]} vs ${want[i]}`);
  }
}

async function samplePng(i: number): Promise<{ path: string; img: RgbImage; label: number }> {
  const s = synthSample("test", i);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sample${i}.png`;
  await Deno.writeFile(path, encodePng(s.image));
  return { path, img: s.image, label: s.label };
}

Deno.test("cnnlens predict on an eval model.json: class names and mean/std from its userDefinedMetadata", async () => {
  const { path, img, label } = await samplePng(2); // a star
  const out = await Deno.makeTempDir();
  const r = await cli("predict", "--model", vgg, "--input", path, "--out", out, "--backend", "cpu");
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  const got = (await loadNpy(`${out}/output.npy`)).data as Float32Array;
  // The metadata says ImageNet mean/std (the training normalisation).
  const want = await logits(vgg, img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  assertClose(got, want);
  const order = [...want.keys()].sort((a, b) => want[b] - want[a]);
  assert.equal(order[0], label);
  assert.deepEqual(res.top5.map((t: { class: number }) => t.class), order.slice(0, 5));
  for (const t of res.top5) assert.equal(t.label, CLASSES[t.class]);
  // stdout names the classes, best first.
  assert.match(r.stdout, /^top-1: class 2 \(star\) /);
  for (const c of order.slice(1, 5)) assert.match(r.stdout, new RegExp(`class ${c} \\(${CLASSES[c]}\\)`));
});

Deno.test("cnnlens predict: a model.json's own mean/std/scale/labels are used when the user gives none; flags win", async () => {
  // A copy of vgg_bn whose metadata declares other preprocessing: 0..255 pixels (scale 1) minus 127.5,
  // over 64 → in [0, 1] units mean 0.5, std 64/255. The output must follow it (and so differ from ImageNet's).
  const dir = await Deno.makeTempDir();
  const json = JSON.parse(await Deno.readTextFile(vgg));
  json.userDefinedMetadata = {
    labels: ["a0", "a1", "a2", "a3", "a4", "a5"],
    input: { shape: [64, 64, 3], layout: "NHWC", scale: 1, mean: [127.5, 127.5, 127.5], std: [64, 64, 64] },
  };
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(json));
  await Deno.copyFile(`${root}packages/eval/models/vgg_bn/weights.bin`, `${dir}/weights.bin`);
  const { path, img } = await samplePng(4);
  const out = await Deno.makeTempDir();
  const r = await cli(
    "predict",
    "--model",
    `${dir}/model.json`,
    "--input",
    path,
    "--out",
    out,
    "--backend",
    "cpu",
  );
  assert.equal(r.code, 0, r.stderr);
  const got = (await loadNpy(`${out}/output.npy`)).data as Float32Array;
  const want = await logits(vgg, img, [0.5, 0.5, 0.5], [64 / 255, 64 / 255, 64 / 255]);
  assertClose(got, want);
  const imagenet = await logits(vgg, img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  assert.ok(Math.max(...got.map((v, i) => Math.abs(v - imagenet[i]))) > 0.1, "metadata ignored?");
  const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  for (const t of res.top5) assert.equal(t.label, `a${t.class}`);

  // --mean/--std on the command line override the metadata.
  const out2 = await Deno.makeTempDir();
  const r2 = await cli(
    "predict",
    "--model",
    `${dir}/model.json`,
    "--input",
    path,
    "--out",
    out2,
    "--backend",
    "cpu",
    "--mean",
    "0.4,0.5,0.6",
    "--std",
    "0.3",
  );
  assert.equal(r2.code, 0, r2.stderr);
  assertClose(
    (await loadNpy(`${out2}/output.npy`)).data as Float32Array,
    await logits(vgg, img, [0.4, 0.5, 0.6], [0.3, 0.3, 0.3]),
  );

  // Labels that do not fit the model, or a size the model cannot take, are one-line usage errors.
  await Deno.writeTextFile(`${dir}/three.txt`, "x\ny\nz\n");
  const bad = await cli(
    "predict",
    "--model",
    `${dir}/model.json`,
    "--input",
    path,
    "--labels",
    `${dir}/three.txt`,
  );
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^cnnlens: Cannot use labels: 3 names for a model with 6 outputs\n$/);
  const size = await cli("predict", "--model", `${dir}/model.json`, "--input", path, "--size", "32");
  assert.equal(size.code, 2, size.stderr);
  assert.match(size.stderr, /^cnnlens: Cannot use input size 32×32: the model's input is fixed at 64×64\n$/);
  for (const d of [dir, out, out2]) await Deno.remove(d, { recursive: true });
});

Deno.test("cnnlens predict: a model.json with unknown spatial dimensions takes --size, else its metadata's shape", async () => {
  const dir = await Deno.makeTempDir();
  const text = await Deno.readTextFile(vgg);
  const dynamic = text.replace(
    '"batch_input_shape": [null, 64, 64, 3]',
    '"batch_input_shape": [null, null, null, 3]',
  );
  assert.notEqual(dynamic, text);
  const json = JSON.parse(dynamic);
  const meta = json.userDefinedMetadata;
  delete json.userDefinedMetadata;
  await Deno.writeTextFile(`${dir}/bare.json`, JSON.stringify(json));
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ ...json, userDefinedMetadata: meta }));
  await Deno.copyFile(`${root}packages/eval/models/vgg_bn/weights.bin`, `${dir}/weights.bin`);
  const { path, img } = await samplePng(1);
  const want = await logits(vgg, img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  const none = await cli("predict", "--model", `${dir}/bare.json`, "--input", path, "--backend", "cpu");
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /unknown input dimension .* pass the input size \(--size H,W, or preprocessing.size in --config\)\n$/,
  );
  for (
    const [model, extra] of [[`${dir}/bare.json`, ["--size", "64,64"]], [`${dir}/meta.json`, []]] as const
  ) {
    const out = await Deno.makeTempDir();
    const r = await cli(
      "predict",
      "--model",
      model,
      "--input",
      path,
      "--out",
      out,
      "--backend",
      "cpu",
      ...extra,
    );
    assert.equal(r.code, 0, r.stderr);
    assertClose((await loadNpy(`${out}/output.npy`)).data as Float32Array, want);
    await Deno.remove(out, { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
});
