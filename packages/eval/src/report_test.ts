import assert from "node:assert/strict";
import { makeResults } from "./records.ts";
import { parseResults, recordsToCsv, resultsToHtml, resultsToJson, summaryToCsv } from "./report.ts";

const results = makeResults({
  shard: { index: 0, count: 2 },
  total: 4,
  config: { methods: ["gradcam"], note: "<b>" },
  records: [
    { index: 0, image: 'a "quoted", name.png', label: 1, method: "gradcam", metrics: { iou: 0.5, ad: null } },
    { index: 1, image: "b.png", method: "gradcam", metrics: { iou: 0.25 }, error: "line1\nline2" },
  ],
});

Deno.test("recordsToCsv() quotes per RFC 4180 and leaves missing values empty", () => {
  assert.equal(
    recordsToCsv(results.records),
    'index,image,label,method,iou,ad,error\n0,"a ""quoted"", name.png",1,gradcam,0.5,,\n1,b.png,,gradcam,0.25,,"line1\nline2"\n',
  );
  assert.equal(recordsToCsv([]), "index,image,label,method,error\n");
});

Deno.test("summaryToCsv() has one row per method and metric", () => {
  assert.equal(
    summaryToCsv(results.summary),
    `method,metric,mean,std,count\ngradcam,iou,0.375,${Math.sqrt(2 * 0.125 ** 2)},2\ngradcam,ad,,,0\n`,
  );
});

Deno.test("resultsToJson() / parseResults() round trip, NaN written as null, bad files rejected", () => {
  const withNaN = { ...results, summary: { m: { x: { mean: NaN, std: null, count: 0 } } } };
  assert.equal(JSON.parse(resultsToJson(withNaN)).summary.m.x.mean, null);
  assert.deepEqual(parseResults(resultsToJson(results)), results);
  assert.throws(() => parseResults("{", "s0.json"), /^ShardError: s0\.json: not valid JSON/);
  assert.throws(
    () => parseResults('{"format": "other"}', "s0.json"),
    /s0\.json: not a cnnlens eval results document/,
  );
});

Deno.test("resultsToHtml() is self-contained, escapes text and shows mean ± std (n)", () => {
  const html = resultsToHtml(results, { title: "Run <1>" });
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<title>Run &#60;1&#62;<\/title>/);
  assert.match(html, /0\.3750 ± 0\.1768 <span class="n">\(2\)<\/span>/);
  assert.match(html, /a &#34;quoted&#34;, name\.png/);
  assert.match(html, /shard 0\/2 \(contiguous\)/);
  assert.ok(!/<script|src=|href=/.test(html), "no scripts or external resources");
  assert.ok(!html.includes("<b>"), "config is escaped");
  const capped = resultsToHtml(results, { maxRows: 1 });
  assert.match(capped, /Showing 1 of 2 rows/);
});
