import { runForward, tf, writePng } from "@cnnlens/core";
import type { RgbImage } from "@cnnlens/core";
import { commonOptions, intFlag, modelOptionsHelp, parse, userPreprocessing } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { UsageError } from "../errors.ts";
import { type LoadedModel, loadModel } from "../load.ts";
import { type LoadedInput, loadInput } from "../input.ts";
import { resolveDecision } from "../decision.ts";
import { OutputDir } from "../output.ts";
import { methodIds, methods } from "../methods/registry.ts";

export const summary =
  "time every method (or the ones named) on a model: median ms, ratio to a forward pass, memory";
export const help = `cnnlens bench — ${summary}

Usage:
  cnnlens bench --model M [--input X] [--method ID]… [--runs N] [--backend B] [--out DIR] [--json]

Each method gets one untimed warm-up, then --runs timed runs (default 3); the table gives the median, the
minimum, the median as a multiple of one forward pass, the peak tensor memory of one run above what was
allocated before it (tf.profile), and tensors left behind by the timed runs (should be 0; per-model caches filled by the warm-up
are not counted). Without --input a
seeded synthetic picture of the model's size is used. Similarity methods (fam) use --reference, or the
input mirrored left to right. Methods that cannot run on the model are listed with the reason.
Comparing backends: run once per --backend and compare ratios (software WebGPU adapters are slow).

${modelOptionsHelp}

Examples:
  cnnlens bench --model synth-vgg
  cnnlens bench --model zoo:resnet18 --method gradcam --method naflow --runs 5 --backend wasm
  cnnlens bench --model synth-fewshot --method fam --json
`;

/** The flags of \`bench\`. */
export const options = {
  ...commonOptions,
  method: { type: "string", multiple: true },
  runs: { type: "string" },
} as const;

/** One row of the benchmark table. */
export interface BenchRow {
  method: string;
  median_ms: number | null;
  min_ms: number | null;
  /** Median / forward-pass median. */
  ratio: number | null;
  /** Peak tensor bytes of one run above the bytes held before it. */
  peak_mib: number | null;
  /** Tensors still allocated after all runs that were not before (a leak if > 0). */
  leaked_tensors: number | null;
  /** Why the method did not run. */
  skipped?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A seeded smooth colour picture (sums of sinusoids), so runs are repeatable without an input file. */
function syntheticPicture(h: number, w: number): RgbImage {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.25 * Math.sin((x * (c + 2)) / w * 6.3 + c) +
          0.25 * Math.cos((y * (3 - c)) / h * 6.3);
        data[(y * w + x) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { width: w, height: h, data };
}

async function timeForward(model: LoadedModel, x: LoadedInput, runs: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const tr = runForward(model.graph, x.tensor, { keep: [] });
    await tr.get(model.graph.output).data();
    tr.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return median(times);
}

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "bench", options));
  if (!values.model) throw new UsageError("bench needs --model (a .onnx file, a model.json, or zoo:NAME)");
  const runs = intFlag("runs", values.runs) ?? 3;
  if (runs < 1) throw new UsageError(`--runs must be at least 1, got ${runs}`);
  const ids = values.method ?? methodIds();
  for (const id of ids) {
    if (!methods[id]) throw new UsageError(`Unknown method '${id}': use one of ${methodIds().join(", ")}`);
  }
  const model = await loadModel(values.model, values.backend, await userPreprocessing(values, config));
  let tmp: string | undefined;
  const inputs: LoadedInput[] = [];
  try {
    let path = values.input;
    if (!path) {
      tmp = await Deno.makeTempFile({ prefix: "cnnlens-bench-", suffix: ".png" });
      await writePng(tmp, syntheticPicture(model.size[0], model.size[1]));
      path = tmp;
    }
    const input = await loadInput(path, model);
    inputs.push(input);
    const references: LoadedInput[] = [];
    for (const r of values.reference ?? []) {
      const ref = await loadInput(r, model);
      inputs.push(ref);
      references.push(ref);
    }
    if (!references.length) {
      const mirrored = {
        ...input,
        tensor: tf.reverse(input.tensor, 2),
        source: `${input.source} (mirrored)`,
      };
      inputs.push(mirrored);
      references.push(mirrored);
    }
    const forwardMs = await timeForward(model, input, runs);
    const rows: BenchRow[] = [];
    for (const id of ids) {
      const adapter = methods[id];
      const refs = id === "fam" ? references : [];
      let before = 0;
      let decision;
      try {
        decision = await resolveDecision(
          model,
          input,
          { class: values.class, embedding: values.embedding },
          refs,
        );
        const ctx = { model, input, decision, layers: values.layer ?? [], references: refs, options: values };
        (await adapter.explain(ctx)).dispose?.(); // warm-up (may fill per-model caches)
        before = tf.memory().numTensors;
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const r = await adapter.explain(ctx);
          times.push(performance.now() - t0);
          r.dispose?.();
        }
        const held = tf.memory().numBytes;
        const info = await tf.profile(async () => (await adapter.explain(ctx)).dispose?.());
        const leaked = tf.memory().numTensors - before;
        decision.dispose();
        decision = undefined;
        const med = median(times);
        rows.push({
          method: id,
          median_ms: med,
          min_ms: Math.min(...times),
          ratio: med / forwardMs,
          peak_mib: Math.max(0, info.peakBytes - held) / 2 ** 20,
          leaked_tensors: leaked,
        });
      } catch (e) {
        decision?.dispose();
        rows.push({
          method: id,
          median_ms: null,
          min_ms: null,
          ratio: null,
          peak_mib: null,
          leaked_tensors: null,
          skipped: (e as Error).message.split("\n")[0],
        });
      }
      if (!values.json) console.error(`  ${id} done`);
    }
    const result = {
      model: model.source,
      input: values.input ?? "synthetic",
      backend: model.backend.name,
      runs,
      forward_ms: forwardMs,
      methods: rows,
    };
    if (values.out) await (await OutputDir.open(values.out)).result(result);
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(benchTable(result));
    return 0;
  } finally {
    for (const x of inputs) x.tensor.dispose();
    model.graph.dispose();
    if (tmp) await Deno.remove(tmp).catch(() => {});
  }
}

/** The human-readable table. */
export function benchTable(
  r: { model: string; backend: string; runs: number; forward_ms: number; methods: BenchRow[] },
): string {
  const f = (v: number | null, d: number) => v === null ? "–" : v.toFixed(d);
  const head = ["method", "median ms", "min ms", "× forward", "peak MiB", "leaked"];
  const body = r.methods.map((m) =>
    m.skipped ? [m.method, `not run: ${m.skipped}`] : [
      m.method,
      f(m.median_ms, 1),
      f(m.min_ms, 1),
      f(m.ratio, 1),
      f(m.peak_mib, 1),
      String(m.leaked_tensors),
    ]
  );
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.filter((b) => b.length > 2).map((b) => b[i].length))
  );
  const line = (cells: string[]) =>
    cells.length === 2
      ? `${cells[0].padEnd(widths[0])}  ${cells[1]}`
      : cells.map((c, i) => i ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ");
  return [
    `${r.model} on ${r.backend}: forward ${r.forward_ms.toFixed(1)} ms (median of ${r.runs})`,
    line(head),
    ...body.map(line),
  ].join("\n");
}
