/**
 * Scenes: a plain, JSON-serialisable description of one synthetic image ({@linkcode SceneSpec}: the
 * background's parameters, the object, the distractors, the pixel noise) and its rasteriser
 * ({@linkcode drawScene}). Drawing is a pure function of the description, so an image can be redrawn
 * without its object (or without its distractors) with every other pixel identical.
 * @module
 */
import type { RgbImage } from "@cnnlens/core";
import type { Box } from "../box.ts";
import { Prng } from "./prng.ts";
import { shapeClass } from "./shapes.ts";

/** An 8-bit RGB colour. */
export type Rgb = [number, number, number];

/** One shape instance (the object, or a distractor). */
export interface ShapeParams {
  /** Class name (see `SYNTH_CLASSES_A` / `SYNTH_CLASSES_B`). */
  className: string;
  /** Centre, in pixels (x right, y down; pixel (x, y) has its centre at (x + ½, y + ½)). */
  cx: number;
  /** Centre y. */
  cy: number;
  /** Radius in pixels: the shape lies within about 1.05 · radius · max(aspect, 1 / aspect) of the centre. */
  radius: number;
  /** Rotation in radians (clockwise on screen). */
  angle: number;
  /** Stretch: the shape's u axis is scaled by `aspect`, its v axis by `1 / aspect`. */
  aspect: number;
  /** Main colour. */
  color: Rgb;
  /** Texture's second colour. */
  alt: Rgb;
}

/** A straight line of the background clutter. */
export interface LineParams {
  /** A point on the line (pixels). */
  x: number;
  /** A point on the line (pixels). */
  y: number;
  /** Direction in radians. */
  angle: number;
  /** Half-width in pixels. */
  halfWidth: number;
  /** Colour. */
  color: Rgb;
}

/** A translucent soft ellipse of the background clutter. */
export interface BlobParams {
  /** Centre x. */
  cx: number;
  /** Centre y. */
  cy: number;
  /** Semi-axis along x. */
  rx: number;
  /** Semi-axis along y. */
  ry: number;
  /** Colour. */
  color: Rgb;
  /** Opacity at the centre, in [0, 1]. */
  alpha: number;
}

/** The procedural background. */
export interface BackgroundParams {
  /** Gradient's two end colours. */
  from: Rgb;
  /** Gradient's far colour. */
  to: Rgb;
  /** Gradient direction in radians. */
  angle: number;
  /** Seed of the value-noise lattices. */
  noiseSeed: number;
  /** Relative brightness modulation of the value noise (0: none). */
  noiseAmp: number;
  /** Value-noise cells across the image, coarse and fine octave. */
  noiseCells: [number, number];
  /** Periodic texture over the whole background. */
  pattern: "none" | "checker" | "stripes" | "grid";
  /** Pattern period in pixels. */
  patternPeriod: number;
  /** Pattern direction in radians (stripes). */
  patternAngle: number;
  /** Pattern contrast (relative brightness change). */
  patternAmp: number;
  /** Translucent soft blobs, drawn first. */
  blobs: BlobParams[];
  /** Lines, drawn over the blobs. */
  lines: LineParams[];
}

/** Everything that determines one image. */
export interface SceneSpec {
  /** Width and height in pixels. */
  size: number;
  /** The object's class name. */
  className: string;
  /** The object. */
  object: ShapeParams;
  /** Small shapes of other classes, each fully outside the object's box (fragments may leave the image). */
  distractors: ShapeParams[];
  /** The background. */
  background: BackgroundParams;
  /** Seed of the per-pixel noise. */
  noiseSeed: number;
  /** Standard deviation of the per-pixel Gaussian noise, in 8-bit levels. */
  noiseSigma: number;
}

/** What {@linkcode drawScene} draws. */
export interface DrawOptions {
  /** Draw the object. @default true */
  object?: boolean;
  /** Draw the distractors. @default true */
  distractors?: boolean;
}

/** A drawn scene. */
export interface DrawnScene {
  /** The image. */
  image: RgbImage;
  /** 1 where the object's pixels are (also when `object: false`, for comparison), else 0; row-major H×W. */
  mask: Uint8Array;
  /** The tight half-open box of `mask`. */
  box: Box;
}

