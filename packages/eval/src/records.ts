/**
 * Per-image result records, their summary (mean / std / count per method and metric, plus %Win), and
 * the results document one `cnnlens eval` run (or shard) writes.
 * @module
 */
import { percentWin } from "./iom_protocol.ts";
import type { ShardMode } from "./shard.ts";

/** One image evaluated with one method. */
export interface EvalRecord {
  /** The item's manifest index (`ManifestEntry.index`). */
  index: number;
  /** The image path. */
  image: string;
  /** The label, if the manifest had one. */
  label?: number | string;
  /** Method ID (e.g. `gradcam`, `fam`). */
  method: string;
  /** Metric values; `null` where undefined for this image (e.g. a relative drop with a score ≤ 0). */
  metrics: Record<string, number | null>;
  /** One-line reason when the image could not be evaluated (then `metrics` may be empty). */
  error?: string;
}

/** Mean, sample standard deviation and count of one metric's finite values. */
export interface MetricSummary {
  /** Mean, `null` with no values. */
  mean: number | null;
  /** Sample standard deviation (`n − 1`), `null` with fewer than two values. */
  std: number | null;
  /** Number of finite values. */
  count: number;
}

/** Per method, per metric. */
export type Summary = Record<string, Record<string, MetricSummary>>;

/** The record metric whose per-image maximum across methods wins %Win (score on `E = 0.5·X + 0.5·S`). */
export const WIN_METRIC = "explanation_score";

/** The summary key %Win is reported under. */
export const WIN_KEY = "win";

/** What one run (or one shard of it) writes as `results.json`. */
export interface EvalResults {
  /** Format tag. */
  format: "cnnlens-eval/1";
  /** Which shard this is (`{index: 0, count: 1}` for a whole run or a merge). */
  shard: { index: number; count: number; mode: ShardMode };
  /** Number of items in the whole manifest. */
  total: number;
  /** Settings that must agree across shards (model, methods, metrics, options...). */
  config: Record<string, unknown>;
  /** Records, ascending by `index`, then by method in `config.methods` order where given. */
  records: EvalRecord[];
  /** {@linkcode summarize} of `records`. */
  summary: Summary;
}

/**
 * Turns a number into a record value: finite numbers stay, anything else becomes `null` (JSON has no NaN).
 *
 * @param v A metric value.
 * @returns `v` or `null`.
 * @example
 * ```ts
 * import { metricValue } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual([metricValue(0.5), metricValue(NaN)], [0.5, null]);
 * ```
 */
export function metricValue(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Summarises records: for each method and metric, mean, sample std and count over the finite values; and
 * where records carry {@linkcode WIN_METRIC} for at least two methods, %Win per method under
 * {@linkcode WIN_KEY} (`mean` = fraction of images won, ties split, `count` = images compared).
 *
 * @param records Any records (one shard's or merged).
 * @returns The summary, methods and metrics in order of first appearance.
 * @example
 * ```ts
 * import { summarize } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const s = summarize([
 *   { index: 0, image: "a", method: "m", metrics: { iou: 0.5 } },
 *   { index: 1, image: "b", method: "m", metrics: { iou: 1 } },
 *   { index: 2, image: "c", method: "m", metrics: { iou: null } },
 * ]);
 * assert.deepEqual(s.m.iou.mean, 0.75);
 * assert.deepEqual(s.m.iou.count, 2);
 * ```
 */
export function summarize(records: readonly EvalRecord[]): Summary {
  const values = new Map<string, Map<string, number[]>>();
  for (const r of records) {
    let byMetric = values.get(r.method);
    if (!byMetric) values.set(r.method, byMetric = new Map());
    for (const [k, v] of Object.entries(r.metrics)) {
      let list = byMetric.get(k);
      if (!list) byMetric.set(k, list = []);
      if (typeof v === "number" && Number.isFinite(v)) list.push(v);
    }
  }
  const out: Summary = {};
  for (const [method, byMetric] of values) {
    out[method] = {};
    for (const [metric, list] of byMetric) {
      const n = list.length;
      let mean: number | null = null, std: number | null = null;
      if (n > 0) {
        let s = 0;
        for (const v of list) s += v;
        mean = s / n;
        if (n > 1) {
          let ss = 0;
          for (const v of list) ss += (v - mean) ** 2;
          std = Math.sqrt(ss / (n - 1));
        }
      }
      out[method][metric] = { mean, std, count: n };
    }
  }
  const withWin = [...values.keys()].filter((m) => values.get(m)!.has(WIN_METRIC));
  if (withWin.length >= 2) {
    const images = [...new Set(records.map((r) => r.index))].sort((a, b) => a - b);
    const pos = new Map(images.map((i, k) => [i, k]));
    const table: Record<string, Float64Array> = {};
    for (const m of withWin) table[m] = new Float64Array(images.length).fill(NaN);
    for (const r of records) {
      const v = r.metrics[WIN_METRIC];
      if (table[r.method] && typeof v === "number") table[r.method][pos.get(r.index)!] = v;
    }
    const compared = images.filter((_, k) => withWin.some((m) => Number.isFinite(table[m][k]))).length;
    const win = percentWin(table);
    for (const m of withWin) out[m][WIN_KEY] = { mean: win[m], std: null, count: compared };
  }
  return out;
}

/**
 * Assembles a results document (sorting the records and computing the summary).
 *
 * @param parts Shard, manifest size, config and records.
 * @returns The document to write as `results.json`.
 * @example
 * ```ts
 * import { makeResults } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const r = makeResults({ total: 1, config: { methods: ["m"] }, records: [{ index: 0, image: "a", method: "m", metrics: { iou: 1 } }] });
 * assert.deepEqual(r.shard, { index: 0, count: 1, mode: "contiguous" });
 * assert.deepEqual(r.summary.m.iou.mean, 1);
 * ```
 */
export function makeResults(parts: {
  shard?: { index: number; count: number; mode?: ShardMode };
  total: number;
  config?: Record<string, unknown>;
  records: readonly EvalRecord[];
}): EvalResults {
  const config = parts.config ?? {};
  const order = Array.isArray(config.methods) ? (config.methods as unknown[]).map(String) : [];
  const rank = (m: string) => {
    const k = order.indexOf(m);
    return k < 0 ? order.length : k;
  };
  const records = [...parts.records].sort((a, b) =>
    a.index - b.index || rank(a.method) - rank(b.method) ||
    (a.method < b.method ? -1 : a.method > b.method ? 1 : 0)
  );
  return {
    format: "cnnlens-eval/1",
    shard: {
      index: parts.shard?.index ?? 0,
      count: parts.shard?.count ?? 1,
      mode: parts.shard?.mode ?? "contiguous",
    },
    total: parts.total,
    config,
    records,
    summary: summarize(records),
  };
}
