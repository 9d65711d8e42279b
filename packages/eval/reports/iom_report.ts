/**
 * IOM reproduction report (Ying, Li & Lian, _Understanding CNNs from excitations_, §8.3, Table 1): Avg.
 * Area%, Avg. Value, Average Drop% on `E = 0.5·X + 0.5·S`, %Win and Confidence Drop on
 * `X̂ = (1 − I(S′)) ∘ X` for IOM against the paper's eight CAM baselines, on the project's 6-convolution CNN
 * `iom_cnn6` over the synthetic `test` split (classes A). The protocol is `@cnnlens/eval`'s
 * (`iomFaithfulness`, `summarize` → `percentWin`); IOM is `@cnnlens/iom`, the baselines `@cnnlens/cam`.
 *
 *     npx deno run -A packages/eval/reports/main.ts iom          # full size → docs/results/iom.md
 *     npx deno run -A packages/eval/reports/main.ts --ci --out /tmp/r iom
 * @module
 */
import {
  classLogit,
  type Graph,
  grid,
  type GridTile,
  overlay,
  type RgbImage,
  tf,
  upsampleMap,
} from "@cnnlens/core";
import { camMap } from "@cnnlens/cam";
import { clearExcitationCache, iom, renderColour, renderSignedMagnitude } from "@cnnlens/iom";
import {
  averageDropTerm,
  blendWithMap,
  type EvalRecord,
  iomFaithfulness,
  normalizeMap,
  removeAboveMean,
  type SaliencyMap,
  spearman,
  summarize,
  type Summary,
} from "../mod.ts";
import { synthSample } from "../src/synth/mod.ts";
import {
  barChartSvg,
  chw01ToInput,
  classScorer,
  type EvalModel,
  fmt,
  imageToChw01,
  loadEvalModel,
  outputs,
  type ReportDef,
  type ReportOptions,
  type ReportSummary,
  ReportWriter,
  softmax,
} from "./_common.ts";

/** The methods of Table 1, in the paper's row order: the key used in the summary's numbers, the label. */
export const IOM_REPORT_METHODS = [
  { key: "iom", cam: null, name: "IOM" },
  { key: "gradcam", cam: "gradcam", name: "Grad-CAM" },
  { key: "gradcampp", cam: "gradcam++", name: "Grad-CAM++" },
  { key: "scorecam", cam: "scorecam", name: "Score-CAM" },
  { key: "ablationcam", cam: "ablationcam", name: "Ablation-CAM" },
  { key: "xgradcam", cam: "xgradcam", name: "XGrad-CAM" },
  { key: "eigencam", cam: "eigencam", name: "Eigen-CAM" },
  { key: "layercam", cam: "layercam", name: "Layer-CAM" },
  { key: "fullgrad", cam: "fullgrad", name: "FullGrad" },
] as const;

/** A method's key in the numbers (`ad.<key>`). */
export type IomMethodKey = typeof IOM_REPORT_METHODS[number]["key"];

/** One row of the paper's Table 1. */
export interface PaperRow {
  area: number;
  value: number;
  ad: number;
  win: number;
  cd: number;
}

/**
 * The paper's Table 1 (`/work/shared/papers/iom-pane-excitations.md`, §8.3), as printed: fractions, not
 * percent, despite the "%" in the headers (%Win sums to 1.0009 over the nine rows).
 */
export const PAPER_TABLE_1: Record<IomMethodKey, PaperRow> = {
  iom: { area: 0.7245, value: 0.0921, ad: 0.2599, win: 0.1145, cd: 0.8083 },
  gradcam: { area: 0.8847, value: 0.3622, ad: 0.4274, win: 0.1048, cd: 0.7979 },
  gradcampp: { area: 0.9920, value: 0.4353, ad: 0.4208, win: 0.0805, cd: 0.7898 },
  scorecam: { area: 0.9898, value: 0.3326, ad: 0.3832, win: 0.1096, cd: 0.8608 },
  ablationcam: { area: 0.9810, value: 0.3944, ad: 0.4202, win: 0.0679, cd: 0.8277 },
  xgradcam: { area: 0.9781, value: 0.3754, ad: 0.4250, win: 0.0737, cd: 0.8216 },
  eigencam: { area: 0.6761, value: 0.3538, ad: 0.4324, win: 0.2065, cd: 0.6197 },
  layercam: { area: 0.7656, value: 0.4039, ad: 0.4320, win: 0.1086, cd: 0.9018 },
  fullgrad: { area: 0.9384, value: 0.4873, ad: 0.4388, win: 0.1348, cd: 0.9050 },
};

