import { basename } from "node:path";
import { commonOptions, intFlag, modelOptionsHelp, parse, userPreprocessing } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { UsageError } from "../errors.ts";
import { type LoadedModel, loadModel } from "../load.ts";
import { type LoadedInput, loadInput } from "../input.ts";
import { resolveDecision } from "../decision.ts";
import { OutputDir } from "../output.ts";
import { batchItems, Progress, shardItems } from "../batch.ts";
import { methodIds, methods } from "../methods/registry.ts";
import type { Figure, MethodAdapter, MethodRun } from "../methods/adapter.ts";
import { htmlReport } from "../report.ts";

export const summary = "explain a decision with a method: maps, overlays and result.json";
export const help = `cnnlens explain — ${summary}

Usage:
  cnnlens explain --model M --input X --method ID [--layer NAME]… [--class C | --top1]
                  [--reference R]… [--embedding NAME] [--out DIR] [--repeat N] [--backend B] [--json]
  cnnlens explain --model M --input DIR | --manifest FILE.jsonl --method ID [--shard i/n] [--report]

Methods: ${methodIds().join(" ")}

Batch runs (a folder or a JSONL manifest of {"image", "label", "boxes"}) write one sub-folder per input,
show progress, keep going past a bad file (named at the end, exit code 1), and --shard i/n keeps every
n-th input (item k goes to shard k mod n) for job arrays. --report writes report.html with every result.

${modelOptionsHelp}

Examples:
  cnnlens explain --model zoo:resnet18 --input cat.png --method gradcam --out out/
  cnnlens explain --model model.onnx --input x.npy --method naflow --class 3
  cnnlens explain --model zoo:faceapi-recognition --input a.jpg --reference b.jpg --method fam
  cnnlens explain --model model.onnx --input photos/ --method gap --top 3 --shard 0/4 --report
  cnnlens explain --config cnnlens.json --input photo.jpg
`;

function allFlags() {
  const flags: Record<string, unknown> = {
    ...commonOptions,
    method: { type: "string" },
    manifest: { type: "string" },
    shard: { type: "string" },
    report: { type: "boolean" },
  };
  for (const m of Object.values(methods)) Object.assign(flags, m.flags ?? {});
  return flags as typeof commonOptions & Record<string, { type: "string" | "boolean" }>;
}

/** The flags of \`explain\` (common ones plus every method's own). */
export const options = allFlags();

interface Single {
  files: string[];
  result: Record<string, unknown>;
  figures: Figure[];
}

async function explainOne(
  adapter: MethodAdapter,
  model: LoadedModel,
  inputPath: string,
  values: Record<string, unknown>,
  outDir: string | undefined,
  repeat: number,
): Promise<Single> {
  const input = await loadInput(inputPath, model);
  const references: LoadedInput[] = [];
  try {
    for (const r of (values.reference as string[] | undefined) ?? []) {
      references.push(await loadInput(r, model));
    }
    const decision = await resolveDecision(
      model,
      input,
      { class: values.class as string | undefined, embedding: values.embedding as string | undefined },
      references,
    );
    try {
      const layers = (values.layer as string[] | undefined) ?? [];
      for (const l of layers) model.graph.node(l); // unknown layer → error with the nearest names
      const ctx = { model, input, decision, layers, references, options: values };
      // --repeat N: one untimed warm-up, then N timed runs, median reported (CONTRACT.md); else one timed run.
      const times: number[] = [];
      if (repeat > 0) (await adapter.explain(ctx)).dispose?.();
      let run: MethodRun | undefined;
      for (let i = 0; i < Math.max(1, repeat); i++) {
        run?.dispose?.();
        const t0 = performance.now();
        run = await adapter.explain(ctx);
        times.push(performance.now() - t0);
      }
      const out = await OutputDir.open(outDir);
      const extra = await run!.write(out);
      const sorted = [...times].sort((a, b) => a - b);
      const result = {
        method: adapter.id,
        model: model.source,
        input: inputPath,
        decision: decision.info,
        layers: extra.layers ?? layers,
        backend: model.backend.name,
        timings: { explain_ms: sorted[Math.floor(sorted.length / 2)], runs: times.length },
        ...extra,
      };
      const text = await out.result(result);
      const figures = run!.figures();
      run!.dispose?.();
      return { files: out.files, result: JSON.parse(text), figures };
    } finally {
      decision.dispose();
    }
  } finally {
    input.tensor.dispose();
    for (const r of references) r.tensor.dispose();
  }
}

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "explain", options));
  const id = values.method as string | undefined;
  if (!id) throw new UsageError(`explain needs --method (one of: ${methodIds().join(", ")})`);
  const adapter = methods[id];
  if (!adapter) throw new UsageError(`Unknown method '${id}': use one of ${methodIds().join(", ")}`);
  if (!values.model) throw new UsageError("explain needs --model (a .onnx file, a model.json, or zoo:NAME)");
  if (!values.input && !values.manifest) {
    throw new UsageError("explain needs --input (an image, .npy, or a folder)");
  }
  const repeat = intFlag("repeat", values.repeat as string | undefined) ?? 0;
  shardItems([], values.shard as string | undefined); // validate --shard before any work
  const model = await loadModel(
    values.model as string,
    values.backend as string,
    await userPreprocessing(values as Record<string, string | undefined>, config),
  );
  try {
    const items = await batchItems({ input: values.input as string, manifest: values.manifest as string });
    if (!items) {
      const r = await explainOne(
        adapter,
        model,
        values.input as string,
        values,
        values.out as string,
        repeat,
      );
      const dir = (values.out as string) ?? "cnnlens-out";
      if (values.json) console.log(JSON.stringify(r.result, null, 2));
      else console.log(`${adapter.id}: wrote ${r.files.length} files to ${dir}`);
      return 0;
    }
    const mine = shardItems(items, values.shard as string | undefined);
    const root = (values.out as string) ?? `cnnlens-out/${new Date().toISOString().replace(/[:.]/g, "-")}`;
    const progress = new Progress(mine.length, adapter.id);
    const failed: { input: string; error: string }[] = [];
    const done: { name: string; result: Record<string, unknown>; figures: Figure[] }[] = [];
    for (const it of mine) {
      try {
        const r = await explainOne(adapter, model, it.input, values, `${root}/${it.name}`, repeat);
        done.push({ name: it.name, result: { ...r.result, meta: it.meta }, figures: r.figures });
        progress.tick(basename(it.input));
      } catch (e) {
        failed.push({ input: it.input, error: (e as Error).message.split("\n")[0] });
        progress.tick(`${basename(it.input)} FAILED`);
      }
    }
    const out = await OutputDir.open(root);
    if (values.report) {
      await out.bytes(
        "report.html",
        new TextEncoder().encode(htmlReport(
          `cnnlens ${adapter.id}`,
          done.map((d) => ({
            title: d.name,
            subtitle: JSON.stringify(d.result.decision),
            figures: d.figures,
          })),
        )),
      );
    }
    await out.bytes(
      "batch.json",
      new TextEncoder().encode(
        JSON.stringify(
          {
            method: adapter.id,
            shard: values.shard ?? null,
            done: done.map((d) => d.name),
            failed,
          },
          null,
          2,
        ),
      ),
    );
    console.log(`${adapter.id}: ${done.length} explained, ${failed.length} failed — wrote ${root}/`);
    for (const f of failed) console.error(`cnnlens: failed: ${f.input}: ${f.error}`);
    return failed.length ? 1 : 0;
  } finally {
    model.graph.dispose();
  }
}
