import assert from "node:assert/strict";
import { cli } from "../_testing.ts";
import { type BenchRow, benchTable } from "./bench.ts";

Deno.test("cnnlens bench times the methods it is given, reports ratios consistently, skips what cannot run", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli(
    "bench",
    "--model",
    "synth-vgg",
    "--method",
    "gradcam",
    "--method",
    "cam",
    "--method",
    "fam",
    "--runs",
    "2",
    "--json",
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.model, "synth-vgg");
  assert.equal(res.runs, 2);
  assert.ok(res.forward_ms > 0);
  const by = new Map<string, BenchRow>(res.methods.map((m: BenchRow) => [m.method, m]));
  assert.deepEqual([...by.keys()], ["gradcam", "cam", "fam"]);
  for (const id of ["gradcam", "fam"]) {
    const m = by.get(id)!;
    assert.equal(m.skipped, undefined, `${id}: ${m.skipped}`);
    assert.ok(m.min_ms! > 0 && m.min_ms! <= m.median_ms!, id);
    assert.ok(Math.abs(m.ratio! - m.median_ms! / res.forward_ms) < 1e-9, id);
    assert.ok(m.peak_mib! > 0, id);
    assert.equal(m.leaked_tensors, 0, id);
  }
  // VGG's classifier is not a GAP + FC head: CAM cannot run, and the reason is given.
  assert.match(by.get("cam")!.skipped!, /global average pooling/);
  assert.equal(by.get("cam")!.median_ms, null);
  // --out writes the same figures as result.json.
  const saved = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assert.deepEqual(
    saved.methods.map((m: BenchRow) => m.median_ms),
    res.methods.map((m: BenchRow) => m.median_ms),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("cnnlens bench: usage errors exit 2 with one line", async () => {
  const r = await cli("bench", "--model", "synth-vgg", "--method", "nope");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^cnnlens: Unknown method 'nope': use one of naflow, fam/);
  const n = await cli("bench", "--model", "synth-vgg", "--runs", "0");
  assert.equal(n.code, 2);
  assert.match(n.stderr, /--runs must be at least 1/);
  const h = await cli("bench", "--help");
  assert.equal(h.code, 0);
  assert.match(h.stdout, /cnnlens bench --model M/);
});

Deno.test("benchTable() aligns the columns and prints skipped methods with their reason", () => {
  const t = benchTable({
    model: "m",
    backend: "cpu",
    runs: 3,
    forward_ms: 2,
    methods: [
      { method: "gradcam", median_ms: 4, min_ms: 3.5, ratio: 2, peak_mib: 1.25, leaked_tensors: 0 },
      {
        method: "cam",
        median_ms: null,
        min_ms: null,
        ratio: null,
        peak_mib: null,
        leaked_tensors: null,
        skipped: "no head",
      },
    ],
  }).split("\n");
  assert.equal(t[0], "m on cpu: forward 2.0 ms (median of 3)");
  assert.equal(t[1], "method   median ms  min ms  × forward  peak MiB  leaked");
  assert.equal(t[2], "gradcam        4.0     3.5        2.0       1.3       0");
  assert.equal(t[3], "cam      not run: no head");
});
