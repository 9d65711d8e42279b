/**
 * The synthetic data set: splits, the scene of each sample (a pure function of seed, split and index), and
 * the drawn samples with their class and box.
 *
 * Samples are made one at a time from their own random stream (`hashSeed(seed, split, index)`), so any
 * sample can be drawn alone, in any order, and the first `n` samples of a split are the same whatever the
 * split's length. The class of sample `i` is `i mod 6`, so every prefix of `6k` samples is exactly balanced.
 * @module
 */
import type { RgbImage } from "@cnnlens/core";
import type { Box } from "../box.ts";
import { hashSeed, Prng } from "./prng.ts";
import { drawScene, rasterizeShape, type Rgb, type SceneSpec, type ShapeParams } from "./scene.ts";
import { type ShapeClass, SYNTH_CLASSES_A, SYNTH_CLASSES_B } from "./shapes.ts";

/** Split names: `train`/`val`/`test` over classes A (classification), `fewshot` over classes B. */
export type SynthSplit = "train" | "val" | "test" | "fewshot";

/** What a split is made of. */
export interface SplitInfo {
  /** Stream id mixed into each sample's seed (distinct per split, so splits never share a sample). */
  readonly id: number;
  /** The class set. */
  readonly classSet: "A" | "B";
  /** Sizes used by the training scripts and the reports. */
  readonly defaultCount: number;
}

/** The splits. */
export const SYNTH_SPLITS: Readonly<Record<SynthSplit, SplitInfo>> = Object.freeze({
  train: { id: 1, classSet: "A", defaultCount: 3000 },
  val: { id: 2, classSet: "A", defaultCount: 600 },
  test: { id: 3, classSet: "A", defaultCount: 600 },
  fewshot: { id: 4, classSet: "B", defaultCount: 600 },
});

/** Version of the generator's output: bumped whenever the same seed would give different bytes. */
export const SYNTH_VERSION = 1;

/** Generator options. */
export interface SynthOptions {
  /** Data-set seed (integer). @default 1 */
  seed?: number;
  /** Image width and height in pixels; sizes and widths scale with it. @default 64 */
  size?: number;
}

/** One generated sample. */
export interface SynthSample {
  /** Split. */
  split: SynthSplit;
  /** Position in the split. */
  index: number;
  /** Class index within the split's class set (0…5). */
  label: number;
  /** Class name. */
  className: string;
  /** The image (8-bit RGB). */
  image: RgbImage;
  /** Tight half-open box of the object's pixels. */
  box: Box;
  /** 1 on the object's pixels (row-major H×W). */
  mask: Uint8Array;
  /** Tight boxes of the distractors (clipped to the image). */
  distractorBoxes: Box[];
  /** The scene it was drawn from (redraw it with `drawScene`, e.g. without the object). */
  spec: SceneSpec;
}

function checkSplit(split: string): SplitInfo {
  const info = (SYNTH_SPLITS as Record<string, SplitInfo>)[split];
  if (!info) {
    throw new RangeError(`Unknown split '${split}': use one of ${Object.keys(SYNTH_SPLITS).join(", ")}`);
  }
  return info;
}

/**
 * The classes of a split.
 *
 * @param split Split name.
 * @returns Class names; a sample's `label` indexes this list.
 * @example
 * ```ts
 * import { synthClassNames } from "./synth_sample.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(synthClassNames("test"), ["circle", "triangle", "star", "ring", "cross", "stripes"]);
 * ```
 */
export function synthClassNames(split: SynthSplit): string[] {
  return classesOf(checkSplit(split)).map((c) => c.name);
}

function classesOf(info: SplitInfo): readonly ShapeClass[] {
  return info.classSet === "A" ? SYNTH_CLASSES_A : SYNTH_CLASSES_B;
}