/** The paper's "No Heatmap" row: Average Drop of `E = 0.5·X` alone. */
export const PAPER_NO_HEATMAP_AD = 0.2659;

/**
 * The CAM target layers: the paper's "penultimate convolutional layer" (`conv5`, 16×16, the main table) and
 * the last one (`conv6`, 8×8, the usual CAM choice; `graph.lastSpatialNode()` would be `pool4`, 4×4).
 */
export const IOM_REPORT_LAYERS = [
  { key: "conv5", node: "conv5", what: "penultimate conv layer (the paper's choice)" },
  { key: "conv6", node: "conv6", what: "last conv layer" },
] as const;

/** Images of the test split (full size / CI size). */
export const IOM_REPORT_SIZES = { full: 360, ci: 3 };

/** Figure rows (one image per class in the full report). */
const FIGURE_IMAGES = { full: 6, ci: 2 };

/** Tile magnification in the figure (the images are 64×64). */
const TILE_SCALE = 2;

/** One method's per-image values that the report needs beyond the records. */
interface Extra {
  removed: number[];
  empty: number;
  ms: number[];
}

/** Nearest-neighbour integer upscaling of an image (pixel-level maps stay pixel-level). */
function upscale(img: RgbImage, k: number): RgbImage {
  const w = img.width * k, h = img.height * k;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / k) * img.width + Math.floor(x / k)) * 3, d = (y * w + x) * 3;
      data[d] = img.data[s];
      data[d + 1] = img.data[s + 1];
      data[d + 2] = img.data[s + 2];
    }
  }
  return { width: w, height: h, data };
}

/** `[3, H, W]` values in [0, 1] → an 8-bit image. */
function chw01ToImage(x: Float32Array, h: number, w: number): RgbImage {
  const data = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < 3; c++) {
      data[p * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, x[c * h * w + p])));
    }
  }
  return { width: w, height: h, data };
}

/** A CAM result's map for image 0 at the input's resolution (bilinear, pixel centres), `[H, W]`. */
function camToInput(map: Float32Array, h: number, w: number, size: number): SaliencyMap {
  const data = h === size && w === size
    ? map.slice(0, h * w)
    : upsampleMap(map.slice(0, h * w), h, w, size, size);
  return { data, shape: [size, size] };
}

/**
 * Share of a `[3, H, W]` map's non-zero entries whose sign is the sign of the model's normalised input
 * `(x − mean_c)/std_c` there (entries where that input is exactly 0 are left out).
 */
function signAgreement(map: Float32Array, x01: Float32Array, mean: number[], std: number[]): number {
  const hw = x01.length / 3;
  let agree = 0, total = 0;
  for (let k = 0; k < x01.length; k++) {
    const c = Math.floor(k / hw);
    const xn = (x01[k] - mean[c]) / std[c];
    if (map[k] === 0 || xn === 0) continue;
    total++;
    if (map[k] > 0 === xn > 0) agree++;
  }
  return total ? agree / total : NaN;
}

/** The mean over the `c` channels of a `[c, H, W]` map, `[H, W]`. */
function channelMean(map: Float32Array, c: number): Float32Array {
  const hw = map.length / c;
  const out = new Float32Array(hw);
  for (let k = 0; k < map.length; k++) out[k % hw] += map[k] / c;
  return out;
}

/** Index of the largest entry. */
function argmax(row: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[k]) k = i;
  return k;
}

/** Half-width of a normal 95 % interval of the mean: `1.96 · std / √n`. */
function ci95(s: { std: number | null; count: number } | undefined): number {
  return s && s.std !== null && s.count > 1 ? 1.96 * s.std / Math.sqrt(s.count) : NaN;
}

/** The Table 1 numbers of one method from a summary. */
function tableOf(summary: Summary, key: string) {
  const m = summary[key] ?? {};
  return {
    area: m.area?.mean ?? NaN,
    value: m.value?.mean ?? NaN,
    ad: m.average_drop_e?.mean ?? NaN,
    adCi: ci95(m.average_drop_e),
    win: m.win?.mean ?? NaN,
    cd: m.confidence_drop?.mean ?? NaN,
    cdCi: ci95(m.confidence_drop),
  };
}

