/**
 * Writers for an evaluation's results: JSON (the document itself), CSV (one row per image and method,
 * or one per method and metric), and a small self-contained HTML page with the summary and per-image
 * tables. All return strings; writing files (atomically) is the caller's job.
 * @module
 */
import type { EvalRecord, EvalResults, Summary } from "./records.ts";
import { ShardError } from "./shard.ts";

/**
 * The results as pretty-printed JSON (non-finite numbers become `null`).
 *
 * @param results The document.
 * @returns JSON text ending with a newline.
 * @example
 * ```ts
 * import { makeResults, resultsToJson } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const r = makeResults({ total: 0, records: [] });
 * assert.deepEqual(JSON.parse(resultsToJson(r)).format, "cnnlens-eval/1");
 * ```
 */
export function resultsToJson(results: EvalResults): string {
  return JSON.stringify(results, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) +
    "\n";
}

/**
 * Parses a results document written by {@linkcode resultsToJson} (e.g. a shard's `results.json`).
 *
 * @param text The file's contents.
 * @param source Name for messages.
 * @returns The document.
 * @throws {ShardError} If the text is not JSON or not a `cnnlens-eval/1` document.
 * @example
 * ```ts
 * import { makeResults, parseResults, resultsToJson } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const r = makeResults({ total: 0, records: [] });
 * assert.deepEqual(parseResults(resultsToJson(r)), r);
 * ```
 */
export function parseResults(text: string, source = "results"): EvalResults {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ShardError(`${source}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const r = v as EvalResults;
  if (
    r === null || typeof r !== "object" || r.format !== "cnnlens-eval/1" || !Array.isArray(r.records) ||
    typeof r.total !== "number" || r.shard === null || typeof r.shard !== "object"
  ) {
    throw new ShardError(
      `${source}: not a cnnlens eval results document (expected "format": "cnnlens-eval/1")`,
    );
  }
  return r;
}

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One CSV row per record: `index,image,label,method,<metrics in order of first appearance>,error`
 * (RFC 4180 quoting; empty cells for missing or `null` values).
 *
 * @param records The records.
 * @returns CSV text with a header line, `\n` line ends.
 * @example
 * ```ts
 * import { recordsToCsv } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const csv = recordsToCsv([{ index: 0, image: "a,b.png", method: "m", metrics: { iou: 0.5 } }]);
 * assert.deepEqual(csv, 'index,image,label,method,iou,error\n0,"a,b.png",,m,0.5,\n');
 * ```
 */
export function recordsToCsv(records: readonly EvalRecord[]): string {
  const metrics: string[] = [];
  const known = new Set<string>();
  for (const r of records) {
    for (const k of Object.keys(r.metrics)) if (!known.has(k)) known.add(k), metrics.push(k);
  }
  const lines = [["index", "image", "label", "method", ...metrics, "error"].map(csvField).join(",")];
  for (const r of records) {
    lines.push(
      [r.index, r.image, r.label, r.method, ...metrics.map((k) => r.metrics[k]), r.error].map(csvField).join(
        ",",
      ),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * One CSV row per method and metric: `method,metric,mean,std,count`.
 *
 * @param summary The summary.
 * @returns CSV text with a header line.
 * @example
 * ```ts
 * import { summaryToCsv } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(summaryToCsv({ m: { iou: { mean: 0.5, std: null, count: 1 } } }), "method,metric,mean,std,count\nm,iou,0.5,,1\n");
 * ```
 */
export function summaryToCsv(summary: Summary): string {
  const lines = ["method,metric,mean,std,count"];
  for (const [method, metrics] of Object.entries(summary)) {
    for (const [metric, s] of Object.entries(metrics)) {
      lines.push([method, metric, s.mean, s.std, s.count].map(csvField).join(","));
    }
  }
  return lines.join("\n") + "\n";
}

function esc(s: unknown): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(v: number | null | undefined, digits = 4): string {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–";
}

/** Options of {@linkcode resultsToHtml}. */
export interface HtmlOptions {
  /** Page title. @default "cnnlens eval" */
  title?: string;
  /** Most per-image rows shown (the CSV has them all). @default 2000 */
  maxRows?: number;
}

/**
 * A self-contained HTML page (inline CSS, no scripts, no external resources): the run's config, a
 * summary table (one row per method, `mean ± std (n)` per metric) and the per-image table.
 *
 * @param results The document.
 * @param options Title, row cap.
 * @returns HTML text.
 * @example
 * ```ts
 * import { makeResults, resultsToHtml } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const r = makeResults({ total: 1, records: [{ index: 0, image: "<a>.png", method: "m", metrics: { iou: 0.5 } }] });
 * assert.match(resultsToHtml(r), /&#60;a&#62;\.png/);
 * ```
 */
export function resultsToHtml(results: EvalResults, options: HtmlOptions = {}): string {
  const title = options.title ?? "cnnlens eval";
  const maxRows = options.maxRows ?? 2000;
  const methods = Object.keys(results.summary);
  const metrics: string[] = [];
  for (const m of methods) {
    for (const k of Object.keys(results.summary[m])) if (!metrics.includes(k)) metrics.push(k);
  }
  const summaryRows = methods.map((m) =>
    `<tr><th>${esc(m)}</th>${
      metrics.map((k) => {
        const s = results.summary[m][k];
        return s
          ? `<td>${fmt(s.mean)}${
            s.std !== null ? ` ± ${fmt(s.std)}` : ""
          } <span class="n">(${s.count})</span></td>`
          : "<td>–</td>";
      }).join("")
    }</tr>`
  ).join("\n");
  const recMetrics: string[] = [];
  for (const r of results.records) {
    for (const k of Object.keys(r.metrics)) if (!recMetrics.includes(k)) recMetrics.push(k);
  }
  const shown = results.records.slice(0, maxRows);
  const recordRows = shown.map((r) =>
    `<tr><td>${r.index}</td><td>${esc(r.image)}</td><td>${esc(r.label)}</td><td>${esc(r.method)}</td>${
      recMetrics.map((k) => `<td>${fmt(r.metrics[k])}</td>`).join("")
    }<td>${esc(r.error)}</td></tr>`
  ).join("\n");
  const more = results.records.length > shown.length
    ? `<p>Showing ${shown.length} of ${results.records.length} rows; the CSV has them all.</p>`
    : "";
  const shardNote = results.shard.count > 1
    ? ` — shard ${results.shard.index}/${results.shard.count} (${results.shard.mode})`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th:first-child,td:nth-child(2){text-align:left}
thead th{background:#f0f0f0;text-align:center}
.n{color:#888;font-size:85%}
pre{background:#f7f7f7;padding:8px;overflow:auto}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${results.total} manifest items${esc(shardNote)}, ${results.records.length} records.</p>
<pre>${esc(JSON.stringify(results.config, null, 2))}</pre>
<h2>Summary</h2>
<table><thead><tr><th>method</th>${metrics.map((k) => `<th>${esc(k)}</th>`).join("")}</tr></thead>
<tbody>
${summaryRows}
</tbody></table>
<h2>Per image</h2>
${more}
<table><thead><tr><th>index</th><th>image</th><th>label</th><th>method</th>${
    recMetrics.map((k) => `<th>${esc(k)}</th>`).join("")
  }<th>error</th></tr></thead>
<tbody>
${recordRows}
</tbody></table>
</body></html>
`;
}
