import assert from "node:assert/strict";

import { cli, root } from "./_testing.ts";

Deno.test("cnnlens --help lists the commands and exits 0", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage:/);
  assert.match(r.stdout, /models/);
  assert.match(r.stdout, /layers/);
});

Deno.test("cnnlens <command> --help prints usage with examples for every command", async () => {
  const { commands } = await import("./main.ts");
  for (const name of Object.keys(commands)) {
    const r = await cli(name, "--help");
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, /Examples:/, name);
  }
});

Deno.test("cnnlens layers lists nodes with shapes; an unknown model is a one-line exit-2 error", async () => {
  const r = await cli("layers", "--model", "zoo:conv4", "--json", "--backend", "cpu");
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  const relu = rows.find((x: { name: string }) => x.name === "features.3.2");
  assert.deepEqual(relu.shape, [64, 10, 10]);
  assert.equal(relu.spatial, true);
  const bad = await cli("layers", "--model", "zoo:nope");
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /Unknown model 'zoo:nope'/);
  const cmd = await cli("frobnicate");
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /Unknown command 'frobnicate'/);
});

const fixtures = `${root}packages/core/testdata/onnx/`;

Deno.test("cnnlens predict on an ONNX fixture writes output.npy equal to PyTorch's and a result.json", async () => {
  const { loadNpy } = await import("@cnnlens/core");
  const out = await Deno.makeTempDir();
  const r = await cli(
    "predict",
    "--model",
    `${fixtures}resnet_basic_fused_op17.onnx`,
    "--input",
    `${fixtures}resnet_basic_input.npy`,
    "--out",
    out,
    "--backend",
    "cpu",
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assert.deepEqual(res.files.sort(), ["output.npy", "result.json"]);
  assert.equal(res.top5.length, 5);
  const got = (await loadNpy(`${out}/output.npy`)).data as Float32Array;
  const want = (await loadNpy(`${fixtures}resnet_basic_output.npy`)).data as Float32Array;
  assert.equal(got.length, 10);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `class ${i}`);
  const top = [...want.keys()].sort((a, b) => want[b] - want[a])[0];
  assert.equal(res.top5[0].class, top);
});

Deno.test("cnnlens predict: missing input, wrong tensor shape and a non-ONNX model are exit-2 one-liners", async () => {
  const model = `${fixtures}resnet_basic_fused_op17.onnx`;
  const cases: [string[], RegExp][] = [
    [["predict", "--model", model, "--input", "/nonexistent.png"], /Cannot read input '\/nonexistent.png'/],
    [
      ["predict", "--model", model, "--input", `${fixtures}mobilenetv2_025_input.npy`],
      /does not match the model input/,
    ],
    [
      ["predict", "--model", `${fixtures}resnet_basic_nodes.json`, "--input", "x.npy"],
      /Cannot (load|import) (model|TensorFlow.js model)/,
    ],
    [["predict", "--model", `${fixtures}se_block_input.npy`, "--input", "x.npy"], /Cannot parse ONNX model/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args, "--backend", "cpu");
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});