/** Pixels a shape covers (pixel centres inside it), clipped to the image. */
export interface Raster {
  /** Pixel indices `y * size + x`, in raster order. */
  pixels: Int32Array;
  /** Texture weight (second colour) of each pixel. */
  weights: Float32Array;
  /** Tight half-open box of the pixels (all zeros when empty). */
  box: Box;
}

/**
 * Rasterises a shape: the pixels whose centre lies inside it, with the texture weight at each.
 *
 * @param shape The shape.
 * @param size Image width and height.
 * @returns The covered pixels and their tight box.
 * @example
 * ```ts
 * import { rasterizeShape } from "./scene.ts";
 * import assert from "node:assert/strict";
 * const r = rasterizeShape({ className: "circle", cx: 8, cy: 8, radius: 4, angle: 0, aspect: 1,
 *   color: [255, 0, 0], alt: [0, 0, 0] }, 16);
 * assert.deepEqual(r.box, { x0: 4, y0: 4, x1: 12, y1: 12 });
 * ```
 */
export function rasterizeShape(shape: ShapeParams, size: number): Raster {
  const cls = shapeClass(shape.className);
  const reach = shape.radius * 1.1 * Math.max(shape.aspect, 1 / shape.aspect) + 1;
  const xa = Math.max(0, Math.floor(shape.cx - reach)), xb = Math.min(size - 1, Math.ceil(shape.cx + reach));
  const ya = Math.max(0, Math.floor(shape.cy - reach)), yb = Math.min(size - 1, Math.ceil(shape.cy + reach));
  const c = Math.cos(shape.angle), s = Math.sin(shape.angle);
  const pixels: number[] = [], weights: number[] = [];
  let x0 = size, y0 = size, x1 = 0, y1 = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const dx = (x + 0.5 - shape.cx) / shape.radius, dy = (y + 0.5 - shape.cy) / shape.radius;
      // Into the shape's frame: rotate by −angle, then undo the stretch.
      const u = (dx * c + dy * s) / shape.aspect;
      const v = (-dx * s + dy * c) * shape.aspect;
      const t = cls.paint(u, v);
      if (t < 0) continue;
      pixels.push(y * size + x);
      weights.push(t);
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x + 1 > x1) x1 = x + 1;
      if (y + 1 > y1) y1 = y + 1;
    }
  }
  const box = pixels.length ? { x0, y0, x1, y1 } : { x0: 0, y0: 0, x1: 0, y1: 0 };
  return { pixels: Int32Array.from(pixels), weights: Float32Array.from(weights), box };
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Value noise in [-1, 1]: a seeded (cells+1)² lattice, smoothstep-interpolated. */
function valueNoise(size: number, cells: number, rng: Prng): Float32Array {
  const n = cells + 1;
  const lattice = new Float32Array(n * n);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.range(-1, 1);
  const out = new Float32Array(size * size);
  const step = cells / size;
  for (let y = 0; y < size; y++) {
    const fy = (y + 0.5) * step, iy = Math.min(Math.floor(fy), cells - 1), ty = smooth(fy - iy);
    for (let x = 0; x < size; x++) {
      const fx = (x + 0.5) * step, ix = Math.min(Math.floor(fx), cells - 1), tx = smooth(fx - ix);
      const a = lattice[iy * n + ix], b = lattice[iy * n + ix + 1];
      const c = lattice[(iy + 1) * n + ix], d = lattice[(iy + 1) * n + ix + 1];
      out[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

function patternValue(bg: BackgroundParams, x: number, y: number): number {
  const p = bg.patternPeriod;
  switch (bg.pattern) {
    case "checker":
      return ((Math.floor(x / p) + Math.floor(y / p)) % 2) * 2 - 1;
    case "stripes": {
      const t = (x * Math.cos(bg.patternAngle) + y * Math.sin(bg.patternAngle)) / p;
      return (Math.floor(t) % 2 === 0 ? 1 : -1);
    }
    case "grid":
      return x % p === 0 || y % p === 0 ? 1 : 0;
    default:
      return 0;
  }
}

/** Background RGB as floats (0…255), before objects and noise. */
function drawBackground(bg: BackgroundParams, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const rng = new Prng(bg.noiseSeed);
  const coarse = valueNoise(size, bg.noiseCells[0], rng);
  const fine = valueNoise(size, bg.noiseCells[1], rng);
  const ca = Math.cos(bg.angle), sa = Math.sin(bg.angle);
  const half = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      const t = Math.min(1, Math.max(0, ((x + 0.5 - half) * ca + (y + 0.5 - half) * sa) / size + 0.5));
      const gain = 1 + bg.noiseAmp * (0.7 * coarse[p] + 0.3 * fine[p]) +
        bg.patternAmp * patternValue(bg, x, y);
      for (let k = 0; k < 3; k++) out[p * 3 + k] = (bg.from[k] + (bg.to[k] - bg.from[k]) * t) * gain;
    }
  }
  for (const b of bg.blobs) {
    const xa = Math.max(0, Math.floor(b.cx - b.rx)), xb = Math.min(size - 1, Math.ceil(b.cx + b.rx));
    const ya = Math.max(0, Math.floor(b.cy - b.ry)), yb = Math.min(size - 1, Math.ceil(b.cy + b.ry));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = (x + 0.5 - b.cx) / b.rx, dy = (y + 0.5 - b.cy) / b.ry;
        const d2 = dx * dx + dy * dy;
        if (d2 >= 1) continue;
        const a = b.alpha * (1 - d2);
        const p = (y * size + x) * 3;
        for (let k = 0; k < 3; k++) out[p + k] += (b.color[k] - out[p + k]) * a;
      }
    }
  }
  for (const l of bg.lines) {
    const nx = -Math.sin(l.angle), ny = Math.cos(l.angle); // unit normal
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (Math.abs((x + 0.5 - l.x) * nx + (y + 0.5 - l.y) * ny) > l.halfWidth) continue;
        const p = (y * size + x) * 3;
        for (let k = 0; k < 3; k++) out[p + k] = l.color[k];
      }
    }
  }
  return out;
}

