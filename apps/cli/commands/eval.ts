import { type RgbImage, runForward, tf, upsampleMap, writeFileAtomic } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";
import {
  type EvalRecord,
  evaluateMap,
  makeResults,
  ManifestError,
  mergeShards,
  METRIC_IDS,
  type MetricId,
  parseResults,
  parseShardSpec,
  readManifest,
  recordsToCsv,
  resultsToHtml,
  resultsToJson,
  scaleBox,
  shard,
  ShardError,
  summaryToCsv,
} from "@cnnlens/eval";
import { join } from "node:path";
import { modelOptions, modelOptionsHelp, parse, userPreprocessing } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { UsageError } from "../errors.ts";
import { loadModel } from "../load.ts";
import { loadInput } from "../input.ts";
import { resolveDecision } from "../decision.ts";
import { methods } from "../methods/registry.ts";
import { Progress } from "../batch.ts";

export const summary = "score methods with the papers' metrics over a JSONL manifest; merge shards";
export const help = `cnnlens eval — ${summary}

Usage:
  cnnlens eval --model M --manifest FILE.jsonl --method ID[,ID…] [--metrics ${METRIC_IDS.join(",")}]
               [--shard i/n] [--out DIR] [--backend B]
  cnnlens eval merge --out DIR SHARD_DIR_OR_results.json…

The manifest has one {"image", "label", "boxes"} per line (boxes [x0, y0, x1, y1] in the original
image's pixels). Each image is explained with each method (the decision is the manifest's label, else
the top-1 class), and the map is scored: proportion and iou (FAM Eqs. 19-20, need boxes), fam (Average
Drop / Increase in Confidence, Eqs. 21-22), iom (IOM §8.3), deletion / insertion AUC, road. Scores are
softmax probabilities. Writes results.json, records.csv, summary.csv and report.html. --shard i/n
(0-based, contiguous) evaluates one part for job arrays (Kubernetes indexed Jobs, Slurm arrays); eval
merge joins the parts and checks they cover the manifest exactly once.

${modelOptionsHelp}

Examples:
  cnnlens eval --model model.onnx --manifest val.jsonl --method gradcam,scorecam --metrics proportion,iou,fam
  cnnlens eval --model model.onnx --manifest val.jsonl --method naflow --shard 3/8 --out shards/3
  cnnlens eval merge --out merged shards/*
`;

function hwcToChw(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = img.data[i * 3 + c] / 255;
  return out;
}

async function writeResults(dir: string, results: ReturnType<typeof makeResults>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const enc = (s: string) => new TextEncoder().encode(s);
  await writeFileAtomic(join(dir, "results.json"), enc(resultsToJson(results)));
  await writeFileAtomic(join(dir, "records.csv"), enc(recordsToCsv(results.records)));
  await writeFileAtomic(join(dir, "summary.csv"), enc(summaryToCsv(results.summary)));
  await writeFileAtomic(join(dir, "report.html"), enc(resultsToHtml(results, { title: "cnnlens eval" })));
}

