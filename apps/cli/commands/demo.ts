import { camMethodIds } from "@cnnlens/cam";
import { join } from "node:path";
import { parse } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { loadModel } from "../load.ts";
import { loadInput } from "../input.ts";
import { resolveDecision } from "../decision.ts";
import { methodIds, methods } from "../methods/registry.ts";
import type { Figure } from "../methods/adapter.ts";
import { htmlReport, type ReportSection } from "../report.ts";
import { OutputDir } from "../output.ts";
import { UsageError } from "../errors.ts";
import { demoSetup } from "../demo_setup.ts";

export const summary = "run the embedded demo: a shipped model and image, every method, an HTML report";
export const help = `cnnlens demo — ${summary}

Runs every method on the models and photos that ship with cnnlens (face-api's face expression
classifier and face recognition network on its sample photos) and writes one self-contained HTML report
(images inline), then prints where it is. --quick runs the same on the small models trained here on
synthetic shapes (zoo:synth-vgg, zoo:synth-fewshot) and a generated image: seconds instead of a minute.

Usage:
  cnnlens demo [--quick] [--out DIR] [--backend auto|webgpu|wasm|cpu] [--methods id,id,…]

Examples:
  cnnlens demo
  cnnlens demo --quick --out quick-report
  cnnlens demo --out demo-report --methods naflow,gap,gradcam
`;

/** The flags of \`demo\`. */
export const options = {
  out: { type: "string", default: "cnnlens-out/demo" },
  backend: { type: "string", default: "auto" },
  methods: { type: "string" },
  quick: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The CAM-family baselines, shown side by side in one section. */
const BASELINES = new Set<string>(camMethodIds);

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "demo", options));
  const wanted = values.methods ? values.methods.split(",") : methodIds();
  for (const m of wanted) {
    if (!methods[m]) throw new UsageError(`Unknown method '${m}': use ${methodIds().join(", ")}`);
  }
  const setup = await demoSetup(values.out, { quick: values.quick });
  const sections: ReportSection[] = [];
  const t0 = performance.now();
  for (const task of setup.tasks) {
    const model = await loadModel(task.model, values.backend);
    const input = await loadInput(task.input, model);
    const refs = [];
    for (const r of task.references ?? []) refs.push(await loadInput(r, model));
    const decision = await resolveDecision(model, input, {}, refs);
    const baselines: ReportSection = { title: `${task.title} — CAM baselines side by side`, figures: [] };
    try {
      for (const id of task.methods.filter((m) => wanted.includes(m) && methods[m])) {
        const s = performance.now();
        let run;
        try {
          run = await methods[id].explain({
            model,
            input,
            decision,
            layers: [],
            references: refs,
            options: {},
          });
        } catch (e) {
          // A method that does not apply to this model (e.g. CAM without a GAP + FC head) is reported, not fatal.
          const why = (e as Error).message.split("\n")[0];
          console.log(`${task.title}: ${id} skipped: ${why}`);
          sections.push({ title: `${task.title} — ${id}: not applicable`, subtitle: why, figures: [] });
          continue;
        }
        const figures: Figure[] = run.figures();
        run.dispose?.();
        const ms = performance.now() - s;
        console.log(`${task.title}: ${id} (${ms.toFixed(0)} ms)`);
        if (BASELINES.has(id)) {
          baselines.subtitle = describe(decision.info);
          baselines.figures.push(
            ...figures.map((f) => ({ ...f, title: `${f.title} (${ms.toFixed(0)} ms)` })),
          );
          continue;
        }
        sections.push({
          title: `${task.title} — ${id}`,
          subtitle: `${methods[id].summary} · ${describe(decision.info)} · ${
            ms.toFixed(0)
          } ms on ${model.backend.name}`,
          figures,
        });
      }
      if (baselines.figures.length) sections.push(baselines);
    } finally {
      decision.dispose();
      input.tensor.dispose();
      for (const r of refs) r.tensor.dispose();
      model.graph.dispose();
    }
  }
  const out = await OutputDir.open(values.out);
  const html = htmlReport(
    `cnnlens demo${values.quick ? " --quick" : ""} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    sections,
  );
  await out.bytes("report.html", new TextEncoder().encode(html));
  console.log(`report: ${join(out.dir, "report.html")}`);
  return 0;
}

function describe(info: Record<string, unknown>): string {
  if (info.kind === "similarity") return `cosine similarity ${(info.score as number).toFixed(3)}`;
  return `class ${info.class}${info.label ? ` (${info.label})` : ""}, logit ${
    (info.score as number).toFixed(3)
  }`;
}
