/**
 * The `cnnlens` command line. Run from the repository root: `deno task cnnlens <command> …`
 * (with the Deno that `npm install` brings: `npx deno task cnnlens …`).
 * @module
 */
import { UsageError } from "./errors.ts";
import { type CliConfig, type FlagSpecs, loadConfig } from "./config.ts";
import * as models from "./commands/models.ts";
import * as layers from "./commands/layers.ts";
import * as demo from "./commands/demo.ts";
import * as predict from "./commands/predict.ts";
import * as explain from "./commands/explain.ts";
import * as serve from "./commands/serve.ts";
import * as evalCmd from "./commands/eval.ts";
import * as bench from "./commands/bench.ts";

interface Command {
  summary: string;
  help: string;
  /** The command's flags (checked against --config files). */
  options: FlagSpecs;
  run: (argv: string[], config?: CliConfig) => number | Promise<number>;
}

/** Every command, by name. */
export const commands: Record<string, Command> = {
  demo,
  models,
  layers,
  predict,
  explain,
  eval: evalCmd,
  bench,
  serve,
};

/** Top-level help text. */
export function usage(): string {
  const w = Math.max(...Object.keys(commands).map((c) => c.length)) + 2;
  return `cnnlens — explain what convolutional networks look at (NAFlow, FAM, IOM, gAP, CAM family)

Usage:
  cnnlens <command> [options]
  cnnlens <command> --help

Commands:
${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(w)}${c.summary}`).join("\n")}

Every command takes --config FILE: a cnnlens.json with the model, its preprocessing, class names and
default flags (flags on the command line win; see apps/cli/README.md).

Examples:
  cnnlens models
  cnnlens layers --model zoo:resnet18
  cnnlens predict --model synth-vgg --input shape.png
  cnnlens explain --config cnnlens.json --input photo.jpg --method gradcam
  cnnlens demo --quick
`;
}

/**
 * Run the CLI.
 * @param argv Arguments (without the program name).
 * @returns Exit code: 0 ok, 2 usage/input error, 1 internal failure.
 */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  if (argv[0]?.startsWith("--config")) {
    // `cnnlens --config FILE <command> …`: the command comes after the flag.
    const n = argv[0] === "--config" ? 2 : 1;
    argv = [...argv.slice(n, n + 1), ...argv.slice(0, n), ...argv.slice(n + 1)];
  }
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = commands[name];
  try {
    if (!cmd) throw new UsageError(`Unknown command '${name}': run 'cnnlens --help' for the list`);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(cmd.help);
      return 0;
    }
    const { argv: args, config } = takeConfigFlag(rest);
    return await cmd.run(
      args,
      config === undefined ? undefined : await loadConfig(config, commandOptions()),
    );
  } catch (e) {
    const err = e as Error;
    if (debug) console.error(err.stack);
    const usageLike = err instanceof UsageError ||
      ["UnknownNodeError", "RangeError", "TypeError", "SyntaxError"]
          .includes(err.name) && !debug && isInputError(err);
    console.error(`cnnlens: ${err.message.split("\n")[0]}`);
    return usageLike ? 2 : 1;
  }
}

/** Every command's flags, by name. */
function commandOptions(): Record<string, FlagSpecs> {
  return Object.fromEntries(Object.entries(commands).map(([n, c]) => [n, c.options]));
}

/** Remove `--config FILE` / `--config=FILE` from the arguments (the last one wins). */
function takeConfigFlag(argv: string[]): { argv: string[]; config?: string } {
  const out: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a === "--config") {
      config = argv[++i];
      if (config === undefined || config.startsWith("--")) {
        throw new UsageError("--config needs a file (e.g. --config cnnlens.json)");
      }
    } else if (a.startsWith("--config=")) config = a.slice("--config=".length);
    else out.push(a);
  }
  return { argv: out, config };
}

function isInputError(e: Error): boolean {
  return e.name === "UnknownNodeError" || /^(Cannot|Class|Unknown|Shape mismatch)/.test(e.message);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
