import assert from "node:assert/strict";
import { parseShardSpec, shard, ShardError, shardIndices } from "./shard.ts";

Deno.test("shardIndices() partitions 0..N−1 exactly, for many (n, size) pairs and both modes", () => {
  for (let total = 0; total <= 60; total++) {
    for (let count = 1; count <= 13; count++) {
      for (const mode of ["contiguous", "round-robin"] as const) {
        const seen = new Int32Array(total);
        const sizes: number[] = [];
        const all: number[] = [];
        for (let i = 0; i < count; i++) {
          const idx = shardIndices(total, i, count, mode);
          sizes.push(idx.length);
          for (let k = 1; k < idx.length; k++) assert.ok(idx[k] > idx[k - 1], "ascending");
          for (const v of idx) {
            assert.ok(v >= 0 && v < total);
            seen[v]++;
          }
          all.push(...idx);
        }
        assert.ok(seen.every((c) => c === 1), `every item exactly once (N=${total}, n=${count}, ${mode})`);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, "balanced");
        if (mode === "contiguous") assert.deepEqual(all, Array.from({ length: total }, (_, i) => i));
        else {for (let i = 0; i < count; i++) {
            assert.ok(shardIndices(total, i, count, mode).every((v) => v % count === i));
          }}
      }
    }
  }
  // Shards scale to many items without gaps (floor arithmetic at large N).
  const big = 1_000_003;
  let covered = 0;
  for (let i = 0; i < 7; i++) covered += shardIndices(big, i, 7).length;
  assert.equal(covered, big);
});

Deno.test("shard() returns the items of one shard; parseShardSpec() reads i/n", () => {
  const items = ["a", "b", "c", "d", "e", "f", "g"];
  assert.deepEqual([0, 1, 2].map((i) => shard(items, i, 3)), [["a", "b"], ["c", "d"], ["e", "f", "g"]]);
  assert.deepEqual([0, 1, 2].map((i) => shard(items, i, 3, "round-robin")), [["a", "d", "g"], ["b", "e"], [
    "c",
    "f",
  ]]);
  assert.deepEqual(shard(items, 0, 10), []); // more shards than items: some are empty
  assert.deepEqual(shard(items, 9, 10), ["g"]);
  assert.deepEqual(parseShardSpec(" 0 / 1 "), { index: 0, count: 1 });
  assert.throws(() => parseShardSpec("1/0"), /shard count 0/);
  assert.throws(() => parseShardSpec("4/4"), /must be an integer in 0\.\.3 \(0-based\)/);
  assert.throws(() => parseShardSpec("-1/4"), ShardError);
  assert.throws(() => parseShardSpec("a/b"), /expected i\/n/);
  assert.throws(() => shardIndices(5, 0, 2, "random" as "contiguous"), /Unknown shard mode/);
});
