/// <reference lib="deno.worker" />
/**
 * The job worker: loads models (cached), runs a method through the CLI's method adapters, and posts back
 * JSON with PNG data URLs. Runs off the server's main thread.
 * @module
 */
import { type LoadedModel, loadModel } from "@cnnlens/cli/load";
import { loadInput } from "@cnnlens/cli/input";
import { resolveDecision } from "@cnnlens/cli/decision";
import { methods } from "@cnnlens/cli/methods";
import { pngDataUrl } from "@cnnlens/cli/report";
import type { JobRequest } from "./jobs.ts";

const cache = new Map<string, LoadedModel>();

async function explain(id: string, req: JobRequest) {
  const post = (text: string) => self.postMessage({ id, type: "progress", text });
  const adapter = methods[req.method];
  if (!adapter) throw new Error(`Unknown method '${req.method}'`);
  post("loading model");
  let model = cache.get(req.model);
  if (!model) {
    model = await loadModel(req.model, "auto");
    cache.set(req.model, model);
  }
  post("loading image");
  const input = await loadInput(req.image, model);
  const refs = [];
  for (const r of req.references ?? []) refs.push(await loadInput(r, model));
  const decision = await resolveDecision(model, input, { class: req.class?.toString() }, refs);
  try {
    post(`running ${adapter.id}`);
    const t0 = performance.now();
    const run = await adapter.explain({
      model,
      input,
      decision,
      layers: req.layers ?? [],
      references: refs,
      options: req.options ?? {},
    });
    const ms = performance.now() - t0;
    post("rendering");
    const figures = run.figures().map((f) => ({
      title: f.title,
      group: f.group ?? null,
      node: f.node ?? null,
      image: pngDataUrl(f.image),
      heat: f.heat ? pngDataUrl(f.heat) : null,
    }));
    const data = run.data?.() ?? {};
    run.dispose?.();
    return {
      decision: decision.info,
      figures,
      data,
      input: pngDataUrl(input.display),
      explain_ms: ms,
      backend: model.backend.name,
    };
  } finally {
    decision.dispose();
    input.tensor.dispose();
    for (const r of refs) r.tensor.dispose();
  }
}

self.onmessage = async (e: MessageEvent<{ id: string; type: string; request: JobRequest }>) => {
  const { id, request } = e.data;
  try {
    self.postMessage({ id, type: "done", result: await explain(id, request) });
  } catch (err) {
    self.postMessage({ id, type: "error", error: (err as Error).message.split("\n")[0] });
  }
};

self.postMessage({ id: "", type: "ready" });