function hsv(h: number, s: number, v: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s, x = c * (1 - Math.abs((hh % 2) - 1)), m = v - c;
  const [r, g, b] = hh < 1
    ? [c, x, 0]
    : hh < 2
    ? [x, c, 0]
    : hh < 3
    ? [0, c, x]
    : hh < 4
    ? [0, x, c]
    : hh < 5
    ? [x, 0, c]
    : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

function classColors(cls: ShapeClass, rng: Prng): [Rgb, Rgb] {
  const h = cls.hue + rng.range(-15, 15), s = rng.range(0.55, 0.95), v = rng.range(0.6, 1);
  const color = hsv(h, s, v);
  const alt: Rgb = cls.alt === "dark"
    ? hsv(h, s, v * 0.4)
    : cls.alt === "light"
    ? color.map((c) => Math.round(c + (255 - c) * 0.6)) as Rgb
    : color.map((c) => Math.round(c + (250 - c) * 0.88)) as Rgb;
  return [color, alt];
}

function randomColor(rng: Prng, sLo: number, sHi: number, vLo: number, vHi: number): Rgb {
  return hsv(rng.range(0, 360), rng.range(sLo, sHi), rng.range(vLo, vHi));
}

function shape(cls: ShapeClass, cx: number, cy: number, radius: number, rng: Prng): ShapeParams {
  const angle = rng.range(0, 2 * Math.PI), aspect = rng.range(0.85, 1.15);
  const [color, alt] = classColors(cls, rng);
  return { className: cls.name, cx, cy, radius, angle, aspect, color, alt };
}

function overlaps(a: Box, b: Box, margin: number): boolean {
  return a.x0 < b.x1 + margin && b.x0 - margin < a.x1 && a.y0 < b.y1 + margin && b.y0 - margin < a.y1;
}

/**
 * The scene of one sample: the object (class `index mod 6` of the split's set, radius 11-19 px at 64², any
 * rotation, stretch 0.85-1.15, hue ±15° around its class's), 2-4 distractors (other classes of the same set,
 * radius 3-6 px, outside the object's box by at least one pixel, possibly cut by the image border), and a
 * cluttered background (two-colour gradient, two octaves of value noise, a checker/stripe/grid pattern or
 * none, 0-3 translucent blobs, 2-6 lines), plus Gaussian pixel noise (σ 3-8 levels).
 *
 * @param split Split name.
 * @param index Position in the split (integer ≥ 0).
 * @param options Seed and image size.
 * @returns The scene (plain JSON).
 * @throws {RangeError} For an unknown split, a negative or fractional index, or a size below 32.
 * @example
 * ```ts
 * import { synthSpec } from "./synth_sample.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(synthSpec("train", 7), synthSpec("train", 7));
 * assert.equal(synthSpec("train", 7).className, "triangle"); // 7 mod 6 = 1
 * ```
 */
export function synthSpec(split: SynthSplit, index: number, options: SynthOptions = {}): SceneSpec {
  const info = checkSplit(split);
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`Sample index must be an integer ≥ 0, got ${index}`);
  }
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 32) {
    throw new RangeError(`Image size must be an integer ≥ 32, got ${size}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Seed must be an integer, got ${seed}`);
  const k = size / 64;
  const classes = classesOf(info);
  const cls = classes[index % classes.length];
  const rng = new Prng(hashSeed(seed, info.id, index, SYNTH_VERSION));

  // The object, fully inside the image.
  const radius = rng.range(11, 19) * k;
  const obj = shape(cls, 0, 0, radius, rng);
  const reach = radius * 1.05 * Math.max(obj.aspect, 1 / obj.aspect) + 1;
  obj.cx = rng.range(reach, size - reach);
  obj.cy = rng.range(reach, size - reach);
  const objBox = rasterizeShape(obj, size).box;

  const background = {
    from: randomColor(rng, 0.05, 0.6, 0.2, 0.85),
    to: randomColor(rng, 0.05, 0.6, 0.2, 0.85),
    angle: rng.range(0, 2 * Math.PI),
    noiseSeed: rng.uint32(),
    noiseAmp: rng.range(0.1, 0.35),
    noiseCells: [rng.int(3, 5), rng.int(8, 14)] as [number, number],
    pattern: rng.pick(["none", "checker", "stripes", "grid"] as const),
    patternPeriod: Math.max(2, Math.round(rng.range(3, 8) * k)),
    patternAngle: rng.range(0, Math.PI),
    patternAmp: rng.range(0.04, 0.15),
    blobs: Array.from({ length: rng.int(0, 3) }, () => ({
      cx: rng.range(0, size),
      cy: rng.range(0, size),
      rx: rng.range(4, 14) * k,
      ry: rng.range(4, 14) * k,
      color: randomColor(rng, 0, 1, 0.1, 1),
      alpha: rng.range(0.25, 0.6),
    })),
    lines: Array.from({ length: rng.int(2, 6) }, () => ({
      x: rng.range(0, size),
      y: rng.range(0, size),
      angle: rng.range(0, Math.PI),
      halfWidth: rng.range(0.5, 1.3) * k,
      color: randomColor(rng, 0.2, 1, 0.2, 1),
    })),
  };

  // Distractors: small shapes of the other classes, never touching the object's box.
  const others = classes.filter((c) => c !== cls);
  const distractors: ShapeParams[] = [];
  const want = rng.int(2, 4);
  for (let attempt = 0; attempt < 40 && distractors.length < want; attempt++) {
    const d = shape(
      rng.pick(others),
      rng.range(-2, size + 2),
      rng.range(-2, size + 2),
      rng.range(3, 6) * k,
      rng,
    );
    const r = rasterizeShape(d, size);
    if (r.pixels.length < 6 * k * k || overlaps(r.box, objBox, 1)) continue;
    distractors.push(d);
  }
  return {
    size,
    className: cls.name,
    object: obj,
    distractors,
    background,
    noiseSeed: rng.uint32(),
    noiseSigma: rng.range(3, 8),
  };
}

/**
 * Generates one sample.
 *
 * @param split Split name.
 * @param index Position in the split.
 * @param options Seed and image size.
 * @returns The image with its class, box, object mask and scene.
 * @example
 * ```ts
 * import { synthSample } from "./synth_sample.ts";
 * import assert from "node:assert/strict";
 * const s = synthSample("fewshot", 3);
 * assert.equal(s.className, "heart");
 * assert.equal(s.image.data.length, 64 * 64 * 3);
 * ```
 */
export function synthSample(split: SynthSplit, index: number, options: SynthOptions = {}): SynthSample {
  const spec = synthSpec(split, index, options);
  const drawn = drawScene(spec);
  const names = synthClassNames(split);
  return {
    split,
    index,
    label: names.indexOf(spec.className),
    className: spec.className,
    image: drawn.image,
    box: drawn.box,
    mask: drawn.mask,
    distractorBoxes: spec.distractors.map((d) => rasterizeShape(d, spec.size).box),
    spec,
  };
}

/**
 * Generates samples `start … start + count − 1` of a split.
 *
 * @param split Split name.
 * @param count How many.
 * @param options Seed, image size, and the first index (`start`, default 0).
 * @returns The samples in index order.
 * @example
 * ```ts
 * import { synthSamples } from "./synth_sample.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(synthSamples("val", 6).map((s) => s.label), [0, 1, 2, 3, 4, 5]);
 * ```
 */
export function synthSamples(
  split: SynthSplit,
  count: number,
  options: SynthOptions & { start?: number } = {},
): SynthSample[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Count must be an integer ≥ 0, got ${count}`);
  }
  const start = options.start ?? 0;
  return Array.from({ length: count }, (_, i) => synthSample(split, start + i, options));
}