/** Runs the IOM Table 1 protocol and writes the report; releases the model and IOM's kernel cache. */
async function run(options: ReportOptions): Promise<ReportSummary> {
  const model = await loadEvalModel("iom_cnn6");
  try {
    return await runOn(model, options);
  } finally {
    model.graph.dispose();
    clearExcitationCache();
  }
}

async function runOn(model: EvalModel, options: ReportOptions): Promise<ReportSummary> {
  const log = options.log ?? ((m: string) => console.error(m));
  const t0 = performance.now();
  const n = options.ci ? IOM_REPORT_SIZES.ci : IOM_REPORT_SIZES.full;
  const nFig = Math.min(n, options.ci ? FIGURE_IMAGES.ci : FIGURE_IMAGES.full);
  const graph: Graph = model.graph;
  const size = model.size;
  const shapeX = [3, size, size];

  const records: Record<string, EvalRecord[]> = Object.fromEntries(IOM_REPORT_LAYERS.map((l) => [l.key, []]));
  const extra: Record<string, Record<string, Extra>> = Object.fromEntries(
    IOM_REPORT_LAYERS.map((l) => [
      l.key,
      Object.fromEntries(IOM_REPORT_METHODS.map((m) => [m.key, { removed: [], empty: 0, ms: [] }])),
    ]),
  );
  const noHeatmap: number[] = [];
  const confidence: number[] = [];
  const signAgree: number[] = [];
  const iomMean = { records: [] as EvalRecord[], removed: [] as number[] };
  let correct = 0;
  const tiles: GridTile[] = [];

  for (let i = 0; i < n; i++) {
    const sample = synthSample("test", i);
    const x01 = imageToChw01(sample.image);
    const input = { data: x01, shape: shapeX };
    const [logits] = await outputs(model, [x01]);
    // The explained class: the model's decision (argmax of the logits), scored as its softmax probability.
    const c = argmax(logits);
    const y = softmax(logits)[c];
    if (c === sample.label) correct++;
    confidence.push(y);
    const score = classScorer(model, c, "prob");
    const decision = classLogit(c);
    const [oHalf] = await score([
      blendWithMap(input, { data: new Float32Array(size * size), shape: [size, size] }),
    ]);
    noHeatmap.push(averageDropTerm(y, oHalf));

    const x = chw01ToInput(model, [x01]);
    const maps: Record<string, Record<string, SaliencyMap>> = {};
    const ms: Record<string, Record<string, number>> = {};
    try {
      // IOM and FullGrad do not use a target layer: computed once, shared by both tables.
      let t = performance.now();
      const r = await iom(graph, x, decision);
      const iomMap: SaliencyMap = { data: r.map, shape: r.shape };
      const iomMs = performance.now() - t;
      t = performance.now();
      const fg = await camMap("fullgrad", graph, x, decision);
      const fgMap = camToInput(fg.map, fg.height, fg.width, size);
      const fgMs = performance.now() - t;
      for (const layer of IOM_REPORT_LAYERS) {
        maps[layer.key] = { iom: iomMap, fullgrad: fgMap };
        ms[layer.key] = { iom: iomMs, fullgrad: fgMs };
        for (const m of IOM_REPORT_METHODS) {
          if (m.cam === null || m.cam === "fullgrad") continue;
          t = performance.now();
          const cm = await camMap(m.cam, graph, x, decision, { layers: [layer.node], batchSize: 64 });
          maps[layer.key][m.key] = camToInput(cm.map, cm.height, cm.width, size);
          ms[layer.key][m.key] = performance.now() - t;
        }
      }
    } finally {
      x.dispose();
    }

    /** The protocol on one map: the record (metric names as `evaluateMap`'s) and the share `X̂` zeroes. */
    const evaluate = async (method: string, map: SaliencyMap) => {
      const f = await iomFaithfulness(input, map, score, { baseScore: y });
      const record: EvalRecord = {
        index: i,
        image: `test/${i}`,
        label: sample.label,
        method,
        metrics: {
          score: f.score,
          area: f.area,
          value: f.value,
          explanation_score: f.explanationScore,
          average_drop_e: f.averageDrop,
          perturbed_score: f.perturbedScore,
          confidence_drop: f.confidenceDrop,
        },
      };
      // The share of input entries X̂ zeroes (the perturbation's size; the paper discusses it, no column).
      const xHat = removeAboveMean(input, normalizeMap(map, "relu-minmax"));
      let changed = 0;
      for (let k = 0; k < xHat.length; k++) if (xHat[k] !== x01[k]) changed++;
      return { record, removed: changed / xHat.length };
    };
    signAgree.push(signAgreement(maps[IOM_REPORT_LAYERS[0].key].iom.data, x01, model.mean, model.std));
    for (const layer of IOM_REPORT_LAYERS) {
      for (const m of IOM_REPORT_METHODS) {
        const r = await evaluate(m.key, maps[layer.key][m.key]);
        records[layer.key].push(r.record);
        const e = extra[layer.key][m.key];
        e.removed.push(r.removed);
        if (r.record.metrics.area === 0) e.empty++;
        e.ms.push(ms[layer.key][m.key]);
      }
    }
    // Control: IOM's three channel maps averaged into one H×W map, like the baselines' (not in the nine's %Win).
    const im3 = maps[IOM_REPORT_LAYERS[0].key].iom;
    const r = await evaluate("iommean", { data: channelMean(im3.data, 3), shape: [size, size] });
    iomMean.records.push(r.record);
    iomMean.removed.push(r.removed);

    if (i < nFig) {
      const main = maps[IOM_REPORT_LAYERS[0].key];
      const im = main.iom;
      const colour = renderColour(im.data, [...im.shape]);
      const signed = renderSignedMagnitude(im.data, [...im.shape]);
      const xHat = removeAboveMean(input, normalizeMap(im, "relu-minmax"));
      const row: GridTile[] = [
        { image: sample.image, label: `${sample.className} ${(100 * y).toFixed(0)}%` },
        { image: { width: colour.width, height: colour.height, data: colour.rgb }, label: "IOM colour" },
        { image: { width: signed.width, height: signed.height, data: signed.rgb }, label: "IOM signed" },
        { image: chw01ToImage(xHat, size, size), label: "IOM X-hat" },
      ];
      for (const m of IOM_REPORT_METHODS) {
        if (m.cam === null) continue;
        const s = normalizeMap(main[m.key], "relu-minmax");
        row.push({ image: overlay(sample.image, s.data, size, size, { normalize: false }), label: m.name });
      }
      tiles.push(...row.map((tile) => ({ ...tile, image: upscale(tile.image, TILE_SCALE) })));
    }
    if ((i + 1) % 50 === 0 || i + 1 === n) {
      log(
        `${i + 1}/${n} images, ${
          ((performance.now() - t0) / 1000).toFixed(0)
        } s, tensors ${tf.memory().numTensors}`,
      );
    }
  }

  // ---- Summaries (mean, std, count per method and metric; %Win from explanation_score) ----------------
  const summaries: Record<string, Summary> = Object.fromEntries(
    IOM_REPORT_LAYERS.map((l) => [l.key, summarize(records[l.key])]),
  );
  const numbers: Record<string, number | null> = {};
  const num = (k: string, v: number) => (numbers[k] = Number.isFinite(v) ? v : null);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  num("n", n);
  num("accuracy", correct / n);
  num("confidence", mean(confidence));
  num("ad.noheatmap", mean(noHeatmap.filter(Number.isFinite)));
  num("iom.signagree", mean(signAgree.filter(Number.isFinite)));
  // The control competes in IOM's place against the eight baselines.
  const mainKey = IOM_REPORT_LAYERS[0].key;
  const meanSummary = summarize([...records[mainKey].filter((r) => r.method !== "iom"), ...iomMean.records]);
  const tMean = tableOf(meanSummary, "iommean");
  num("area.iommean", tMean.area);
  num("value.iommean", tMean.value);
  num("ad.iommean", tMean.ad);
  num("win.iommean", tMean.win);
  num("confdrop.iommean", tMean.cd);
  num("removed.iommean", mean(iomMean.removed));
  const checks: string[] = [];
  for (const [li, layer] of IOM_REPORT_LAYERS.entries()) {
    const prefix = li === 0 ? "" : `${layer.key}.`;
    let winSum = 0;
    for (const m of IOM_REPORT_METHODS) {
      const t = tableOf(summaries[layer.key], m.key);
      num(`${prefix}area.${m.key}`, t.area);
      num(`${prefix}value.${m.key}`, t.value);
      num(`${prefix}ad.${m.key}`, t.ad);
      num(`${prefix}win.${m.key}`, t.win);
      num(`${prefix}confdrop.${m.key}`, t.cd);
      num(`${prefix}removed.${m.key}`, mean(extra[layer.key][m.key].removed));
      winSum += t.win;
      const counts = Object.values(summaries[layer.key][m.key]).map((s) => s.count);
      if (counts.some((c) => c !== n)) {
        checks.push(`${layer.key}/${m.key}: a metric has fewer than ${n} values`);
      }
    }
    num(`${prefix}winsum`, winSum);
    if (Math.abs(winSum - 1) > 1e-9) checks.push(`${layer.key}: %Win sums to ${winSum}, not 1`);
  }
  for (const [k, v] of Object.entries(numbers)) {
    if (v === null) checks.push(`${k} is undefined`);
    else if (/(^|\.)(area|value|ad|win|removed)\./.test(k) && (v < 0 || v > 1)) {
      checks.push(`${k} = ${v} ∉ [0, 1]`);
    } else if (/(^|\.)confdrop\./.test(k) && v > 1) checks.push(`${k} = ${v} > 1`);
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`done in ${seconds.toFixed(0)} s; checks: ${checks.length ? checks.join("; ") : "all pass"}`);

  // ---- Markdown ------------------------------------------------------------------------------------------
  const w = new ReportWriter("iom", options);
  const main = IOM_REPORT_LAYERS[0];
  const pm = (v: number, h: number) => Number.isFinite(h) ? `${fmt(v)} ± ${fmt(h)}` : fmt(v);
  w.md(
    "# IOM: Table 1 (§8.3) on the project's 6-conv CNN",
    "",
    `IOM (pixel- and colour-level input-output mapping from positive/negative excitation, \`@cnnlens/iom\`) ` +
      `against the paper's eight CAM baselines (\`@cnnlens/cam\`) with the paper's protocol ` +
      `(\`@cnnlens/eval\`: \`iomFaithfulness\`, \`summarize\` → \`percentWin\`), on \`iom_cnn6\` ` +
      `(six 3×3 convs + ReLU, four max-pools, one linear layer; ${
        model.accuracy !== undefined ? `${(100 * model.accuracy).toFixed(1)} % test accuracy` : "trained here"
      }) over the first **${n} images** of the synthetic \`test\` split (classes A, 64×64, ${
        n % 6 === 0 ? `${n / 6} per class` : "the classes in turn"
      }; ${(100 * correct / n).toFixed(1)} % of them classified correctly, mean confidence ` +
      `${fmt(mean(confidence))}).`,
    "",
    '**Protocol** (IOM §8.3, our reading in `packages/eval/README.md`, "IOM section 8.3"):',
    "- The explained class is the model's decision (argmax of the logits); the score is its **softmax " +
      'probability** (the paper\'s "confidence").',
    "- Every map is brought to the input's 64×64 (CAMs: bilinear, pixel centres; FullGrad is already at the " +
      "input; IOM is `3×64×64`, one map per colour channel), its negatives zeroed and min-max scaled to [0, 1] " +
      '(`normalize: "relu-minmax"`; for IOM that is "we zero out the less than zero portion of the IOM").',
    "- _Avg. Area_: fraction of map entries > 0 (IOM: of its `3·H·W` entries); _Avg. Value_: their mean.",
    "- _Avg. Drop_: `max(0, Y − O_E)/Y` with `E = 0.5·X + 0.5·S` (pixels in [0, 1], the model's " +
      "normalisation applied after); _%Win_: per image the method with the highest `O_E` wins (ties split).",
    "- _Confi. Drop_: `(Y − O_X̂)/Y`, not clipped, `X̂ = (1 − I(S′)) ∘ X`, `S′` = the entries of `S` above " +
      "`mean(S)`. _Removed_ (ours only) is the share of input entries `X̂` zeroes.",
    `- CAM target layer: **\`${main.node}\`** (16×16, 32 channels), ${main.what}: "we set target layer as ` +
      'the penultimate convolutional layer" (§8.1). The same with the last conv layer `conv6` (8×8) follows.',
    "",
    'All values are fractions (the paper\'s headers say "%", its numbers are fractions too). Ours: mean ' +
      "± half-width of a normal 95 % interval of the mean (`1.96·std/√n`) where it applies.",
  );

  const tableRows = (layerKey: string, withPaper: boolean) => {
    const rows: (string | number)[][] = [];
    if (withPaper) {
      rows.push([
        "No heatmap (`E = 0.5·X`)",
        "–",
        "–",
        "–",
        "–",
        pm(mean(noHeatmap), NaN),
        fmt(PAPER_NO_HEATMAP_AD, 4),
        "–",
        "–",
        "–",
        "–",
        "–",
      ]);
    }
    for (const m of IOM_REPORT_METHODS) {
      const t = tableOf(summaries[layerKey], m.key);
      const p = PAPER_TABLE_1[m.key];
      const e = extra[layerKey][m.key];
      const name = m.key === "iom" ? "**IOM**" : m.name;
      if (withPaper && m.key !== "iom" && m === IOM_REPORT_METHODS[1]) {
        rows.push([
          "IOM, channels averaged (H×W)¹",
          fmt(tMean.area),
          "–",
          fmt(tMean.value),
          "–",
          pm(tMean.ad, tMean.adCi),
          "–",
          fmt(tMean.win),
          "–",
          pm(tMean.cd, tMean.cdCi),
          "–",
          fmt(mean(iomMean.removed)),
        ]);
      }
      rows.push(
        withPaper
          ? [
            name,
            fmt(t.area),
            fmt(p.area, 4),
            fmt(t.value),
            fmt(p.value, 4),
            pm(t.ad, t.adCi),
            fmt(p.ad, 4),
            fmt(t.win),
            fmt(p.win, 4),
            pm(t.cd, t.cdCi),
            fmt(p.cd, 4),
            fmt(mean(e.removed)),
          ]
          : [
            name,
            fmt(t.area),
            fmt(t.value),
            pm(t.ad, t.adCi),
            fmt(t.win),
            pm(t.cd, t.cdCi),
            fmt(mean(e.removed)),
            `${e.empty}`,
          ],
      );
    }
    return rows;
  };
  w.md(`## Table 1, CAMs at \`${main.node}\` (the paper's layer): ours beside the paper's`);
  w.table(
    [
      "Method",
      "Area (ours)",
      "Area (paper)",
      "Value (ours)",
      "Value (paper)",
      "Avg. Drop (ours)",
      "Avg. Drop (paper)",
      "%Win (ours)",
      "%Win (paper)",
      "Confi. Drop (ours)",
      "Confi. Drop (paper)",
      "Removed (ours)",
    ],
    tableRows(main.key, true),
  );
  const winSums = IOM_REPORT_LAYERS.map((l) =>
    `${l.key}: ${fmt(numbers[`${l === main ? "" : `${l.key}.`}winsum`], 6)}`
  );
  w.md(
    "¹ A control, not in the paper: IOM's three colour maps averaged into one `H×W` map (as the baselines' " +
      "maps are, the same value added to every channel of a pixel). Its %Win is from a separate " +
      "competition in IOM's place against the eight baselines; the nine rows above and below it compete " +
      "with each other.",
    "",
    `Checks on these numbers: %Win sums to 1 over the nine methods (${winSums.join(", ")}; the paper's ` +
      "column sums to 1.0009); every metric has a value for every image and method; Area, Value, Avg. Drop, " +
      `%Win and Removed lie in [0, 1] and Confi. Drop ≤ 1 — ${
        checks.length ? `**failed**: ${checks.join("; ")}` : "all pass"
      }.`,
  );

  const other = IOM_REPORT_LAYERS[1];
  w.md(
    `## The same with the CAMs at \`${other.node}\` (${other.what}, 8×8)`,
    "",
    "IOM and FullGrad do not use a target layer (same maps as above); their %Win changes because the other " +
      "methods' maps do. _Empty_: images where the method's map is all zero after the ReLU (then `E = 0.5·X`, " +
      "nothing is removed and the Confidence Drop is 0).",
  );
  w.table(
    ["Method", "Area", "Value", "Avg. Drop", "%Win", "Confi. Drop", "Removed", "Empty"],
    tableRows(other.key, false),
  );
  w.md(
    `Empty maps at \`${main.node}\`: ${
      IOM_REPORT_METHODS.map((m) => `${m.name} ${extra[main.key][m.key].empty}`).join(", ")
    } (of ${n}).`,
  );

  w.md(
    "## Where IOM's positive part lies",
    "",
    `In ${
      fmt(100 * (numbers["iom.signagree"] ?? NaN), 1)
    } % of IOM's non-zero entries (mean over the images) ` +
      "the sign of the map is the sign of the model's normalised input `(x − mean)/std` at that entry. That " +
      "follows from the definition: `Exc⁺` of the first convolution keeps the weights whose term `w·x` has the " +
      "sign of the (mostly positive) unit above, so `r-Exc⁺` of an input entry takes the sign of the entry. " +
      "Zeroing IOM's negatives for the comparison (§8.3) therefore keeps mostly the colour channels brighter " +
      "than the normalisation mean (here ImageNet's), and `X̂` zeroes those single channels: which entries " +
      "IOM's Table 1 numbers see depends on where the input's zero lies, a choice that does not enter the " +
      "baselines' (spatial, non-negative) maps this way.",
  );

  // ---- Reading the table: ranks and rank correlation with the paper's columns -------------------------------
  const cols = [
    { key: "area", name: "Avg. Area", paper: (p: PaperRow) => p.area, lowBest: true },
    { key: "value", name: "Avg. Value", paper: (p: PaperRow) => p.value, lowBest: true },
    { key: "ad", name: "Avg. Drop", paper: (p: PaperRow) => p.ad, lowBest: true },
    { key: "win", name: "%Win", paper: (p: PaperRow) => p.win, lowBest: false },
    { key: "confdrop", name: "Confi. Drop", paper: (p: PaperRow) => p.cd, lowBest: false },
  ];
  /** 1-based rank of IOM in a column (1 = best; ties count in IOM's favour). */
  const rankOfIom = (vals: number[], lowBest: boolean) =>
    1 + vals.filter((v) => (lowBest ? v < vals[0] : v > vals[0])).length;
  const rankRows = cols.map((col) => {
    const oursCol = IOM_REPORT_METHODS.map((m) => numbers[`${col.key}.${m.key}`] ?? NaN);
    const paperCol = IOM_REPORT_METHODS.map((m) => col.paper(PAPER_TABLE_1[m.key]));
    const rho = spearman(oursCol, paperCol);
    num(`spearman.${col.key}`, rho);
    return [
      col.name,
      `${rankOfIom(oursCol, col.lowBest)} of 9`,
      `${rankOfIom(paperCol, col.lowBest)} of 9`,
      fmt(rho, 2),
    ];
  });
  w.md(
    "## Reading the table",
    "",
    "IOM's rank among the nine methods (Area and Value: smaller first, as the paper reads them; Avg. Drop: " +
      "lower is better; %Win and Confi. Drop: higher is better), and the Spearman correlation of our column " +
      "with the paper's over the nine methods (CAMs at `" + main.node + "`):",
  );
  w.table(
    ["Column", "IOM's rank (ours)", "IOM's rank (paper)", "Spearman ρ (ours vs paper, 9 methods)"],
    rankRows,
  );
  const byAd = IOM_REPORT_METHODS.map((m) => ({ m, t: tableOf(summaries[mainKey], m.key) }))
    .sort((a, b) => a.t.ad - b.t.ad);
  w.md(
    `Lowest Average Drops: ${
      byAd.slice(0, 3).map(({ m, t }) => `${m.name} ${pm(t.ad, t.adCi)}`).join(", ")
    } (means ± 95 % intervals; overlapping intervals do not separate the methods).`,
  );
  w.md(
    `The channel-averaged control (¹) separates what the colour maps do: averaged, IOM's Average Drop is ` +
      `${fmt(tMean.ad)} (colour maps: ${fmt(numbers["ad.iom"])}), its %Win against the eight baselines ` +
      `${fmt(tMean.win)} (${fmt(numbers["win.iom"])}), its Confidence Drop ${fmt(tMean.cd)} ` +
      `(${fmt(numbers["confdrop.iom"])}) with about as many entries removed (${
        fmt(mean(iomMean.removed))
      } vs ${fmt(numbers["removed.iom"])})${
        tMean.cd < (numbers["confdrop.iom"] ?? NaN) - 0.1
          ? ": zeroing single colour channels changes the object's colour, which tells these classes apart, " +
            "while zeroing whole pixels where the averaged map is high does much less here"
          : ""
      }.`,
  );

  // ---- Figures ---------------------------------------------------------------------------------------------
  const columns = 4 + IOM_REPORT_METHODS.length - 1;
  w.md("## Maps");
  w.figure(
    "maps.png",
    grid(tiles, { columns }),
    `One test image per row (class, confidence of the decided class): the input; IOM's colour rendering ` +
      `(|IOM| of channel c drawn in colour c, §8.2 / Figure 1); IOM's signed magnitude (channel sum, red + / ` +
      `blue −); X̂ for IOM (the entries above the mean of its normalised positive part zeroed — per colour ` +
      `channel); then each baseline (CAMs at \`${main.node}\`) as the normalised map in jet over the input.`,
  );
  const names = IOM_REPORT_METHODS.map((m) => m.name);
  const ours = (k: "ad" | "confdrop") => IOM_REPORT_METHODS.map((m) => numbers[`${k}.${m.key}`] ?? NaN);
  w.figure(
    "drops.svg",
    barChartSvg(names, [
      { name: "Avg. Drop (ours)", values: ours("ad") },
      { name: "Avg. Drop (paper)", values: IOM_REPORT_METHODS.map((m) => PAPER_TABLE_1[m.key].ad) },
      { name: "Confi. Drop (ours)", values: ours("confdrop") },
      { name: "Confi. Drop (paper)", values: IOM_REPORT_METHODS.map((m) => PAPER_TABLE_1[m.key].cd) },
    ], {
      title: `Average Drop (E = 0.5·X + 0.5·S) and Confidence Drop, CAMs at ${main.node}`,
      yLabel: "fraction",
      width: 980,
      height: 360,
    }),
    "Average Drop (lower is better) and Confidence Drop (higher: the map's region mattered more) per method, " +
      "ours beside the paper's Table 1.",
  );

  // ---- Timing, what differs ---------------------------------------------------------------------------------
  w.md(
    "## Time",
    "",
    `The run took ${
      seconds.toFixed(0)
    } s for ${n} images (all methods, both layers, the protocol's forward ` +
      "passes) on a shared 2-core machine with other jobs running, so the times are noisy. Mean time per " +
      "image to compute each map (ms):",
  );
  w.table(
    ["Layer", ...names],
    IOM_REPORT_LAYERS.map((
      l,
    ) => [`\`${l.node}\``, ...IOM_REPORT_METHODS.map((m) => fmt(mean(extra[l.key][m.key].ms), 1))]),
  );
  w.md(
    "## What differs from the paper",
    "",
    "- **Model and data.** The paper's 6-conv PyTorch CNN (layers in an appendix we do not have) trained on " +
      "Dogs vs. Cats and CIFAR-10 — Table 1 does not say which data set nor how many images; ours is our " +
      "reading of it (`iom_cnn6`, 42k parameters, no BN) trained on the project's synthetic 64×64 six-class " +
      `scenes, and ${n} test images. Small images with one object on clutter make the maps and the drops ` +
      "different in scale; compare the ranking of methods, not the values.",
    "- **Normalisation and value space.** The paper does not say in which space `E = 0.5·X + 0.5·S` is formed; " +
      "we blend pixels in [0, 1] and normalise for the model afterwards. Maps are min-max scaled after the " +
      "ReLU (pytorch-grad-cam's `scale_cam_image`), which puts each map's minimum at 0: that is why baselines " +
      "never reach an area of 1.",
    "- **IOM's area counts colour channels.** IOM's map is `3×H×W` and the protocol counts each channel's " +
      "entry, and `X̂` zeroes single colour channels of a pixel; the baselines' maps are `H×W` (all channels " +
      "of a pixel together).",
    "- **Explained class and score.** The predicted class and its softmax probability (the paper does not " +
      "say; with 97 % accuracy the true class would change few images).",
    "- **Baselines** are `@cnnlens/cam`'s (pytorch-grad-cam's definitions: Score-CAM with softmax weights, " +
      "Ablation-CAM zeroing the channel, Eigen-CAM's sign fixed by the activation sum, FullGrad at the input " +
      "size); IOM smooths with a 3×3 neighbourhood average (the package default).",
    "- **Confidence Drop** is not clipped at 0 (a rise in confidence counts negative) — our reading of " +
      "XGrad-CAM's definition, which the IOM paper cites without restating.",
  );
  const file = await w.write("npx deno run -A packages/eval/reports/main.ts iom");
  return { file, numbers };
}

/** The IOM Table 1 reproduction report. */
export const report: ReportDef = {
  name: "iom",
  title: "IOM: Table 1 (Avg. Area, Value, Average Drop, %Win, Confidence Drop) on iom_cnn6",
  run,
};