/** The flags of \`eval\` (\`eval merge\` takes --out only). */
export const options = {
  ...modelOptions,
  manifest: { type: "string" },
  method: { type: "string" },
  metrics: { type: "string", default: "proportion,iou,fam,iom,deletion,insertion" },
  shard: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const mergeOptions = { out: { type: "string" }, help: { type: "boolean", short: "h" } } as const;

async function merge(argv: string[], config?: CliConfig): Promise<number> {
  const { values, positionals } = parse(argv, mergeOptions, configDefaults(config, "eval", mergeOptions));
  if (!values.out) throw new UsageError("eval merge needs --out DIR");
  if (!positionals.length) throw new UsageError("eval merge needs the shards' folders or results.json files");
  const parts = [];
  for (const p of positionals) {
    const file = p.endsWith(".json") ? p : join(p, "results.json");
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      throw new UsageError(`Cannot read shard results '${file}': no such file`);
    }
    parts.push(parseResults(text, file));
  }
  let merged;
  try {
    merged = mergeShards(parts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await writeResults(values.out, merged);
  console.log(`merged ${parts.length} shards (${merged.records.length} records) into ${values.out}/`);
  return 0;
}

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  if (argv[0] === "merge") return await merge(argv.slice(1), config);
  const { values } = parse(argv, options, configDefaults(config, "eval", options));
  if (!values.model) throw new UsageError("eval needs --model");
  if (!values.manifest) throw new UsageError("eval needs --manifest FILE.jsonl");
  if (!values.method) throw new UsageError("eval needs --method ID[,ID…]");
  const ids = values.method.split(",");
  for (const id of ids) {
    if (!methods[id]) {
      throw new UsageError(`Unknown method '${id}': use one of ${Object.keys(methods).join(", ")}`);
    }
  }
  const metrics = values.metrics.split(",") as MetricId[];
  for (const m of metrics) {
    if (!(METRIC_IDS as readonly string[]).includes(m)) {
      throw new UsageError(`Unknown metric '${m}': use ${METRIC_IDS.join(", ")}`);
    }
  }
  let entries;
  let part: { index: number; count: number } | undefined;
  try {
    entries = await readManifest(values.manifest);
    part = values.shard ? parseShardSpec(values.shard) : undefined;
  } catch (e) {
    if (e instanceof ManifestError || e instanceof ShardError) throw new UsageError(e.message);
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  const mine = part ? shard(entries, part.index, part.count) : entries;
  const model = await loadModel(values.model, values.backend, await userPreprocessing(values, config));
  const records: EvalRecord[] = [];
  const progress = new Progress(mine.length * ids.length, "eval");
  try {
    for (const entry of mine) {
      let input;
      try {
        input = await loadInput(entry.image, model);
      } catch (e) {
        for (const id of ids) {
          records.push({
            index: entry.index,
            image: entry.image,
            method: id,
            metrics: {},
            error: (e as Error).message,
          });
          progress.tick(`${entry.image} FAILED`);
        }
        continue;
      }
      const [h, w] = model.size;
      const x = { data: hwcToChw(smallDisplay(input.display, h, w)), shape: [3, h, w] };
      const label = typeof entry.label === "number" ? String(entry.label) : undefined;
      const decision = await resolveDecision(model, input, { class: label });
      const cls = decision.info.class as number;
      const score = async (xs: Float32Array[]) => {
        const t = tf.tidy(() => {
          const stacked = tf.stack(xs.map((d) => tf.tensor3d(d, [3, h, w])));
          const nhwc = tf.transpose(stacked, [0, 2, 3, 1]);
          return tf.div(tf.sub(nhwc, tf.tensor1d(model.mean)), tf.tensor1d(model.std));
        });
        const tr = runForward(model.graph, t, { keep: [] });
        const p = tf.tidy(() =>
          tf.gather(tf.softmax(tf.reshape(tr.get(model.graph.output), [xs.length, -1])), cls, 1)
        );
        const v = Array.from(await p.data() as Float32Array);
        for (const z of [t, p] as Tensor[]) z.dispose();
        tr.dispose();
        return v;
      };
      try {
        for (const id of ids) {
          const run = await methods[id].explain({
            model,
            input,
            decision,
            layers: [],
            references: [],
            options: {},
          });
          const raw = run.map?.();
          run.dispose?.();
          if (!raw) throw new UsageError(`Method '${id}' has no single map to score`);
          const map = raw.shape.length === 3
            ? { data: raw.data, shape: raw.shape }
            : { data: upsampleMap(raw.data, raw.shape[0], raw.shape[1], h, w), shape: [h, w] };
          const boxes = entry.boxes.map((b) => scaleBox(b, input!.original, { width: w, height: h }));
          const m = await evaluateMap(x, map, score, {
            metrics: metrics.filter((k) => boxes.length || (k !== "proportion" && k !== "iou")),
            boxes,
          });
          records.push({
            index: entry.index,
            image: entry.image,
            label: entry.label,
            method: id,
            metrics: m,
          });
          progress.tick(`${entry.image} ${id}`);
        }
      } finally {
        decision.dispose();
        input.tensor.dispose();
      }
    }
  } finally {
    model.graph.dispose();
  }
  const results = makeResults({
    shard: part,
    total: entries.length,
    config: { model: values.model, methods: ids, metrics },
    records,
  });
  const out = values.out ?? `cnnlens-out/eval-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await writeResults(out, results);
  const failed = records.filter((r) => r.error);
  console.log(`eval: ${records.length - failed.length} records, ${failed.length} failed — wrote ${out}/`);
  for (const f of failed) console.error(`cnnlens: failed: ${f.image}: ${f.error}`);
  return failed.length ? 1 : 0;
}

function smallDisplay(img: RgbImage, h: number, w: number): RgbImage {
  if (img.width === w && img.height === h) return img;
  const fy = img.height / h;
  const fx = img.width / w;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor((y + 0.5) * fy) * img.width + Math.floor((x + 0.5) * fx)) * 3;
      out.set(img.data.subarray(s, s + 3), (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data: out };
}
