/**
 * Writes a split to disk: one PNG per sample and a JSON Lines manifest in the format `readManifest` reads
 * (`{"image", "label", "boxes": [[x0, y0, x1, y1]]}`, half-open pixel boxes), plus `dataset.json` saying how
 * it was made.
 * @module
 */
import { writeFileAtomic, writePng } from "@cnnlens/core";
import { join } from "node:path";
import { SYNTH_CLASSES_A, SYNTH_CLASSES_B } from "./shapes.ts";
import {
  SYNTH_SPLITS,
  SYNTH_VERSION,
  synthClassNames,
  type SynthOptions,
  synthSample,
  type SynthSplit,
} from "./synth_sample.ts";

/** Options of {@linkcode writeSynthSplit}. */
export interface WriteSynthOptions extends SynthOptions {
  /** Number of samples. @default the split's `defaultCount` */
  count?: number;
}

/** What {@linkcode writeSynthSplit} wrote. */
export interface WrittenSplit {
  /** Path of `manifest.jsonl`. */
  manifest: string;
  /** Number of images. */
  count: number;
}

/**
 * Writes samples `0 … count − 1` of a split into `dir`: `images/000000.png` …, `manifest.jsonl` (one line per
 * image: `image` relative to `dir`, `label`, `boxes` with the object's box, and the extra fields `class`,
 * `split`, `index`, `distractor_boxes`), and `dataset.json` (generator version, seed, size, classes). Each
 * file is written atomically.
 *
 * @param dir Output folder (created).
 * @param split Split name.
 * @param options Count, seed, size.
 * @returns The manifest's path and the count.
 * @example
 * ```ts
 * import { writeSynthSplit } from "./write_synth_split.ts";
 * import { readManifest } from "../manifest.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const { manifest } = await writeSynthSplit(dir, "test", { count: 2 });
 * const entries = await readManifest(manifest);
 * assert.deepEqual(entries.map((e) => e.label), [0, 1]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSynthSplit(
  dir: string,
  split: SynthSplit,
  options: WriteSynthOptions = {},
): Promise<WrittenSplit> {
  const count = options.count ?? SYNTH_SPLITS[split]?.defaultCount;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Count must be an integer ≥ 1, got ${count}`);
  }
  await Deno.mkdir(join(dir, "images"), { recursive: true });
  const lines: string[] = [];
  const width = Math.max(6, String(count - 1).length);
  for (let i = 0; i < count; i++) {
    const s = synthSample(split, i, options);
    const image = `images/${String(i).padStart(width, "0")}.png`;
    await writePng(join(dir, image), s.image);
    const b = (x: { x0: number; y0: number; x1: number; y1: number }) => [x.x0, x.y0, x.x1, x.y1];
    lines.push(JSON.stringify({
      image,
      label: s.label,
      boxes: [b(s.box)],
      class: s.className,
      split,
      index: i,
      distractor_boxes: s.distractorBoxes.map(b),
    }));
  }
  const manifest = join(dir, "manifest.jsonl");
  await writeFileAtomic(manifest, new TextEncoder().encode(lines.join("\n") + "\n"));
  const info = {
    generator: "@cnnlens/eval synth",
    version: SYNTH_VERSION,
    split,
    seed: options.seed ?? 1,
    size: options.size ?? 64,
    count,
    classes: synthClassNames(split),
    class_set: SYNTH_SPLITS[split].classSet,
    all_classes: { A: SYNTH_CLASSES_A.map((c) => c.name), B: SYNTH_CLASSES_B.map((c) => c.name) },
  };
  await writeFileAtomic(
    join(dir, "dataset.json"),
    new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n"),
  );
  return { manifest, count };
}
