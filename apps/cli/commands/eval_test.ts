import assert from "node:assert/strict";
import { cli } from "../_testing.ts";
import { encodePng } from "@cnnlens/core";

const root = new URL("../../../", import.meta.url).pathname;
const model = `${root}packages/core/testdata/onnx/resnet_basic_fused_op17.onnx`;

async function manifest(n: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(64 * 48 * 3).map((_, k) => (k * (i + 5) * 13) % 256);
    await Deno.writeFile(`${dir}/im${i}.png`, encodePng({ width: 64, height: 48, data }));
    lines.push(JSON.stringify({ image: `im${i}.png`, label: i % 10, boxes: [[8, 8, 40, 32]] }));
  }
  await Deno.writeTextFile(`${dir}/m.jsonl`, lines.join("\n") + "\n");
  return `${dir}/m.jsonl`;
}

Deno.test("cnnlens eval: metrics per image × method; 2 shards merged equal the unsharded run", async () => {
  const m = await manifest(3);
  const args = [
    "--model",
    model,
    "--manifest",
    m,
    "--method",
    "gradcam,random",
    "--metrics",
    "proportion,iou,fam",
    "--backend",
    "cpu",
  ];
  const full = await Deno.makeTempDir();
  const r = await cli("eval", ...args, "--out", full);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${full}/results.json`));
  assert.equal(res.records.length, 6);
  for (const rec of res.records) {
    assert.ok(rec.metrics.proportion >= 0 && rec.metrics.proportion <= 1, JSON.stringify(rec));
    assert.ok(rec.metrics.iou >= 0 && rec.metrics.iou <= 1);
    assert.ok(Number.isFinite(rec.metrics.average_drop));
  }
  for (const f of ["records.csv", "summary.csv", "report.html"]) {
    assert.ok((await Deno.stat(`${full}/${f}`)).size > 0);
  }
  const parts: string[] = [];
  for (const s of ["0/2", "1/2"]) {
    const d = await Deno.makeTempDir();
    const p = await cli("eval", ...args, "--shard", s, "--out", d);
    assert.equal(p.code, 0, p.stderr);
    parts.push(d);
  }
  const merged = await Deno.makeTempDir();
  const mr = await cli("eval", "merge", "--out", merged, ...parts);
  assert.equal(mr.code, 0, mr.stderr);
  const mres = JSON.parse(await Deno.readTextFile(`${merged}/results.json`));
  const key = (x: { index: number; method: string }) => `${x.index}/${x.method}`;
  const byKey = new Map(res.records.map((x: { index: number; method: string }) => [key(x), x]));
  assert.equal(mres.records.length, 6);
  for (const rec of mres.records) {
    assert.deepEqual(rec.metrics, (byKey.get(key(rec)) as { metrics: unknown }).metrics);
  }
  const missing = await cli("eval", "merge", "--out", merged, parts[0]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
});