function paintShape(out: Float32Array, shape: ShapeParams, raster: Raster): void {
  for (let i = 0; i < raster.pixels.length; i++) {
    const p = raster.pixels[i] * 3, w = raster.weights[i];
    for (let k = 0; k < 3; k++) out[p + k] = shape.color[k] + (shape.alt[k] - shape.color[k]) * w;
  }
}

/**
 * Draws a scene: background (gradient × value noise × pattern, blobs, lines), then the distractors, then the
 * object, then per-pixel Gaussian noise, rounded and clamped to 8 bits. The noise is drawn for every pixel
 * in raster order whatever is drawn, so leaving the object out changes only the object's pixels.
 *
 * @param spec The scene.
 * @param options What to leave out.
 * @returns The image, the object's mask and tight box.
 * @example
 * ```ts
 * import { drawScene, synthSpec } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const spec = synthSpec("test", 0);
 * const a = drawScene(spec), b = drawScene(spec, { object: false });
 * assert.deepEqual(a.box, b.box);
 * assert.notDeepEqual(a.image.data, b.image.data);
 * ```
 */
export function drawScene(spec: SceneSpec, options: DrawOptions = {}): DrawnScene {
  const size = spec.size;
  if (!Number.isInteger(size) || size < 8) {
    throw new RangeError(`Scene size must be an integer ≥ 8, got ${size}`);
  }
  const rgb = drawBackground(spec.background, size);
  if (options.distractors ?? true) {
    for (const d of spec.distractors) paintShape(rgb, d, rasterizeShape(d, size));
  }
  const obj = rasterizeShape(spec.object, size);
  if (options.object ?? true) paintShape(rgb, spec.object, obj);
  const mask = new Uint8Array(size * size);
  for (const p of obj.pixels) mask[p] = 1;
  const rng = new Prng(spec.noiseSeed);
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(rgb[i] + spec.noiseSigma * rng.normal());
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { image: { width: size, height: size, data }, mask, box: obj.box };
}
