import assert from "node:assert/strict";
import { mergeShards } from "./merge.ts";
import { type EvalRecord, type EvalResults, makeResults } from "./records.ts";
import { parseResults, resultsToJson } from "./report.ts";
import { shard, type ShardMode } from "./shard.ts";
import { testRng } from "./_testing.ts";

const methods = ["gradcam", "fam"];
const config = { model: "zoo:tiny", methods, metrics: ["iou", "iom"] };

function allRecords(total: number): EvalRecord[] {
  const rand = testRng(total);
  const out: EvalRecord[] = [];
  for (let i = 0; i < total; i++) {
    for (const m of methods) {
      out.push({
        index: i,
        image: `img/${i}.png`,
        label: i % 5,
        method: m,
        metrics: { iou: rand(), explanation_score: rand(), average_drop: i % 4 === 0 ? null : rand() },
      });
    }
  }
  return out;
}

function shardResults(total: number, count: number, mode: ShardMode): EvalResults[] {
  const recs = allRecords(total);
  const items = Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, s) => {
    const mine = new Set(shard(items, s, count, mode));
    return makeResults({
      shard: { index: s, count, mode },
      total,
      config,
      records: recs.filter((r) => mine.has(r.index)),
    });
  });
}

Deno.test("mergeShards() round trip: shards (through JSON) merge back to the unsharded results", () => {
  for (const mode of ["contiguous", "round-robin"] as const) {
    for (const [total, count] of [[23, 4], [5, 5], [3, 7], [1, 1]]) {
      const whole = makeResults({ total, config, records: allRecords(total) });
      const parts = shardResults(total, count, mode)
        .map((p) => parseResults(resultsToJson(p)))
        .reverse();
      const merged = mergeShards(parts);
      assert.deepEqual(merged, { ...whole, shard: { index: 0, count: 1, mode } });
      assert.ok(merged.summary.gradcam.win !== undefined); // %Win over all images, after the merge
    }
  }
});

Deno.test("mergeShards() rejects missing, repeated, overlapping, incomplete and mismatched shards", () => {
  const parts = shardResults(10, 3, "contiguous");
  assert.throws(() => mergeShards([parts[0], parts[2]]), /^ShardError: Cannot merge: missing shard 1 of 3$/);
  assert.throws(() => mergeShards([]), /no shard results/);
  assert.throws(() => mergeShards([parts[0], parts[1], parts[1], parts[2]]), /shard 1\/3 is given twice/);
  // A record of item 0 (shard 0's) turning up in shard 1 as well.
  const overlap = { ...parts[1], records: [...parts[1].records, parts[0].records[0]] };
  assert.throws(
    () => mergeShards([parts[0], overlap, parts[2]]),
    /shard 1\/3 has item 0 \(img\/0\.png\), which belongs to shard 0\/3: the shards overlap/,
  );
  // Two records for the same item and method.
  const twice = { ...parts[1], records: [...parts[1].records, parts[1].records[0]] };
  assert.throws(
    () => mergeShards([parts[0], twice, parts[2]]),
    /item 3 \(img\/3\.png\) has two records for method 'gradcam'/,
  );
  // A shard that stopped early: its last item has no records, or one method is missing.
  const cut = { ...parts[2], records: parts[2].records.slice(0, -2) };
  assert.throws(
    () => mergeShards([parts[0], parts[1], cut]),
    /item 9 has no record for every method \(shard 2\/3 is incomplete\)/,
  );
  const half = { ...parts[2], records: parts[2].records.slice(0, -1) };
  assert.throws(() => mergeShards([parts[0], parts[1], half]), /item 9 has no record/);
  // Different runs.
  const other = shardResults(10, 3, "round-robin");
  assert.throws(() => mergeShards([parts[0], other[1], parts[2]]), /different splits/);
  const otherTotal = shardResults(11, 3, "contiguous");
  assert.throws(
    () => mergeShards([parts[0], parts[1], otherTotal[2]]),
    /has 11 manifest items, shard 0\/3 has 10/,
  );
  const otherModel = { ...parts[1], config: { ...config, model: "zoo:other" } };
  assert.throws(() => mergeShards([parts[0], otherModel, parts[2]]), /differ in config \(model\)/);
  assert.throws(
    () => mergeShards([parts[0], { format: "x" } as unknown as EvalResults]),
    /part 2 is not a cnnlens eval results/,
  );
  const outside = { ...parts[2], records: [...parts[2].records, { ...parts[2].records[0], index: 10 }] };
  assert.throws(() => mergeShards([parts[0], parts[1], outside]), /item 10, outside 0\.\.9/);
});
