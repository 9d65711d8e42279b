/**
 * `--config cnnlens.json`: a project file with the model, its preprocessing, class names and default flags
 * for any command. Flags on the command line override it; relative paths in it are resolved against its
 * folder; an unknown key is a usage error naming the key.
 *
 * ```json
 * {
 *   "model": "models/shapes/model.json",
 *   "preprocessing": { "size": [64, 64], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
 *   "labels": "labels.txt",
 *   "options": { "backend": "cpu", "out": "results" },
 *   "explain": { "method": "gradcam", "layer": ["block3_relu"] }
 * }
 * ```
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { UsageError } from "./errors.ts";
import { labelsFrom, type Preprocessing, preprocessingFromSpec, readLabelsFile } from "./preprocessing.ts";
import { findZoo } from "./zoo.ts";

/** A command's flags as parseArgs specs. */
export type FlagSpecs = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; default?: string | boolean | string[] }
>;

/** A loaded, validated config file. */
export interface CliConfig {
  /** The file (as given). */
  path: string;
  /** Flag values by section: "options" (every command that has the flag) and command names. */
  sections: Record<string, Record<string, string | boolean | string[]>>;
  /** The top-level `model`, resolved. */
  model?: string;
  /** `preprocessing` and `labels`, resolved. */
  preprocessing: Preprocessing;
}

/** Flags whose values are file or folder paths (resolved against the config file's folder). */
const PATH_FLAGS = new Set(["model", "input", "reference", "manifest", "out", "labels"]);
/** Flags that make no sense in a file. */
const NOT_IN_FILE = new Set(["help", "config"]);
const TOP_KEYS = ["model", "labels", "preprocessing", "options"];

function resolvePath(dir: string, flag: string, v: string): string {
  if (isAbsolute(v)) return v;
  // A zoo model is a name, not a path.
  if (flag === "model" && (v.startsWith("zoo:") || (/^[A-Za-z0-9_-]+$/.test(v) && findZoo(v)))) return v;
  return resolve(dir, v);
}

function flagValue(
  where: string,
  flag: string,
  spec: FlagSpecs[string],
  v: unknown,
  dir: string,
): string | boolean | string[] {
  const scalar = (x: unknown): string => {
    if (typeof x === "string") return PATH_FLAGS.has(flag) ? resolvePath(dir, flag, x) : x;
    if (typeof x === "number" && Number.isFinite(x)) return String(x);
    // [H, W], [R, G, B]: the comma form the flag takes.
    if (!spec.multiple && Array.isArray(x) && x.length && x.every((y) => typeof y === "number")) {
      return x.join(",");
    }
    throw new UsageError(
      `Cannot use config ${where}: '${flag}' must be a string or a number, got ${JSON.stringify(x)}`,
    );
  };
  if (spec.type === "boolean") {
    if (typeof v !== "boolean") {
      throw new UsageError(
        `Cannot use config ${where}: '${flag}' must be true or false, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  }
  if (spec.multiple) return (Array.isArray(v) ? v : [v]).map(scalar);
  return scalar(v);
}

/**
 * Read and check a config file against every command's flags.
 * @param path The --config value.
 * @param commands Each command's flag specs, by command name.
 * @returns The config.
 * @throws {UsageError} Unreadable file, bad JSON, an unknown key (named) or a value of the wrong type.
 */
export async function loadConfig(path: string, commands: Record<string, FlagSpecs>): Promise<CliConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new UsageError(`Cannot read config '${path}': no such file`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`Cannot read config '${path}': not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UsageError(`Cannot read config '${path}': it must be a JSON object`);
  }
  const dir = dirname(resolve(path));
  const where = `'${path}'`;
  const cfg: CliConfig = { path, sections: {}, preprocessing: {} };
  const names = Object.keys(commands);
  const allFlags = new Map<string, FlagSpecs[string]>();
  for (const specs of Object.values(commands)) {
    for (const [k, s] of Object.entries(specs)) if (!allFlags.has(k)) allFlags.set(k, s);
  }
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === "model") {
      if (typeof value !== "string") {
        throw new UsageError(`Cannot use config ${where}: 'model' must be a path or zoo:NAME`);
      }
      cfg.model = resolvePath(dir, "model", value);
    } else if (key === "preprocessing") {
      Object.assign(cfg.preprocessing, preprocessingFromSpec(value, `config ${where} preprocessing`));
    } else if (key === "labels") {
      cfg.preprocessing.labels = typeof value === "string"
        ? await readLabelsFile(resolve(dir, value))
        : labelsFrom(value, `config ${where}`);
    } else if (key === "options" || names.includes(key)) {
      if (!value || typeof value !== "object" || Array.isArray(value)) {
        throw new UsageError(`Cannot use config ${where}: '${key}' must be an object of flags`);
      }
      const section: Record<string, string | boolean | string[]> = {};
      for (const [flag, v] of Object.entries(value as Record<string, unknown>)) {
        const spec = key === "options" ? allFlags.get(flag) : commands[key][flag];
        if (!spec || NOT_IN_FILE.has(flag)) {
          throw new UsageError(
            `Unknown key '${key}.${flag}' in config ${where}: ${
              key === "options" ? "no command has" : `'cnnlens ${key}' has no`
            } --${flag}`,
          );
        }
        section[flag] = flagValue(`${where} ${key}`, flag, spec, v, dir);
      }
      cfg.sections[key] = section;
    } else {
      throw new UsageError(
        `Unknown key '${key}' in config ${where}: use ${TOP_KEYS.join(", ")} or a command name (${
          names.join(", ")
        })`,
      );
    }
  }
  return cfg;
}

/**
 * The flag values a config gives one command: its own section over `options` over the top-level `model`,
 * restricted to the flags the command has.
 * @param config The config (or undefined).
 * @param command The command's name.
 * @param specs The command's flags.
 * @returns Values to use where the command line gives none.
 */
export function configDefaults(
  config: CliConfig | undefined,
  command: string,
  specs: FlagSpecs,
): Record<string, string | boolean | string[]> {
  if (!config) return {};
  const out: Record<string, string | boolean | string[]> = {};
  if (config.model !== undefined && specs.model) out.model = config.model;
  for (const section of [config.sections.options, config.sections[command]]) {
    for (const [k, v] of Object.entries(section ?? {})) if (specs[k]) out[k] = v;
  }
  return out;
}
