/**
 * The evaluation manifest: JSON Lines, one image per line, `{"image", "label", "boxes"}`.
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { type Box, boxFromInclusive, boxFromXywh, checkBox } from "./box.ts";

/** How the manifest writes a box's four numbers. */
export type BoxFormat =
  /** `[x0, y0, x1, y1]`, half-open (the far edge is the first pixel outside). The default. */
  | "xyxy"
  /** `[xmin, ymin, xmax, ymax]` with the far edge inside (0-based ImageNet/PASCAL style). */
  | "xyxy-inclusive"
  /** `[x, y, width, height]` (CUB-200-2011 style). */
  | "xywh";

/** One manifest line. */
export interface ManifestEntry {
  /** 0-based position among the manifest's entries (blank lines do not count): the item's identity. */
  index: number;
  /** 1-based line number in the file. */
  line: number;
  /** Image path (resolved against the manifest's folder by {@linkcode readManifest}). */
  image: string;
  /** Class index or name, when given. */
  label?: number | string;
  /** Ground-truth boxes in the original image's pixels, half-open (empty when the line has none). */
  boxes: Box[];
  /** Any other fields of the line, kept as written. */
  extra: Record<string, unknown>;
}

/** Options of {@linkcode parseManifest} and {@linkcode readManifest}. */
export interface ManifestOptions {
  /** Name used in error messages. @default "manifest" */
  source?: string;
  /** How boxes are written. @default "xyxy" */
  boxFormat?: BoxFormat;
}

/** A manifest that cannot be used; the message is one line starting with `source:line:`. */
export class ManifestError extends SyntaxError {
  override name = "ManifestError";
  /** The file (or `source`). */
  readonly source: string;
  /** 1-based line, 0 for problems with the whole file. */
  readonly line: number;
  /**
   * @param source File name.
   * @param line 1-based line number (0: the whole file).
   * @param problem What is wrong.
   */
  constructor(source: string, line: number, problem: string) {
    super(line > 0 ? `${source}:${line}: ${problem}` : `${source}: ${problem}`);
    this.source = source;
    this.line = line;
  }
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function parseBox(v: unknown, format: BoxFormat, fail: (m: string) => never, k: number): Box {
  let a: number[];
  if (Array.isArray(v)) {
    if (v.length !== 4 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      fail(
        `box ${k} must be 4 finite numbers [${format === "xywh" ? "x, y, w, h" : "x0, y0, x1, y1"}], got ${
          short(v)
        }`,
      );
    }
    a = v as number[];
  } else if (v !== null && typeof v === "object" && format !== "xywh") {
    const o = v as Record<string, unknown>;
    a = [o.x0, o.y0, o.x1, o.y1] as number[];
    if (!a.every((x) => typeof x === "number" && Number.isFinite(x))) {
      fail(`box ${k} must have finite numbers x0, y0, x1, y1, got ${short(v)}`);
    }
  } else {
    fail(`box ${k} must be [x0, y0, x1, y1], got ${short(v)}`);
  }
  try {
    if (format === "xyxy") return checkBox({ x0: a[0], y0: a[1], x1: a[2], y1: a[3] }, `box ${k}`);
    if (format === "xyxy-inclusive") return boxFromInclusive(a[0], a[1], a[2], a[3]);
    return boxFromXywh(a[0], a[1], a[2], a[3]);
  } catch (e) {
    fail(`box ${k} ${short(v)} is invalid: the far corner must not come before the near one`);
    throw e;
  }
}

/**
 * Parses a JSONL manifest. Each non-blank line is an object with `"image"` (non-empty string), optional
 * `"label"` (non-negative integer or string) and optional `"boxes"` (list of boxes; see
 * {@linkcode BoxFormat}); other fields go to `extra`.
 *
 * @param text The file's contents.
 * @param options Source name for messages, box format.
 * @returns The entries in file order.
 * @throws {ManifestError} On the first bad line, naming its number and what is wrong, or if there is no
 *   entry at all.
 * @example
 * ```ts
 * import { parseManifest } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = parseManifest('{"image": "a.png", "label": 3, "boxes": [[0, 0, 10, 20]]}\n\n{"image": "b.png"}\n');
 * assert.deepEqual(m.map((e) => [e.index, e.line, e.image]), [[0, 1, "a.png"], [1, 3, "b.png"]]);
 * assert.throws(() => parseManifest('{"image": "a.png", "label": -1}'), /manifest:1: "label"/);
 * ```
 */
export function parseManifest(text: string, options: ManifestOptions = {}): ManifestEntry[] {
  const source = options.source ?? "manifest";
  const format = options.boxFormat ?? "xyxy";
  if (format !== "xyxy" && format !== "xyxy-inclusive" && format !== "xywh") {
    throw new RangeError(`Unknown box format '${format}': use "xyxy", "xyxy-inclusive" or "xywh"`);
  }
  const lines = text.split(/\r?\n/);
  const out: ManifestEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    const lineNo = i + 1;
    const fail = (m: string): never => {
      throw new ManifestError(source, lineNo, m);
    };
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message.split("\n")[0]})`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      fail(`expected a JSON object, got ${short(v)}`);
    }
    const { image, label, boxes, ...extra } = v as Record<string, unknown>;
    if (typeof image !== "string" || image.trim() === "") {
      fail(`"image" must be a non-empty string, got ${short(image)}`);
    }
    if (
      label !== undefined && label !== null &&
      !(typeof label === "string" || (typeof label === "number" && Number.isSafeInteger(label) && label >= 0))
    ) {
      fail(`"label" must be a class index (integer ≥ 0) or a class name, got ${short(label)}`);
    }
    let parsed: Box[] = [];
    if (boxes !== undefined && boxes !== null) {
      if (!Array.isArray(boxes)) fail(`"boxes" must be a list of boxes, got ${short(boxes)}`);
      parsed = (boxes as unknown[]).map((b, k) => parseBox(b, format, fail, k));
    }
    const entry: ManifestEntry = {
      index: out.length,
      line: lineNo,
      image: image as string,
      boxes: parsed,
      extra,
    };
    if (label !== undefined && label !== null) entry.label = label as number | string;
    out.push(entry);
  }
  if (out.length === 0) throw new ManifestError(source, 0, "no entries (expected one JSON object per line)");
  return out;
}

/**
 * Reads and parses a JSONL manifest file; relative `image` paths are resolved against the manifest's
 * folder (so a manifest can sit next to its images), absolute ones are kept.
 *
 * @param path The manifest file.
 * @param options Box format; `source` defaults to `path`.
 * @returns The entries.
 * @throws {ManifestError} If the file cannot be read or a line is bad.
 * @example
 * ```ts
 * import { readManifest } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/m.jsonl`, '{"image": "x.png", "label": 1}\n');
 * assert.deepEqual((await readManifest(`${dir}/m.jsonl`))[0].image, `${dir}/x.png`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(path: string, options: ManifestOptions = {}): Promise<ManifestEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ManifestError(path, 0, `cannot read the manifest (${(e as Error).message.split("\n")[0]})`);
  }
  const entries = parseManifest(text, { ...options, source: options.source ?? path });
  const dir = dirname(path);
  for (const e of entries) if (!isAbsolute(e.image)) e.image = join(dir, e.image);
  return entries;
}
