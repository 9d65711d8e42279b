/**
 * Shared pieces of the reproduction reports (`nx run eval:reports`): the committed models, inputs built
 * from the synthetic generator, scorers for the protocols, the Markdown writer and small SVG charts.
 *
 * A report is a module `reports/<name>_report.ts` exporting `report: ReportDef`; `reports/main.ts` finds
 * them, runs them (full size, or CI size with `--ci`) and writes `docs/results/<name>.md` with its figures.
 * @module
 */
import { type Graph, importTfjsModel, runForward, type Tensor, tf } from "@cnnlens/core";
import { encodePng, type RgbImage } from "@cnnlens/core";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import type { ScoreFn } from "../mod.ts";
import { SYNTH_MEAN, SYNTH_STD } from "../src/synth/mod.ts";

/** Where the committed models live. */
export const MODELS_DIR: string = new URL("../models/", import.meta.url).pathname;

/** The five committed models. */
export type EvalModelName = "vgg_bn" | "resnet_small" | "iom_cnn6" | "conv4_leaky" | "fewshot_resnet";

/** A committed model, imported into a core graph, with its metadata. */
export interface EvalModel {
  name: EvalModelName;
  graph: Graph;
  /** Class names (classifiers), undefined for the embedding. */
  labels?: string[];
  /** True for the few-shot embedding (no classifier). */
  embedding: boolean;
  mean: number[];
  std: number[];
  /** Input side (64). */
  size: number;
  /** Test accuracy (classifiers) or 5-way 1-shot accuracy (embedding) from train_log.json, if logged. */
  accuracy?: number;
}

/** Loads one of packages/eval/models/ through the core's tfjs importer. */
export async function loadEvalModel(name: EvalModelName): Promise<EvalModel> {
  const path = join(MODELS_DIR, name, "model.json");
  const json = JSON.parse(await Deno.readTextFile(path));
  const meta = json.userDefinedMetadata ?? {};
  const graph = await importTfjsModel(path);
  let accuracy: number | undefined;
  try {
    const log = JSON.parse(await Deno.readTextFile(join(MODELS_DIR, name, "train_log.json")));
    const r = log.results ?? {};
    const a = r.test_accuracy ?? r.classes_b?.["5way_1shot"]?.mean;
    if (typeof a === "number") accuracy = a;
  } catch { /* no log */ }
  return {
    name,
    graph,
    labels: meta.labels,
    embedding: !!meta.embedding,
    mean: meta.input?.mean ?? SYNTH_MEAN,
    std: meta.input?.std ?? SYNTH_STD,
    size: meta.input?.shape?.[0] ?? 64,
    accuracy,
  };
}

/** An 8-bit RGB image as `[3, H, W]` floats in [0, 1] (the space the protocols perturb in). */
export function imageToChw01(img: RgbImage): Float32Array {
  const hw = img.width * img.height;
  const out = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = img.data[p * 3 + c] / 255;
  return out;
}

/** `[3, H, W]` images in [0, 1] → the model's NHWC input tensor (normalised with the model's mean/std). */
export function chw01ToInput(model: EvalModel, xs: readonly Float32Array[]): Tensor {
  const s = model.size, hw = s * s;
  const out = new Float32Array(xs.length * hw * 3);
  xs.forEach((x, n) => {
    if (x.length !== 3 * hw) throw new RangeError(`input ${n} has ${x.length} values, expected ${3 * hw}`);
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 3; c++) {
        out[(n * hw + p) * 3 + c] = (Math.fround(x[c * hw + p]) - model.mean[c]) / model.std[c];
      }
    }
  });
  return tf.tensor4d(out, [xs.length, s, s, 3]);
}

/** 8-bit images → the model's NHWC input tensor (equal to `synthInput`). */
export function imagesToInput(model: EvalModel, images: readonly RgbImage[]): Tensor {
  return chw01ToInput(model, images.map(imageToChw01));
}

/** The graph's output (logits or embedding) for a batch of `[3, H, W]` inputs in [0, 1], as rows. */
export async function outputs(
  model: EvalModel,
  xs: readonly Float32Array[],
  node?: string,
): Promise<Float32Array[]> {
  const out = node ?? model.graph.output;
  const t = tf.tidy(() => {
    const x = chw01ToInput(model, xs);
    const trace = runForward(model.graph, x, { keep: [out] });
    const y = trace.get(out);
    return tf.reshape(y, [xs.length, -1]);
  });
  const d = await t.data() as Float32Array;
  const k = t.shape[1]!;
  t.dispose();
  return xs.map((_, i) => d.slice(i * k, (i + 1) * k));
}

