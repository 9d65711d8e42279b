import assert from "node:assert/strict";
import { type EvalRecord, makeResults, metricValue, summarize, WIN_KEY, WIN_METRIC } from "./records.ts";
import { assertClose } from "./_testing.ts";

const rec = (index: number, method: string, metrics: Record<string, number | null>): EvalRecord => ({
  index,
  image: `${index}.png`,
  method,
  metrics,
});

Deno.test("summarize() gives mean, sample std and count of finite values per method and metric", () => {
  const s = summarize([
    rec(0, "a", { iou: 0.2, ad: 1 }),
    rec(1, "a", { iou: 0.4, ad: null }),
    rec(2, "a", { iou: 0.9 }),
    rec(0, "b", { iou: 0.5 }),
  ]);
  assertClose(s.a.iou.mean!, 0.5, 1e-15);
  // Sample std of [.2, .4, .9]: deviations [−.3, −.1, .4], Σd² = .26, / 2 → √.13.
  assertClose(s.a.iou.std!, Math.sqrt(0.13), 1e-15);
  assert.equal(s.a.iou.count, 3);
  assert.deepEqual(s.a.ad, { mean: 1, std: null, count: 1 });
  assert.deepEqual(s.b.iou, { mean: 0.5, std: null, count: 1 });
  assert.deepEqual(Object.keys(s), ["a", "b"]);
  assert.deepEqual(summarize([rec(0, "a", { x: null })]).a.x, { mean: null, std: null, count: 0 });
});

Deno.test("summarize() adds %Win across methods from the explanation scores", () => {
  const s = summarize([
    rec(0, "a", { [WIN_METRIC]: 0.9 }),
    rec(0, "b", { [WIN_METRIC]: 0.5 }),
    rec(1, "a", { [WIN_METRIC]: 0.1 }),
    rec(1, "b", { [WIN_METRIC]: 0.3 }),
    rec(2, "a", { [WIN_METRIC]: 0.4 }),
    rec(2, "b", { [WIN_METRIC]: 0.4 }),
    rec(3, "b", { [WIN_METRIC]: 0.1 }), // a has no record for image 3: b wins it
  ]);
  assert.deepEqual(s.a[WIN_KEY], { mean: 1.5 / 4, std: null, count: 4 });
  assert.deepEqual(s.b[WIN_KEY], { mean: 2.5 / 4, std: null, count: 4 });
  // One method alone: no %Win.
  assert.equal(summarize([rec(0, "a", { [WIN_METRIC]: 1 })]).a[WIN_KEY], undefined);
});

Deno.test("makeResults() sorts records by item then config method order; metricValue() drops NaN", () => {
  const r = makeResults({
    shard: { index: 1, count: 3, mode: "round-robin" },
    total: 9,
    config: { methods: ["z", "a"] },
    records: [rec(4, "a", {}), rec(1, "a", {}), rec(1, "z", {}), rec(4, "z", {})],
  });
  assert.deepEqual(r.records.map((x) => [x.index, x.method]), [[1, "z"], [1, "a"], [4, "z"], [4, "a"]]);
  assert.deepEqual(r.shard, { index: 1, count: 3, mode: "round-robin" });
  assert.deepEqual([metricValue(NaN), metricValue(Infinity), metricValue(undefined), metricValue(-2)], [
    null,
    null,
    null,
    -2,
  ]);
});
