import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";

/** Options shared by the commands that load a model and an input. */
export const commonOptions = {
  model: { type: "string" },
  input: { type: "string" },
  layer: { type: "string", multiple: true },
  class: { type: "string" },
  top1: { type: "boolean" },
  reference: { type: "string", multiple: true },
  embedding: { type: "string" },
  backend: { type: "string", default: "auto" },
  out: { type: "string" },
  repeat: { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  mean: { type: "string" },
  std: { type: "string" },
  size: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/**
 * Parse a command's arguments; unknown flags are a {@linkcode UsageError}.
 * @param argv Arguments after the command name.
 * @param options parseArgs option specs.
 * @returns Parsed values and positionals.
 */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}

/**
 * Parse an integer flag.
 * @param name Flag name for messages.
 * @param v Raw value.
 * @returns The integer, or undefined if absent.
 */
export function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  return n;
}
