import { parse } from "../args.ts";
import { UsageError } from "../errors.ts";
import { type CliConfig, configDefaults } from "../config.ts";

export const summary = "start the dashboard (loopback by default); GET /api/health answers 200";
export const help = `cnnlens serve — ${summary}

Usage:
  cnnlens serve [--port P] [--host 127.0.0.1]

Examples:
  cnnlens serve --port 8000
  cnnlens serve --port 0          # any free port; the URL is printed
`;

/** The flags of \`serve\`. */
export const options = {
  port: { type: "string", default: "8000" },
  host: { type: "string", default: "127.0.0.1" },
  help: { type: "boolean", short: "h" },
} as const;

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "serve", options));
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be 0..65535, got '${values.port}'`);
  }
  const { startServer } = await import("@cnnlens/web");
  const s = await startServer({ port, host: values.host });
  console.log(`cnnlens dashboard on ${s.url}`);
  await s.finished;
  return 0;
}
