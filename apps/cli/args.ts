import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";
import type { CliConfig } from "./config.ts";
import {
  mergePreprocessing,
  type Preprocessing,
  preprocessingFromFlags,
  readLabelsFile,
} from "./preprocessing.ts";

/** The flags of every command that loads a model: backend and preprocessing. */
export const modelOptions = {
  model: { type: "string" },
  backend: { type: "string", default: "auto" },
  mean: { type: "string" },
  std: { type: "string" },
  size: { type: "string" },
  labels: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** Help text for {@linkcode modelOptions} (and --config), shared by the commands' help. */
export const modelOptionsHelp = `Model and preprocessing:
  --model M            a .onnx file, a TensorFlow.js model.json, or zoo:NAME ('cnnlens models')
  --mean R,G,B         normalisation of [0, 1] pixels (default: the model's metadata, else ImageNet)
  --std R,G,B
  --size H,W           input size, for models with dynamic spatial axes
  --labels FILE        class names: a text file (one per line) or a JSON array
  --backend B          auto|webgpu|wasm|cpu (default auto)
  --config FILE        a cnnlens.json with the model, preprocessing, labels and default flags`;

/** Options shared by the commands that load a model and an input. */
export const commonOptions = {
  ...modelOptions,
  input: { type: "string" },
  layer: { type: "string", multiple: true },
  class: { type: "string" },
  top1: { type: "boolean" },
  reference: { type: "string", multiple: true },
  embedding: { type: "string" },
  out: { type: "string" },
  repeat: { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/**
 * Parse a command's arguments; unknown flags are a {@linkcode UsageError}. Flags the command line leaves
 * out take the config file's value (`defaults`), then the spec's own default.
 * @param argv Arguments after the command name.
 * @param options parseArgs option specs.
 * @param defaults Values from `--config` (see `configDefaults`).
 * @returns Parsed values and positionals.
 */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: O,
  defaults: Record<string, unknown> = {},
) {
  const bare: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [k, spec] of Object.entries(options)) {
    const { default: _, ...rest } = spec;
    bare[k] = rest;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: options, allowPositionals: true, strict: true });
    // Parse again without defaults to tell "given" from "defaulted".
    const given = parseArgs({ args: argv, options: bare, allowPositionals: true, strict: true });
    for (const k of Object.keys(options)) {
      if ((given.values as Record<string, unknown>)[k] === undefined && defaults[k] !== undefined) {
        (parsed.values as Record<string, unknown>)[k] = defaults[k];
      }
    }
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  return parsed;
}

/**
 * The preprocessing the user gave: `--mean/--std/--size/--labels`, over the config file's.
 * @param values Parsed flags.
 * @param config The config file, if any.
 * @returns Overrides for `loadModel`.
 */
export async function userPreprocessing(
  values: { mean?: string; std?: string; size?: string; labels?: string },
  config?: CliConfig,
): Promise<Preprocessing> {
  const flags = preprocessingFromFlags(values);
  if (values.labels !== undefined) flags.labels = await readLabelsFile(values.labels);
  return mergePreprocessing(flags, config?.preprocessing);
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
