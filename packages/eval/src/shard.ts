/**
 * Splitting a manifest into shards for job arrays (Kubernetes indexed Jobs, Slurm arrays): shard `i` of
 * `n` (0-based, `0 ≤ i < n`) gets a fixed subset, and every item is in exactly one shard.
 * @module
 */

/**
 * How items are dealt to shards.
 * - `"contiguous"` (default): shard `i` gets items `⌊i·N/n⌋ … ⌊(i+1)·N/n⌋ − 1`, a block; sizes differ by at
 *   most one and concatenating the shards in order gives the manifest back.
 * - `"round-robin"`: shard `i` gets the items whose index is `≡ i (mod n)`; neighbouring (often similar)
 *   items land on different machines.
 */
export type ShardMode = "contiguous" | "round-robin";

/** A shard: which one of how many. */
export interface ShardSpec {
  /** 0-based shard number. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** A shard specification or a set of shard results that cannot be used. The message is one line. */
export class ShardError extends Error {
  override name = "ShardError";
}

function checkSpec(index: number, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ShardError(`Invalid shard count ${count}: must be an integer ≥ 1`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ShardError(`Invalid shard index ${index}: must be an integer in 0..${count - 1} (0-based)`);
  }
}

/**
 * Parses `"i/n"` (0-based `i`, as `$JOB_COMPLETION_INDEX` gives it; for 1-based Slurm task IDs pass
 * `$((SLURM_ARRAY_TASK_ID - 1))`).
 *
 * @param text E.g. `"3/8"`.
 * @returns The spec.
 * @throws {ShardError} If the text is not `i/n` with `0 ≤ i < n`.
 * @example
 * ```ts
 * import { parseShardSpec } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseShardSpec("3/8"), { index: 3, count: 8 });
 * assert.throws(() => parseShardSpec("8/8"), /0\.\.7/);
 * ```
 */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(text));
  if (!m) throw new ShardError(`Invalid shard '${text}': expected i/n, e.g. 0/4 (0-based index i, n shards)`);
  const index = Number(m[1]), count = Number(m[2]);
  checkSpec(index, count);
  return { index, count };
}

/**
 * The item indices of one shard, ascending.
 *
 * @param total Number of items.
 * @param index 0-based shard.
 * @param count Number of shards (may exceed `total`: some shards are then empty).
 * @param mode See {@linkcode ShardMode}. @default "contiguous"
 * @returns Indices in `0..total-1`.
 * @throws {ShardError} If the spec is invalid.
 * @example
 * ```ts
 * import { shardIndices } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(shardIndices(10, 1, 3), [3, 4, 5]);
 * assert.deepEqual(shardIndices(10, 1, 3, "round-robin"), [1, 4, 7]);
 * ```
 */
export function shardIndices(
  total: number,
  index: number,
  count: number,
  mode: ShardMode = "contiguous",
): number[] {
  checkSpec(index, count);
  if (!Number.isSafeInteger(total) || total < 0) throw new ShardError(`Invalid item count ${total}`);
  const out: number[] = [];
  if (mode === "contiguous") {
    const start = Math.floor((index * total) / count), end = Math.floor(((index + 1) * total) / count);
    for (let i = start; i < end; i++) out.push(i);
  } else if (mode === "round-robin") {
    for (let i = index; i < total; i += count) out.push(i);
  } else {
    throw new ShardError(`Unknown shard mode '${mode}': use "contiguous" or "round-robin"`);
  }
  return out;
}

/**
 * The items of one shard (see {@linkcode ShardMode}); keep each item's manifest index (e.g.
 * `ManifestEntry.index`) in the results so the shards can be merged.
 *
 * @param items All items.
 * @param index 0-based shard.
 * @param count Number of shards.
 * @param mode @default "contiguous"
 * @returns This shard's items, in manifest order.
 * @throws {ShardError} If the spec is invalid.
 * @example
 * ```ts
 * import { shard } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(shard(["a", "b", "c", "d", "e"], 0, 2), ["a", "b"]);
 * assert.deepEqual(shard(["a", "b", "c", "d", "e"], 1, 2), ["c", "d", "e"]);
 * ```
 */
export function shard<T>(
  items: readonly T[],
  index: number,
  count: number,
  mode: ShardMode = "contiguous",
): T[] {
  return shardIndices(items.length, index, count, mode).map((i) => items[i]);
}
