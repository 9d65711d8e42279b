/**
 * One explanation job: load the model (cached) and the image, run a method through the CLI's adapters,
 * and add the dashboard's extra views — the metrics panel when the object's box is known, IOM's
 * perturbation view, and gAP's layer list for lazy expansion.
 * @module
 */
import { resolveDecision } from "@cnnlens/cli/decision";
import { methods } from "@cnnlens/cli/methods";
import { defaultLayers } from "@cnnlens/gap";
import type { ExplainRequest } from "./protocol.ts";
import { getModel, inputFor } from "./models.ts";
import { displaySize, figureJson, pngDataUrl } from "./render.ts";
import { explanationMetrics } from "./metrics.ts";
import { iomPerturbation } from "./perturbation.ts";
import { checkpoint } from "./cancel.ts";

/**
 * Run an explanation job.
 * @param req The request.
 * @param post Progress reporter.
 * @returns The result JSON.
 */
export async function explainJob(req: ExplainRequest, post: (text: string) => void) {
  const adapter = methods[req.method];
  if (!adapter) throw new Error(`Unknown method '${req.method}'`);
  post("loading model");
  const model = await getModel(req.model);
  checkpoint();
  post("loading image");
  const input = await inputFor(req.image, model);
  const refs = [];
  try {
    for (const r of req.references ?? []) refs.push(await inputFor(r, model));
  } catch (e) {
    input.tensor.dispose();
    for (const r of refs) r.tensor.dispose();
    throw e;
  }
  // Small inputs (the 64×64 synthetic samples) are drawn enlarged so overlays stay readable.
  const modelDisplay = input.display;
  input.display = displaySize(input.display);
  for (const r of refs) r.display = displaySize(r.display);
  let decision;
  try {
    decision = await resolveDecision(model, input, { class: req.class?.toString() }, refs);
  } catch (e) {
    input.tensor.dispose();
    for (const r of refs) r.tensor.dispose();
    throw e;
  }
  let run;
  try {
    post(`running ${adapter.id}`);
    const t0 = performance.now();
    run = await adapter.explain({
      model,
      input,
      decision,
      layers: req.layers ?? [],
      references: refs,
      options: req.options ?? {},
    });
    const ms = performance.now() - t0;
    const raw = run.map?.();
    let metrics = null;
    if (req.box && raw) {
      post("scoring the map against the box");
      metrics = await explanationMetrics(
        model,
        modelDisplay,
        input.display,
        input.original,
        req.box,
        raw,
        decision,
      );
    }
    let perturbation = null;
    if (req.method === "iom" && raw) {
      post("perturbing the input by the IOM map");
      perturbation = await iomPerturbation(model, input, raw.data, decision);
    }
    post("rendering");
    const figures = run.figures().map(figureJson);
    const data: Record<string, unknown> = run.data?.() ?? {};
    if (req.method === "gap") {
      data.layers = (req.layers?.length ? req.layers : defaultLayers(model.graph)).map((l) =>
        model.graph.node(l).name
      );
    }
    return {
      decision: decision.info,
      figures,
      data,
      input: pngDataUrl(input.display),
      explain_ms: ms,
      backend: model.backend.name,
      labels: model.labels ?? null,
      metrics,
      metricsNote: req.box && !raw ? `${req.method} has no single map to score` : null,
      perturbation,
    };
  } finally {
    run?.dispose?.();
    decision.dispose();
    input.tensor.dispose();
    for (const r of refs) r.tensor.dispose();
  }
}
