import { decodeImage, parseOnnx } from "@cnnlens/core";
import { join } from "node:path";
import { imageChoice, imagePath, models, modelSpec, publicImages, uploads } from "../catalog.ts";
import type { EpisodeRequest, ExplainRequest, JobManager } from "../jobs.ts";
import { checkEpisode } from "../work/episode.ts";
import { canExpand, findNode, NODE_ID, type TreeNodeJson } from "../islands/tree.ts";

/** Upload size limits, bytes (and the largest JSON request body). */
export const LIMITS = { image: 10 * 1024 * 1024, model: 64 * 1024 * 1024, json: 256 * 1024 };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A 4xx with a one-line message. */
export function problem(status: number, message: string): Response {
  return json({ error: message }, status);
}

async function readLimited(req: Request, limit: number): Promise<Uint8Array | Response> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) return problem(413, `Upload too large: ${declared} bytes, the limit is ${limit}`);
  const reader = req.body?.getReader();
  if (!reader) return problem(400, "Request has no body");
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return problem(413, `Upload too large: more than ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function upload(req: Request, kind: string): Promise<Response> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim();
  if (kind === "image") {
    if (!["image/png", "image/jpeg"].includes(type)) {
      return problem(415, `Unsupported image type '${type || "none"}': upload image/png or image/jpeg`);
    }
    const body = await readLimited(req, LIMITS.image);
    if (body instanceof Response) return body;
    try {
      decodeImage(body, "upload");
    } catch (e) {
      return problem(400, (e as Error).message);
    }
    const name = `${crypto.randomUUID().slice(0, 8)}.${type === "image/png" ? "png" : "jpg"}`;
    uploads.dir ||= await Deno.makeTempDir({ prefix: "cnnlens-uploads-" });
    await Deno.writeFile(join(uploads.dir, name), body);
    return json({ id: `upload:${name}` }, 201);
  }
  if (kind === "model") {
    if (!["application/octet-stream", "application/onnx"].includes(type)) {
      return problem(
        415,
        `Unsupported model type '${type || "none"}': upload an ONNX file as application/octet-stream`,
      );
    }
    const body = await readLimited(req, LIMITS.model);
    if (body instanceof Response) return body;
    try {
      parseOnnx(body);
    } catch (e) {
      return problem(400, (e as Error).message);
    }
    const name = `${crypto.randomUUID().slice(0, 8)}.onnx`;
    uploads.dir ||= await Deno.makeTempDir({ prefix: "cnnlens-uploads-" });
    await Deno.writeFile(join(uploads.dir, name), body);
    return json({ id: `upload:${name}` }, 201);
  }
  return problem(400, `Unknown upload kind '${kind}': use image or model`);
}

async function readJson(req: Request): Promise<Record<string, unknown> | Response> {
  const body = await readLimited(req, LIMITS.json);
  if (body instanceof Response) return body;
  try {
    const v = JSON.parse(new TextDecoder().decode(body));
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      return problem(400, "Job request must be a JSON object");
    }
    return v;
  } catch {
    return problem(400, "Job request is not valid JSON");
  }
}

function plainOptions(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (["string", "number", "boolean"].includes(typeof x)) out[k] = x;
  return out;
}

function intIn(v: unknown, name: string, fallback: number): number {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n)) throw new RangeError(`${name} must be an integer, got '${v}'`);
  return n;
}

function episodeRequest(
  body: Record<string, unknown>,
  model: string,
): EpisodeRequest | Response {
  const source = body.source === "samples"
    ? "samples"
    : body.source === "synth" || body.source === undefined
    ? "synth"
    : undefined;
  if (!source) return problem(400, `Unknown episode source '${body.source}': use synth or samples`);
  let r: EpisodeRequest;
  try {
    r = {
      kind: "episode",
      model,
      source,
      ways: intIn(body.ways, "ways", 5),
      shots: intIn(body.shots, "shots", 1),
      queries: intIn(body.queries, "queries", 1),
      episode: intIn(body.episode, "episode", 0),
      explain: typeof body.explain === "string" ? body.explain.slice(0, 100) : "predicted",
    };
    if (r.episode < 0) throw new RangeError(`episode must be ≥ 0, got ${r.episode}`);
    checkEpisode(r);
  } catch (e) {
    return problem(400, (e as Error).message);
  }
  if (source === "samples") {
    const classes = Array.isArray(body.classes) ? body.classes : [];
    if (classes.length !== r.ways) return problem(400, `Give ${r.ways} classes, got ${classes.length}`);
    r.classes = [];
    for (const [j, c] of classes.entries()) {
      const label = String((c as { label?: unknown })?.label ?? `class ${j + 1}`).slice(0, 100);
      const ids = (c as { images?: unknown })?.images;
      if (!Array.isArray(ids) || ids.length !== r.shots) {
        return problem(400, `Class '${label}' needs ${r.shots} support images`);
      }
      const images: string[] = [];
      for (const id of ids) {
        const p = imagePath(String(id));
        if (!p) return problem(400, `Unknown support image '${id}'`);
        images.push(p);
      }
      r.classes.push({ label, images });
    }
    const qs = Array.isArray(body.queryImages) ? body.queryImages : [];
    if (qs.length < 1 || qs.length > 10) return problem(400, "Give 1 to 10 query images");
    r.queryImages = [];
    for (const q of qs) {
      const id = typeof q === "string" ? q : String((q as { image?: unknown })?.image);
      const p = imagePath(id);
      if (!p) return problem(400, `Unknown query image '${id}'`);
      const label = (q as { label?: unknown })?.label;
      r.queryImages.push({ path: p, label: label === undefined ? undefined : String(label).slice(0, 100) });
    }
  }
  return r;
}

async function submitJob(req: Request, jobs: JobManager): Promise<Response> {
  const body = await readJson(req);
  if (body instanceof Response) return body;
  const spec = await modelSpec(String(body.model ?? ""));
  if (!spec) return problem(400, `Unknown model '${body.model}': pick one from /api/catalog`);
  if (body.kind === "episode") {
    const r = episodeRequest(body, spec);
    if (r instanceof Response) return r;
    const job = jobs.submit(r);
    return json({ id: job.id, status: job.status }, 202);
  }
  if (body.kind !== undefined && body.kind !== "explain") {
    return problem(400, `Unknown job kind '${body.kind}': use explain or episode`);
  }
  const img = imageChoice(String(body.image ?? ""));
  if (!img) return problem(400, `Unknown image '${body.image}': pick one from /api/catalog or upload one`);
  const refs: string[] = [];
  for (const r of Array.isArray(body.references) ? body.references : []) {
    const rp = imagePath(String(r));
    if (!rp) return problem(400, `Unknown reference image '${r}'`);
    refs.push(rp);
  }
  const { methods } = await import("@cnnlens/cli/methods");
  if (!Object.hasOwn(methods, String(body.method))) return problem(400, `Unknown method '${body.method}'`);
  const request: ExplainRequest = {
    kind: "explain",
    model: spec,
    image: img.path,
    method: String(body.method),
    layers: Array.isArray(body.layers) ? body.layers.map(String) : [],
    class: typeof body.class === "number" ? body.class : undefined,
    references: refs,
    options: plainOptions(body.options),
    box: img.box,
  };
  const job = jobs.submit(request);
  return json({ id: job.id, status: job.status }, 202);
}

async function expand(req: Request, jobs: JobManager, parentId: string): Promise<Response> {
  const parent = jobs.jobs.get(parentId);
  if (!parent) return problem(404, `No job '${parentId}'`);
  const pr = parent.request;
  if (pr.kind === "episode" || pr.kind === "expand" || pr.method !== "gap") {
    return problem(400, `Job '${parentId}' is not a gAP explanation: only gAP trees expand`);
  }
  if (parent.status !== "done") {
    return problem(409, `Job '${parentId}' is ${parent.status}: expand a finished tree`);
  }
  const body = await readJson(req);
  if (body instanceof Response) return body;
  const id = String(body.node ?? "");
  const data = (parent.result as { data?: { tree?: TreeNodeJson; layers?: string[] } }).data ?? {};
  const node = NODE_ID.test(id) && data.tree ? findNode(data.tree, id) : undefined;
  if (!node || node.layer === undefined) return problem(400, `No tree node '${id}' in job '${parentId}'`);
  if (!canExpand(node, data.layers)) {
    return problem(
      400,
      node.children?.length
        ? `Node '${id}' is already expanded`
        : `Node '${id}' is in the shallowest layer '${node.layer}': nothing to expand`,
    );
  }
  const job = jobs.submit({
    kind: "expand",
    model: pr.model,
    image: pr.image,
    layers: pr.layers ?? [],
    options: pr.options,
    parent: parentId,
    node: {
      id,
      layer: node.layer,
      channel: node.channel!,
      position: node.position!,
      contribution: node.contribution ?? NaN,
    },
  });
  return json({ id: job.id, status: job.status }, 202);
}

/**
 * The JSON API. Every error is a 4xx with `{error}`; the server keeps serving.
 * @param req The request.
 * @param url Its URL.
 * @param jobs The job manager.
 * @returns The response, or undefined if no API route matches.
 */
export async function api(req: Request, url: URL, jobs: JobManager): Promise<Response | undefined> {
  const p = url.pathname;
  if (p === "/api/health") return json({ ok: true });
  if (p === "/api/catalog" && req.method === "GET") {
    const { methodIds, methods } = await import("@cnnlens/cli/methods");
    return json({
      models: (await models()).map(({ id, label }) => ({ id, label })),
      images: publicImages(),
      methods: methodIds().map((id) => ({ id, summary: methods[id].summary })),
    });
  }
  if (p === "/api/upload" && req.method === "POST") {
    return await upload(req, url.searchParams.get("kind") ?? "");
  }
  if (p === "/api/jobs" && req.method === "POST") return await submitJob(req, jobs);
  const x = /^\/api\/jobs\/(j\d+)\/expand$/.exec(p);
  if (x && req.method === "POST") return await expand(req, jobs, x[1]);
  const m = /^\/api\/jobs\/(j\d+)$/.exec(p);
  if (m) {
    if (req.method === "DELETE") {
      const job = jobs.cancel(m[1]);
      return job ? json({ id: job.id, status: job.status }) : problem(404, `No job '${m[1]}'`);
    }
    const wait = Math.min(Number(url.searchParams.get("wait") ?? "0") || 0, 30_000);
    const job = wait ? await jobs.wait(m[1], wait) : jobs.jobs.get(m[1]);
    if (!job) return problem(404, `No job '${m[1]}'`);
    const { request: _r, ...rest } = job;
    return json(rest);
  }
  if (p.startsWith("/api/")) return problem(404, `No API route ${req.method} ${p}`);
  return undefined;
}
