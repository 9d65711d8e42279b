import { zooEntries } from "../zoo.ts";
import { parse } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";

export const summary = "list the models cnnlens ships or builds (zoo:NAME)";
export const help = `cnnlens models — ${summary}

Usage:
  cnnlens models [--json]

Examples:
  cnnlens models
  cnnlens models --json | jq '.[].name'
`;

/** The flags of \`models\`. */
export const options = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

export function run(argv: string[], config?: CliConfig): number {
  const { values } = parse(argv, options, configDefaults(config, "models", options));
  const entries = zooEntries();
  if (values.json) {
    console.log(JSON.stringify(entries, null, 2));
    return 0;
  }
  const w = Math.max(...entries.map((e) => e.name.length)) + 4;
  for (const e of entries) console.log(`zoo:${e.name}`.padEnd(w + 4) + e.description);
  return 0;
}
