/**
 * Joining the results of the shards of one run, with the checks that make a merge trustworthy: the same
 * run, every shard exactly once, every item exactly once.
 * @module
 */
import { type EvalRecord, type EvalResults, makeResults } from "./records.ts";
import { ShardError, shardIndices } from "./shard.ts";

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${
      Object.keys(v as object).sort().map((k) =>
        `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

function listShort(xs: number[]): string {
  return xs.length <= 8 ? xs.join(", ") : `${xs.slice(0, 8).join(", ")} … (${xs.length} in all)`;
}

/**
 * Merges the results of all shards of one run into one document (`shard: {index: 0, count: 1}`),
 * records ordered by item, summary recomputed over everything (so %Win compares methods on all images).
 *
 * Checked, each failure a one-line {@linkcode ShardError}: every part is a `cnnlens-eval/1` document;
 * all have the same shard count, mode, manifest size and `config`; each shard `0..n−1` appears exactly
 * once; every record belongs to its shard's items; no (item, method) appears twice; every item of the
 * manifest has a record (for each of `config.methods`, when the config lists them).
 *
 * @param parts The shards' results, in any order.
 * @returns The merged results.
 * @throws {ShardError} If the parts do not form exactly one complete run.
 * @example
 * ```ts
 * import { makeResults, mergeShards } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const rec = (index: number) => ({ index, image: `${index}.png`, method: "m", metrics: { iou: index } });
 * const a = makeResults({ shard: { index: 0, count: 2 }, total: 3, records: [rec(0)] });
 * const b = makeResults({ shard: { index: 1, count: 2 }, total: 3, records: [rec(1), rec(2)] });
 * assert.deepEqual(mergeShards([b, a]).records.map((r) => r.index), [0, 1, 2]);
 * assert.throws(() => mergeShards([a]), /missing shard 1/);
 * ```
 */
export function mergeShards(parts: readonly EvalResults[]): EvalResults {
  if (parts.length === 0) throw new ShardError("Cannot merge: no shard results given");
  parts.forEach((p, k) => {
    if (p === null || typeof p !== "object" || p.format !== "cnnlens-eval/1" || !Array.isArray(p.records)) {
      throw new ShardError(
        `Cannot merge: part ${k + 1} is not a cnnlens eval results document (format cnnlens-eval/1)`,
      );
    }
  });
  const first = parts[0];
  const { count, mode } = first.shard;
  const total = first.total;
  const config = stable(first.config ?? {});
  const label = (p: EvalResults) => `shard ${p.shard.index}/${p.shard.count}`;
  for (const p of parts) {
    if (p.shard.count !== count || p.shard.mode !== mode) {
      throw new ShardError(
        `Cannot merge: ${label(p)} (${p.shard.mode}) and ${
          label(first)
        } (${mode}) come from different splits`,
      );
    }
    if (p.total !== total) {
      throw new ShardError(
        `Cannot merge: ${label(p)} has ${p.total} manifest items, ${label(first)} has ${total}`,
      );
    }
    if (stable(p.config ?? {}) !== config) {
      const a = (p.config ?? {}) as Record<string, unknown>,
        b = (first.config ?? {}) as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) =>
        stable(a[k]) !== stable(b[k])
      );
      throw new ShardError(
        `Cannot merge: ${label(p)} and ${label(first)} differ in config (${keys.join(", ")})`,
      );
    }
  }
  const seen = new Map<number, EvalResults>();
  for (const p of parts) {
    if (seen.has(p.shard.index)) throw new ShardError(`Cannot merge: ${label(p)} is given twice`);
    seen.set(p.shard.index, p);
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw new ShardError(
      `Cannot merge: missing shard${missing.length > 1 ? "s" : ""} ${listShort(missing)} of ${count}`,
    );
  }
  const owner = new Int32Array(total).fill(-1);
  for (const p of parts) {
    for (const i of shardIndices(total, p.shard.index, count, mode)) owner[i] = p.shard.index;
  }
  const methods = Array.isArray(first.config?.methods)
    ? (first.config.methods as unknown[]).map(String)
    : null;
  const done = new Map<string, number>();
  const covered = new Uint8Array(total);
  const records: EvalRecord[] = [];
  for (const p of parts) {
    for (const r of p.records) {
      if (!Number.isSafeInteger(r.index) || r.index < 0 || r.index >= total) {
        throw new ShardError(
          `Cannot merge: ${label(p)} has a record for item ${r.index}, outside 0..${total - 1}`,
        );
      }
      if (owner[r.index] !== p.shard.index) {
        throw new ShardError(
          `Cannot merge: ${label(p)} has item ${r.index} (${r.image}), which belongs to shard ${
            owner[r.index]
          }/${count}: the shards overlap`,
        );
      }
      const key = `${r.index}\u0000${r.method}`;
      if (done.has(key)) {
        throw new ShardError(
          `Cannot merge: item ${r.index} (${r.image}) has two records for method '${r.method}'`,
        );
      }
      done.set(key, p.shard.index);
      covered[r.index] = 1;
      records.push(r);
    }
  }
  const absent: number[] = [];
  for (let i = 0; i < total; i++) {
    if (!covered[i] || (methods !== null && methods.some((m) => !done.has(`${i}\u0000${m}`)))) absent.push(i);
  }
  if (absent.length > 0) {
    throw new ShardError(
      `Cannot merge: item${absent.length > 1 ? "s" : ""} ${listShort(absent)} ha${
        absent.length > 1 ? "ve" : "s"
      } no record${methods ? " for every method" : ""} (shard ${owner[absent[0]]}/${count} is incomplete)`,
    );
  }
  return makeResults({ shard: { index: 0, count: 1, mode }, total, config: first.config ?? {}, records });
}
