/**
 * The `cnnlens` command line. Run from the repository root: `deno task cnnlens <command> …`
 * (with the Deno that `npm install` brings: `npx deno task cnnlens …`).
 * @module
 */
import { UsageError } from "./errors.ts";
import * as models from "./commands/models.ts";
import * as layers from "./commands/layers.ts";
import * as demo from "./commands/demo.ts";
import * as predict from "./commands/predict.ts";
import * as explain from "./commands/explain.ts";
import * as serve from "./commands/serve.ts";
import * as evalCmd from "./commands/eval.ts";

interface Command {
  summary: string;
  help: string;
  run: (argv: string[]) => number | Promise<number>;
}

/** Every command, by name. */
export const commands: Record<string, Command> = {
  demo,
  models,
  layers,
  predict,
  explain,
  eval: evalCmd,
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

Examples:
  cnnlens models
  cnnlens layers --model zoo:resnet18
`;
}

/**
 * Run the CLI.
 * @param argv Arguments (without the program name).
 * @returns Exit code: 0 ok, 2 usage/input error, 1 internal failure.
 */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
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
    return await cmd.run(rest);
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

function isInputError(e: Error): boolean {
  return e.name === "UnknownNodeError" || /^(Cannot|Class|Unknown|Shape mismatch)/.test(e.message);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
