/**
 * The cnnlens dashboard: `deno task cnnlens serve --port 8000` (loopback by default), or
 * `deno run -A apps/web/main.ts`.
 * @module
 */
export { type RunningServer, type ServerOptions, startServer } from "./server.ts";
import { startServer } from "./server.ts";

if (import.meta.main) {
  const s = await startServer({ port: Number(Deno.env.get("PORT") ?? 8000) });
  console.log(`cnnlens dashboard on ${s.url}`);
  await s.finished;
}
