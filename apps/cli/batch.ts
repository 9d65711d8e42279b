import { basename, extname, join } from "node:path";
import { UsageError } from "./errors.ts";

/** One item of a batch run. */
export interface BatchItem {
  /** Path of the input file. */
  input: string;
  /** Output sub-folder name (unique within the batch). */
  name: string;
  /** Extra manifest fields (label, boxes, …). */
  meta: Record<string, unknown>;
}

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg", ".npy"]);

/**
 * Expand `--input DIR` (every PNG/JPEG/.npy in it, sorted) or `--manifest FILE.jsonl` into batch items.
 * @param opts The flags.
 * @returns Items, or undefined when the input is a single file.
 */
export async function batchItems(
  opts: { input?: string; manifest?: string },
): Promise<BatchItem[] | undefined> {
  if (opts.manifest) {
    let text: string;
    try {
      text = await Deno.readTextFile(opts.manifest);
    } catch {
      throw new UsageError(`Cannot read manifest '${opts.manifest}': no such file`);
    }
    const base = opts.manifest.includes("/") ? opts.manifest.slice(0, opts.manifest.lastIndexOf("/")) : ".";
    const items: BatchItem[] = [];
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        throw new UsageError(`Cannot read manifest '${opts.manifest}': line ${i + 1} is not valid JSON`);
      }
      if (typeof rec.image !== "string") {
        throw new UsageError(`Cannot read manifest '${opts.manifest}': line ${i + 1} has no "image" field`);
      }
      const path = rec.image.startsWith("/") ? rec.image : join(base, rec.image);
      items.push({ input: path, name: "", meta: rec });
    });
    return uniqueNames(items);
  }
  if (!opts.input) return undefined;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(opts.input);
  } catch {
    throw new UsageError(`Cannot read input '${opts.input}': no such file or folder`);
  }
  if (!stat.isDirectory) return undefined;
  const items: BatchItem[] = [];
  for await (const e of Deno.readDir(opts.input)) {
    if (e.isFile && IMAGE_EXT.has(extname(e.name).toLowerCase())) {
      items.push({ input: join(opts.input, e.name), name: "", meta: {} });
    }
  }
  items.sort((a, b) => a.input < b.input ? -1 : 1);
  if (!items.length) {
    throw new UsageError(`Cannot use input folder '${opts.input}': it has no PNG, JPEG or .npy files`);
  }
  return uniqueNames(items);
}

function uniqueNames(items: BatchItem[]): BatchItem[] {
  const seen = new Map<string, number>();
  for (const it of items) {
    const stem = basename(it.input, extname(it.input)).replace(/[^A-Za-z0-9._-]/g, "_") || "input";
    const n = seen.get(stem) ?? 0;
    seen.set(stem, n + 1);
    it.name = n ? `${stem}_${n}` : stem;
  }
  return items;
}

/**
 * Parse `--shard i/n` (0-based i) and keep that shard's items: item k belongs to shard k mod n, so
 * shards partition the batch exactly and stay balanced.
 * @param items All items.
 * @param spec The flag value, e.g. "2/8".
 * @returns The shard's items.
 */
export function shardItems<T>(items: T[], spec?: string): T[] {
  if (!spec) return items;
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new UsageError(`--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got '${spec}'`);
  }
  const [i, n] = [Number(m[1]), Number(m[2])];
  return items.filter((_, k) => k % n === i);
}

/** Progress on stderr: a bar with count, rate and ETA on a TTY, plain lines otherwise. */
export class Progress {
  #start = performance.now();
  #done = 0;
  readonly #tty = Deno.stderr.isTerminal();
  constructor(readonly total: number, readonly label = "explain") {}

  tick(what: string): void {
    this.#done++;
    const s = (performance.now() - this.#start) / 1000;
    const rate = this.#done / Math.max(s, 1e-9);
    const eta = (this.total - this.#done) / Math.max(rate, 1e-9);
    const line = `${this.label} ${this.#done}/${this.total} ${rate.toFixed(2)}/s ETA ${
      eta.toFixed(0)
    }s ${what}`;
    if (this.#tty) {
      const w = 24;
      const fill = Math.round((this.#done / this.total) * w);
      Deno.stderr.writeSync(
        new TextEncoder().encode(`\r[${"#".repeat(fill)}${" ".repeat(w - fill)}] ${line}\x1b[K`),
      );
      if (this.#done === this.total) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    } else console.error(line);
  }
}
