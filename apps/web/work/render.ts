/**
 * Pictures for the dashboard: heat overlays, boxes, model inputs back as pixels, PNG data URLs.
 * @module
 */
import { overlay, type RgbImage } from "@cnnlens/core";
import { pngDataUrl } from "@cnnlens/cli/report";
import { displaySize } from "@cnnlens/cli/input";

export { displaySize, pngDataUrl };

/** A method's picture (the CLI adapters' `Figure`). */
export interface Figure {
  title: string;
  image: RgbImage;
  heat?: RgbImage;
  group?: string;
  node?: string;
}

/** A figure as the browser receives it. */
export interface FigureJson {
  title: string;
  group: string | null;
  node: string | null;
  image: string;
  heat: string | null;
}

/**
 * A method's figure as JSON with PNG data URLs.
 * @param f The figure.
 * @returns Its JSON form.
 */
export function figureJson(f: Figure): FigureJson {
  return {
    title: f.title,
    group: f.group ?? null,
    node: f.node ?? null,
    image: pngDataUrl(f.image),
    heat: f.heat ? pngDataUrl(f.heat) : null,
  };
}

/**
 * A raw map (any resolution), upsampled, min-max normalised and colour-mapped (jet) over a picture.
 * @param img The picture.
 * @param map The map, `h × w` row-major.
 * @param h Its height.
 * @param w Its width.
 * @param alpha The colour map's weight (1: the colour map alone).
 * @returns A new picture.
 */
export function heat(img: RgbImage, map: Float32Array, h: number, w: number, alpha = 0.5): RgbImage {
  return overlay(img, map, h, w, { alpha, colormap: "jet" });
}

/**
 * Draw a box outline (half-open pixel box, in the picture's pixels) in place.
 * @param img The picture (modified).
 * @param box `{x0, y0, x1, y1}`.
 * @param color RGB.
 * @param thickness Line width in pixels.
 */
export function drawBox(
  img: RgbImage,
  box: { x0: number; y0: number; x1: number; y1: number },
  color: [number, number, number],
  thickness = 2,
): void {
  const x0 = Math.max(0, Math.round(box.x0)), x1 = Math.min(img.width, Math.round(box.x1));
  const y0 = Math.max(0, Math.round(box.y0)), y1 = Math.min(img.height, Math.round(box.y1));
  const put = (x: number, y: number) => {
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return;
    img.data.set(color, (y * img.width + x) * 3);
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = x0; x < x1; x++) {
      put(x, y0 + t);
      put(x, y1 - 1 - t);
    }
    for (let y = y0; y < y1; y++) {
      put(x0 + t, y);
      put(x1 - 1 - t, y);
    }
  }
}

/**
 * A model input (CHW, normalised with `mean`/`std` of [0, 1] pixels) back as an 8-bit picture.
 * @param chw The values.
 * @param shape `[3, H, W]`.
 * @param mean Per-channel mean.
 * @param std Per-channel standard deviation.
 * @returns The picture (values clamped to [0, 255]).
 */
export function chwToImage(
  chw: Float32Array,
  shape: number[],
  mean: readonly number[],
  std: readonly number[],
): RgbImage {
  const [c, h, w] = shape;
  const out = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const ch = Math.min(k, c - 1);
      const v = (chw[ch * h * w + p] * std[ch] + mean[ch]) * 255;
      out[p * 3 + k] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width: w, height: h, data: out };
}
