import { extname, join } from "node:path";
import { JobManager } from "./jobs.ts";
import { api, problem } from "./routes/api.ts";
import { renderIndex } from "./routes/index.tsx";
import { uploads } from "./catalog.ts";
import { ensureBundle } from "./build.ts";

const staticDir = new URL("./static/", import.meta.url).pathname;
const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".css": "text/css",
  ".png": "image/png",
  ".jpg": "image/jpeg",
};

/** Options for {@linkcode startServer}. */
export interface ServerOptions {
  port?: number;
  /** Bind address. @default "127.0.0.1" (loopback only) */
  host?: string;
  signal?: AbortSignal;
}

/** A running dashboard. */
export interface RunningServer {
  url: string;
  jobs: JobManager;
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Start the dashboard: the page, the static island bundle and the JSON API.
 * @param options Port, host, abort signal.
 * @returns The running server.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  await ensureBundle();
  uploads.dir = ""; // made at the first upload
  const jobs = new JobManager();
  await jobs.warm();
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      const r = await api(req, url, jobs);
      if (r) return r;
      if (url.pathname === "/" && req.method === "GET") {
        return new Response(await renderIndex(), { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      const sm = /^\/static\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
      if (sm && req.method === "GET" && !sm[1].startsWith(".")) {
        try {
          const body = await Deno.readFile(join(staticDir, sm[1]));
          return new Response(body, {
            headers: { "content-type": TYPES[extname(sm[1])] ?? "application/octet-stream" },
          });
        } catch {
          return problem(404, `No static file '${sm[1]}'`);
        }
      }
      return problem(404, `Not found: ${url.pathname}`);
    } catch (e) {
      return problem(500, `Internal error: ${(e as Error).message.split("\n")[0]}`);
    }
  };
  const server = Deno.serve({
    port: options.port ?? 8000,
    hostname: options.host ?? "127.0.0.1",
    signal: options.signal,
    onListen: () => {},
  }, handler);
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    jobs,
    finished: server.finished,
    async shutdown() {
      jobs.close();
      await server.shutdown();
      if (uploads.dir) await Deno.remove(uploads.dir, { recursive: true }).catch(() => {});
    },
  };
}
