import assert from "node:assert/strict";
import { encodePng, importTfjsModel, loadNpy, runForward, tf, useBackend } from "@cnnlens/core";
import { synthSample } from "@cnnlens/eval/synth";
import { configDefaults, type FlagSpecs, loadConfig } from "./config.ts";
import { parse } from "./args.ts";
import { UsageError } from "./errors.ts";
import { cli, root } from "./_testing.ts";

const vggDir = `${root}packages/eval/models/vgg_bn`;

const specs: Record<string, FlagSpecs> = {
  predict: { model: { type: "string" }, out: { type: "string" }, json: { type: "boolean" } },
  explain: {
    model: { type: "string" },
    out: { type: "string" },
    method: { type: "string" },
    layer: { type: "string", multiple: true },
    reference: { type: "string", multiple: true },
    class: { type: "string" },
    size: { type: "string" },
    help: { type: "boolean" },
  },
};

async function writeConfig(obj: unknown): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/cnnlens.json`, JSON.stringify(obj));
  return { dir, path: `${dir}/cnnlens.json` };
}

Deno.test("loadConfig() resolves paths against the file's folder and types values as the flags take them", async () => {
  const { dir, path } = await writeConfig({
    model: "m/model.json",
    labels: "names.txt",
    preprocessing: { size: [64, 64], scale: 1, mean: [127.5, 127.5, 127.5], std: [255, 255, 255] },
    options: { out: "results", json: true },
    explain: {
      method: "gradcam",
      layer: "conv1",
      reference: ["r.png", "/abs/r2.png"],
      class: 3,
      size: [32, 48],
    },
  });
  await Deno.writeTextFile(`${dir}/names.txt`, "a\nb\n");
  const c = await loadConfig(path, specs);
  assert.equal(c.model, `${dir}/m/model.json`);
  assert.deepEqual(c.preprocessing, {
    size: [64, 64],
    mean: [0.5, 0.5, 0.5],
    std: [1, 1, 1],
    labels: ["a", "b"],
  });
  assert.deepEqual(c.sections.options, { out: `${dir}/results`, json: true });
  assert.deepEqual(c.sections.explain, {
    method: "gradcam",
    layer: ["conv1"],
    reference: [`${dir}/r.png`, "/abs/r2.png"],
    class: "3",
    size: "32,48",
  });
  // A command gets its section over `options` over the top-level model, only for flags it has.
  assert.deepEqual(configDefaults(c, "predict", specs.predict), {
    model: `${dir}/m/model.json`,
    out: `${dir}/results`,
    json: true,
  });
  assert.equal(configDefaults(c, "explain", specs.explain).method, "gradcam");
  assert.equal(configDefaults(c, "explain", specs.explain).json, undefined); // explain has no --json here
  // zoo models stay names.
  const z = await writeConfig({ model: "synth-vgg", predict: { model: "zoo:resnet18" } });
  const cz = await loadConfig(z.path, specs);
  assert.equal(cz.model, "synth-vgg");
  assert.equal(cz.sections.predict.model, "zoo:resnet18");
  for (const d of [dir, z.dir]) await Deno.remove(d, { recursive: true });
});

Deno.test("loadConfig(): an unknown key or a wrong value is a UsageError naming it", async () => {
  const cases: [unknown, RegExp][] = [
    [
      { modle: "x" },
      /^Unknown key 'modle' in config '.*': use model, labels, preprocessing, options or a command name \(predict, explain\)$/,
    ],
    [{ options: { frob: 1 } }, /^Unknown key 'options.frob' in config '.*': no command has --frob$/],
    [
      { predict: { method: "gradcam" } },
      /^Unknown key 'predict.method' in config '.*': 'cnnlens predict' has no --method$/,
    ],
    [{ explain: { help: true } }, /^Unknown key 'explain.help'/],
    [{ predict: { json: "yes" } }, /'json' must be true or false, got "yes"/],
    [{ explain: { method: { a: 1 } } }, /'method' must be a string or a number/],
    [{ explain: [] }, /'explain' must be an object of flags/],
    [{ preprocessing: { mean: [1, 2] } }, /preprocessing: 'mean' must be 3 numbers/],
    [{ labels: [1, 2] }, /labels must be an array of strings/],
    [{ model: 3 }, /'model' must be a path or zoo:NAME/],
    [[], /it must be a JSON object/],
  ];
  for (const [obj, re] of cases) {
    const { dir, path } = await writeConfig(obj);
    await assert.rejects(() => loadConfig(path, specs), (e: Error) => {
      assert.ok(e instanceof UsageError, e.message);
      assert.match(e.message, re);
      return true;
    }, JSON.stringify(obj));
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(
    () => loadConfig("/nope/cnnlens.json", specs),
    /Cannot read config '\/nope\/cnnlens.json'/,
  );
});

Deno.test("parse(): the command line overrides config values, which override the flags' defaults", () => {
  const opts = {
    out: { type: "string", default: "def" },
    layer: { type: "string", multiple: true },
    backend: { type: "string", default: "auto" },
    json: { type: "boolean" },
  } as const;
  const fromFile = { out: "file-out", layer: ["a", "b"], json: true };
  const { values } = parse(["--layer", "c"], opts, fromFile);
  assert.deepEqual({ ...values }, { out: "file-out", layer: ["c"], backend: "auto", json: true });
  assert.deepEqual({ ...parse(["--out", "cli", "--backend", "cpu"], opts, fromFile).values }, {
    out: "cli",
    layer: ["a", "b"],
    backend: "cpu",
    json: true,
  });
  assert.deepEqual({ ...parse([], opts).values }, { out: "def", backend: "auto" });
});

Deno.test("cnnlens predict/explain --config: model, preprocessing, labels and defaults from the file; flags win", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/model`);
  const json = JSON.parse(await Deno.readTextFile(`${vggDir}/model.json`));
  delete json.userDefinedMetadata; // the config is the only source of preprocessing and names
  await Deno.writeTextFile(`${dir}/model/model.json`, JSON.stringify(json));
  await Deno.copyFile(`${vggDir}/weights.bin`, `${dir}/model/weights.bin`);
  await Deno.writeTextFile(`${dir}/names.txt`, ["o", "t", "s", "r", "c", "p"].join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/cnnlens.json`,
    JSON.stringify({
      model: "model/model.json",
      preprocessing: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      labels: "names.txt",
      options: { backend: "cpu", out: "results" },
      explain: { method: "gradcam", layer: ["relu3_1"] },
    }),
  );
  const s = synthSample("test", 3);
  await Deno.writeFile(`${dir}/x.png`, encodePng(s.image));
  const forward = async (mean: number[], std: number[]) => {
    await useBackend("cpu");
    const g = await importTfjsModel(`${vggDir}/model.json`);
    const x = Float32Array.from(s.image.data, (p, i) => (p / 255 - mean[i % 3]) / std[i % 3]);
    const t = tf.tensor4d(x, [1, 64, 64, 3]);
    const tr = runForward(g, t, { keep: [] });
    const y = Float32Array.from(await tr.get(g.output).data() as Float32Array);
    tr.dispose();
    t.dispose();
    g.dispose();
    return y;
  };
  const close = (a: Float32Array, b: Float32Array) =>
    a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-3);

  // The test runs the CLI from the repository root: relative paths in the file are the file's folder's.
  const r = await cli("predict", "--config", `${dir}/cnnlens.json`, "--input", `${dir}/x.png`);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${dir}/results/result.json`));
  assert.equal(res.backend, "cpu");
  assert.equal(res.model, `${dir}/model/model.json`);
  for (const t of res.top5) assert.equal(t.label, ["o", "t", "s", "r", "c", "p"][t.class]);
  const got = (await loadNpy(`${dir}/results/output.npy`)).data as Float32Array;
  assert.ok(close(got, await forward([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])));
  assert.ok(!close(got, await forward([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])));

  // Command-line flags win, field by field: --std replaces the file's std, its mean stays.
  const r2 = await cli(
    "predict",
    "--config",
    `${dir}/cnnlens.json`,
    "--input",
    `${dir}/x.png`,
    "--std",
    "0.2",
    "--out",
    `${dir}/o2`,
  );
  assert.equal(r2.code, 0, r2.stderr);
  const got2 = (await loadNpy(`${dir}/o2/output.npy`)).data as Float32Array;
  assert.ok(close(got2, await forward([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])));

  // explain takes its section: method and layer from the file; --layer on the command line replaces it.
  const e1 = await cli(
    "explain",
    `--config=${dir}/cnnlens.json`,
    "--input",
    `${dir}/x.png`,
    "--out",
    `${dir}/e1`,
  );
  assert.equal(e1.code, 0, e1.stderr);
  const r1 = JSON.parse(await Deno.readTextFile(`${dir}/e1/result.json`));
  assert.equal(r1.method, "gradcam");
  assert.deepEqual(r1.layers, ["relu3_1"]);
  assert.equal(r1.decision.label, ["o", "t", "s", "r", "c", "p"][r1.decision.class]);
  // The flag may also come before the command.
  const e3 = await cli(
    "--config",
    `${dir}/cnnlens.json`,
    "explain",
    "--input",
    `${dir}/x.png`,
    "--out",
    `${dir}/e3`,
  );
  assert.equal(e3.code, 0, e3.stderr);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/e3/result.json`)).method, "gradcam");
  const e2 = await cli(
    "explain",
    "--config",
    `${dir}/cnnlens.json`,
    "--input",
    `${dir}/x.png`,
    "--out",
    `${dir}/e2`,
    "--layer",
    "relu2_2",
  );
  assert.equal(e2.code, 0, e2.stderr);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/e2/result.json`)).layers, ["relu2_2"]);

  // An unknown key: exit 2, one line, the key named.
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ predict: { methdo: "x" } }));
  const bad = await cli("predict", "--config", `${dir}/bad.json`, "--input", `${dir}/x.png`);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    `cnnlens: Unknown key 'predict.methdo' in config '${dir}/bad.json': 'cnnlens predict' has no --methdo\n`,
  );
  await Deno.remove(dir, { recursive: true });
});