/** Softmax of one row. */
export function softmax(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * A protocol scorer (`ScoreFn` of @cnnlens/eval) for a classifier: the softmax probability (default) or the
 * logit of class `c` for each `[3, H, W]` input in [0, 1].
 */
export function classScorer(model: EvalModel, c: number, kind: "prob" | "logit" = "prob"): ScoreFn {
  return async (xs) => {
    const rows = await outputs(model, xs);
    return rows.map((r) => kind === "logit" ? r[c] : softmax(r)[c]);
  };
}

/** Mean of the finite values (NaN if none). */
export function mean(xs: readonly number[]): number {
  const f = xs.filter((v) => Number.isFinite(v));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

/** A number for a Markdown table. */
export function fmt(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}

/** Options every report gets. */
export interface ReportOptions {
  /** CI size: a tiny subset, seconds. */
  ci: boolean;
  /** Folder the Markdown and figures go to (docs/results, or a temp dir in tests). */
  outDir: string;
  /** Progress lines (stderr by default). */
  log?: (msg: string) => void;
}

/** What a report returns: where it wrote, and its headline numbers (tests check their ranges). */
export interface ReportSummary {
  file: string;
  /** Named numbers, e.g. `{"proportion.fam": 0.61}`; null where undefined. */
  numbers: Record<string, number | null>;
}

/** A report module's export. */
export interface ReportDef {
  /** File stem: docs/results/<name>.md. */
  name: string;
  /** Title in the index. */
  title: string;
  run(options: ReportOptions): Promise<ReportSummary>;
}

/** Machine and run description for the report's footer. */
export function machineNote(command = "npx nx run eval:reports"): string {
  const cpu = cpus();
  return [
    `Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}:`,
    `${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} cores), Deno ${Deno.version.deno}, ` +
    `TensorFlow.js ${tf.version_core} on the \`${tf.getBackend()}\` backend.`,
  ].join(" ");
}

/** Collects a report's Markdown and figures, then writes them. */
export class ReportWriter {
  private lines: string[] = [];
  private files = new Map<string, Uint8Array | string>();
  constructor(readonly name: string, readonly options: ReportOptions) {}
  /** Appends Markdown lines (a blank line is added after). */
  md(...lines: string[]): this {
    this.lines.push(...lines, "");
    return this;
  }
  /** Appends a Markdown table. */
  table(headers: string[], rows: (string | number)[][]): this {
    const cell = (v: string | number) => typeof v === "number" ? fmt(v) : v;
    this.lines.push(`| ${headers.join(" | ")} |`, `| ${headers.map(() => "---").join(" | ")} |`);
    for (const r of rows) this.lines.push(`| ${r.map(cell).join(" | ")} |`);
    this.lines.push("");
    return this;
  }
  /** Adds a figure (PNG image or SVG text) under `<name>/<file>` and links it. */
  figure(file: string, content: RgbImage | string, caption: string): this {
    const rel = `${this.name}/${file}`;
    this.files.set(rel, typeof content === "string" ? content : encodePng(content));
    this.lines.push(`![${caption}](${rel})`, "", `_${caption}_`, "");
    return this;
  }
  /** Writes `<outDir>/<name>.md` (with the machine note) and the figures; returns the Markdown path. */
  async write(command?: string): Promise<string> {
    const dir = this.options.outDir;
    await mkdir(join(dir, this.name), { recursive: true });
    for (const [rel, content] of this.files) await writeFile(join(dir, rel), content);
    const note = machineNote(command) +
      (this.options.ci ? " **CI size** (tiny subset; not the reported figures)." : "");
    const file = join(dir, `${this.name}.md`);
    await writeFile(file, [...this.lines, "---", "", note, ""].join("\n"));
    return file;
  }
}

/** One series of a line chart. */
export interface Series {
  name: string;
  xs: readonly number[];
  ys: readonly number[];
}

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A line chart as SVG text (axes, ticks, legend). */
export function lineChartSvg(
  series: readonly Series[],
  opts: {
    title?: string;
    xLabel?: string;
    yLabel?: string;
    yMin?: number;
    yMax?: number;
    width?: number;
    height?: number;
  } = {},
): string {
  const W = opts.width ?? 560, H = opts.height ?? 340, L = 60, R = 150, T = 30, B = 45;
  const all = series.flatMap((s) => s.ys.filter(Number.isFinite));
  const xsAll = series.flatMap((s) => s.xs);
  const x0 = Math.min(...xsAll), x1 = Math.max(...xsAll);
  const y0 = opts.yMin ?? Math.min(0, ...all), y1 = opts.yMax ?? Math.max(...all, y0 + 1e-9);
  const px = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (y: number) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) {
    out.push(
      `<text x="${(W - R + L) / 2}" y="18" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 5}" y="${py(y) + 4}" text-anchor="end">${+y.toPrecision(3)}</text>`);
    const x = x0 + ((x1 - x0) * i) / 5;
    out.push(`<text x="${px(x)}" y="${H - B + 15}" text-anchor="middle">${+x.toPrecision(3)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  if (opts.xLabel) {
    out.push(`<text x="${(W - R + L) / 2}" y="${H - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  }
  if (opts.yLabel) {
    out.push(
      `<text transform="translate(14 ${(H - B + T) / 2}) rotate(-90)" text-anchor="middle">${
        esc(opts.yLabel)
      }</text>`,
    );
  }
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const pts = s.xs.map((x, j) => [x, s.ys[j]]).filter(([, y]) => Number.isFinite(y));
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${
        pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")
      }"/>`,
    );
    for (const [x, y] of pts) {
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    }
    out.push(`<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="3" fill="${c}"/>`);
    out.push(`<text x="${W - R + 27}" y="${T + i * 18 + 5}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** A grouped bar chart as SVG text: one group per category, one bar per series. */
export function barChartSvg(
  categories: readonly string[],
  series: readonly { name: string; values: readonly number[] }[],
  opts: { title?: string; yLabel?: string; yMin?: number; yMax?: number; width?: number; height?: number } =
    {},
): string {
  const W = opts.width ?? 560, H = opts.height ?? 340, L = 60, R = 150, T = 30, B = 45;
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  const y0 = opts.yMin ?? Math.min(0, ...all), y1 = opts.yMax ?? Math.max(...all, y0 + 1e-9);
  const py = (y: number) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const gw = (W - L - R) / Math.max(1, categories.length), bw = (gw * 0.8) / Math.max(1, series.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) {
    out.push(
      `<text x="${(W - R + L) / 2}" y="18" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 5}" y="${py(y) + 4}" text-anchor="end">${+y.toPrecision(3)}</text>`);
  }
  categories.forEach((c, g) => {
    out.push(`<text x="${L + gw * (g + 0.5)}" y="${H - B + 15}" text-anchor="middle">${esc(c)}</text>`);
    series.forEach((s, i) => {
      const v = s.values[g];
      if (!Number.isFinite(v)) return;
      const x = L + gw * g + gw * 0.1 + bw * i;
      const top = py(Math.max(v, y0)), base = py(Math.max(y0, Math.min(0, y1)));
      out.push(
        `<rect x="${x.toFixed(1)}" y="${Math.min(top, base).toFixed(1)}" width="${bw.toFixed(1)}" height="${
          Math.abs(base - top).toFixed(1)
        }" fill="${PALETTE[i % PALETTE.length]}"/>`,
      );
    });
  });
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  if (opts.yLabel) {
    out.push(
      `<text transform="translate(14 ${(H - B + T) / 2}) rotate(-90)" text-anchor="middle">${
        esc(opts.yLabel)
      }</text>`,
    );
  }
  series.forEach((s, i) => {
    out.push(
      `<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="10" fill="${
        PALETTE[i % PALETTE.length]
      }"/>`,
    );
    out.push(`<text x="${W - R + 27}" y="${T + i * 18 + 9}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** Checks a summary's numbers: every value finite (or null where allowed) and inside `[lo, hi]`. */
export function numbersInRange(
  numbers: Record<string, number | null>,
  ranges: Record<string, [number, number]>,
): string[] {
  const bad: string[] = [];
  for (const [pattern, [lo, hi]] of Object.entries(ranges)) {
    const re = new RegExp(pattern);
    const keys = Object.keys(numbers).filter((k) => re.test(k));
    if (keys.length === 0) bad.push(`no number matches ${pattern}`);
    for (const k of keys) {
      const v = numbers[k];
      if (v === null || !Number.isFinite(v) || v < lo || v > hi) {
        bad.push(`${k} = ${v} not in [${lo}, ${hi}]`);
      }
    }
  }
  return bad;
}
