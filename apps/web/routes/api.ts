import { decodeImage, parseOnnx } from "@cnnlens/core";
import { join } from "node:path";
import { imagePath, images, models, modelSpec, uploads } from "../catalog.ts";
import type { JobManager, JobRequest } from "../jobs.ts";

/** Upload size limits, bytes. */
export const LIMITS = { image: 10 * 1024 * 1024, model: 64 * 1024 * 1024 };

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
  if (!reader) return problem(400, "Upload has no body");
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
    await Deno.writeFile(join(uploads.dir, name), body);
    return json({ id: `upload:${name}` }, 201);
  }
  return problem(400, `Unknown upload kind '${kind}': use image or model`);
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
      models: await models(),
      images: images().map(({ id, label }) => ({ id, label })),
      methods: methodIds().map((id) => ({ id, summary: methods[id].summary })),
    });
  }
  if (p === "/api/upload" && req.method === "POST") {
    return await upload(req, url.searchParams.get("kind") ?? "");
  }
  if (p === "/api/jobs" && req.method === "POST") {
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      return problem(400, "Job request is not valid JSON");
    }
    const spec = await modelSpec(String(body.model ?? ""));
    if (!spec) return problem(400, `Unknown model '${body.model}': pick one from /api/catalog`);
    const img = imagePath(String(body.image ?? ""));
    if (!img) return problem(400, `Unknown image '${body.image}': pick one from /api/catalog or upload one`);
    const refs: string[] = [];
    for (const r of (body.references as string[] | undefined) ?? []) {
      const rp = imagePath(String(r));
      if (!rp) return problem(400, `Unknown reference image '${r}'`);
      refs.push(rp);
    }
    const { methods } = await import("@cnnlens/cli/methods");
    if (!methods[String(body.method)]) return problem(400, `Unknown method '${body.method}'`);
    const request: JobRequest = {
      model: spec,
      image: img,
      method: String(body.method),
      layers: Array.isArray(body.layers) ? body.layers.map(String) : [],
      class: typeof body.class === "number" ? body.class : undefined,
      references: refs,
      options: (body.options as Record<string, unknown>) ?? {},
    };
    const job = jobs.submit(request);
    return json({ id: job.id, status: job.status }, 202);
  }
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
