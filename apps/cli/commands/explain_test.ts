import assert from "node:assert/strict";
import { cli } from "../_testing.ts";
import { encodePng, loadNpy } from "@cnnlens/core";

const root = new URL("../../../", import.meta.url).pathname;
const fx = `${root}packages/core/testdata/onnx/`;
const model = `${fx}resnet_basic_fused_op17.onnx`;

async function pngFolder(n: number, corrupt: boolean): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(40 * 40 * 3).map((_, k) => (k * (i + 3) * 7) % 256);
    await Deno.writeFile(`${dir}/img${i}.png`, encodePng({ width: 40, height: 40, data }));
  }
  if (corrupt) await Deno.writeFile(`${dir}/broken.png`, new TextEncoder().encode("definitely not a png"));
  return dir;
}

Deno.test("cnnlens explain --method gradcam writes map.npy at the layer's resolution, overlay.png and result.json", async () => {
  const out = await Deno.makeTempDir();
  const layer = "/layer2/layer2.0/relu2/Relu";
  const r = await cli(
    "explain",
    "--model",
    model,
    "--input",
    `${fx}resnet_basic_input.npy`,
    "--method",
    "gradcam",
    "--layer",
    layer,
    "--class",
    "4",
    "--out",
    out,
    "--repeat",
    "2",
    "--backend",
    "cpu",
  );
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assert.equal(res.method, "gradcam");
  assert.equal(res.decision.class, 4);
  assert.deepEqual(res.layers, [layer]);
  assert.equal(res.timings.runs, 2);
  assert.ok(res.timings.explain_ms > 0);
  assert.deepEqual(res.files.sort(), ["map.npy", "overlay.png", "result.json"]);
  const map = await loadNpy(`${out}/map.npy`);
  assert.deepEqual(map.shape, [8, 8]); // layer2 of the 32×32 fixture is 16 channels × 8 × 8
  assert.ok((map.data as Float32Array).every((v) => v >= 0 && Number.isFinite(v)));
  const png = await Deno.readFile(`${out}/overlay.png`);
  assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]);
});

Deno.test("cnnlens explain: a folder with one corrupt image explains the rest, names the bad one, exits 1", async () => {
  const dir = await pngFolder(3, true);
  const out = await Deno.makeTempDir();
  const r = await cli(
    "explain",
    "--model",
    model,
    "--input",
    dir,
    "--method",
    "gradcam",
    "--out",
    out,
    "--backend",
    "cpu",
    "--report",
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /broken\.png/);
  for (const n of ["img0", "img1", "img2"]) {
    const res = JSON.parse(await Deno.readTextFile(`${out}/${n}/result.json`));
    assert.equal(res.method, "gradcam");
  }
  const batch = JSON.parse(await Deno.readTextFile(`${out}/batch.json`));
  assert.deepEqual(batch.done, ["img0", "img1", "img2"]);
  assert.equal(batch.failed.length, 1);
  const html = await Deno.readTextFile(`${out}/report.html`);
  assert.equal((html.match(/<section>/g) ?? []).length, 3);
});

Deno.test("cnnlens explain --shard i/n partitions a batch exactly", async () => {
  const dir = await pngFolder(5, false);
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    const out = await Deno.makeTempDir();
    const r = await cli(
      "explain",
      "--model",
      model,
      "--input",
      dir,
      "--method",
      "random",
      "--out",
      out,
      "--shard",
      `${i}/2`,
      "--backend",
      "cpu",
    );
    assert.equal(r.code, 0, r.stderr);
    seen.push(...JSON.parse(await Deno.readTextFile(`${out}/batch.json`)).done);
  }
  assert.deepEqual(seen.sort(), ["img0", "img1", "img2", "img3", "img4"]);
});

Deno.test("cnnlens explain: bad inputs are exit-2 one-liners with the expected message", async () => {
  const x = `${fx}resnet_basic_input.npy`;
  const cases: [string[], RegExp][] = [
    [["--method", "gradcam", "--input", "/nope.png"], /Cannot read input '\/nope.png'/],
    [["--method", "gradcam", "--input", `${fx}manifest.json`], /Cannot decode image|not a PNG or JPEG/],
    [
      ["--method", "gradcam", "--input", x, "--class", "10"],
      /Class 10 is out of range: the model has classes 0\.\.9/,
    ],
    [
      ["--method", "gradcam", "--input", x, "--layer", "/layer2/layer2.0/relu2/Rel"],
      /Cannot find layer '\/layer2\/layer2.0\/relu2\/Rel': did you mean '\/layer2\/layer2.0\/relu2\/Relu'/,
    ],
    [["--method", "frobcam", "--input", x], /Unknown method 'frobcam'/],
    [["--method", "gradcam", "--input", x, "--shard", "3/2"], /--shard must be i\/n/],
  ];
  for (const [args, re] of cases) {
    const r = await cli("explain", "--model", model, ...args, "--backend", "cpu");
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("cnnlens explain: naflow, gap, iom and fam write the contract's files", async () => {
  const x = `${fx}resnet_basic_input.npy`;
  const want: Record<string, (files: string[], out: string) => Promise<void>> = {
    naflow: async (files, out) => {
      const flow = JSON.parse(await Deno.readTextFile(`${out}/flow.json`));
      assert.ok(flow.layers.length >= 3);
      assert.equal(flow.layers.at(-1).name, "/layer3/layer3.0/relu2/Relu"); // ends at the last spatial layer
      for (let i = 0; i < flow.layers.length; i++) {
        const m = await loadNpy(`${out}/map_${i}.npy`);
        assert.deepEqual(m.shape, flow.layers[i].shape.slice(1));
      }
      assert.ok(files.includes("flow.png"));
    },
    gap: async (files, out) => {
      const tree = JSON.parse(await Deno.readTextFile(`${out}/tree.json`));
      assert.equal(tree.alpha.length, 32);
      const c = tree.children.map((n: { contribution: number }) => n.contribution);
      assert.deepEqual(c, [...c].sort((a: number, b: number) => b - a));
      assert.ok(files.some((f) => /^node_.*\.png$/.test(f)));
    },
    iom: async (_files, out) => {
      for (const f of ["map.npy", "rexc_pos.npy", "rexc_neg.npy"]) {
        const m = await loadNpy(`${out}/${f}`);
        assert.deepEqual(m.shape, [3, 32, 32]);
      }
      const map = (await loadNpy(`${out}/map.npy`)).data as Float32Array;
      assert.ok(map.every((v) => v >= -1 && v <= 1));
      assert.equal(Math.max(...map.map(Math.abs)), 1);
    },
    fam: async (_files, out) => {
      const c = await loadNpy(`${out}/contributions.npy`);
      assert.deepEqual(c.shape, [32]);
      const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
      // One reference: the cosine contributions sum to sign(cos) (FAM's percentage reading).
      const sum = (c.data as Float32Array).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - Math.sign(res.similarity.mean)) < 1e-4, `Σc = ${sum}`);
    },
  };
  for (const [method, check] of Object.entries(want)) {
    const out = await Deno.makeTempDir();
    const extra = method === "fam" ? ["--reference", `${fx}resnet_basic_input.npy`] : [];
    const r = await cli(
      "explain",
      "--model",
      model,
      "--input",
      x,
      "--method",
      method,
      "--out",
      out,
      "--backend",
      "cpu",
      ...extra,
    );
    assert.equal(r.code, 0, `${method}: ${r.stderr}`);
    const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
    assert.equal(res.method, method);
    await check(res.files, out);
  }
});
