/**
 * The two renderings of an IOM map as plain RGB arrays (no image encoding): the colour rendering of the
 * paper's Figure 1, where each colour channel's saliency is shown in its own colour (a region where only
 * the blue channel matters shows blue; one where all three matter shows white), and a signed magnitude
 * map (positive red, negative blue, zero white).
 * @module
 */

/** An RGB image, row-major, channels interleaved (`[y][x][r, g, b]`). */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 8-bit values, length `width·height·3`. */
  rgb: Uint8Array;
  /** The same values in [0, 1]. */
  float: Float32Array;
}

/** Options for {@linkcode renderColour}. */
export interface ColourOptions {
  /**
   * `abs`: |IOM| per channel, as the paper's Figure 1 does; `positive`: negatives zeroed, as the paper's
   * Table 1 comparison does.
   * @default "abs"
   */
  mode?: "abs" | "positive";
}

function image(w: number, h: number, f: Float32Array): RgbImage {
  const rgb = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) rgb[i] = Math.round(255 * Math.min(1, Math.max(0, f[i])));
  return { width: w, height: h, rgb, float: f };
}

/**
 * Colour rendering: the intensity of colour channel c at a pixel is the saliency of input channel c
 * there (a 1-channel map renders grey).
 * @param map An IOM map in [−1, 1], CHW.
 * @param shape `[C, H, W]` with C = 3 (RGB input) or 1.
 * @param options Absolute or positive part.
 * @returns The RGB image.
 * @example
 * ```ts
 * import { renderColour } from "./render.ts";
 * // One pixel where only the blue channel matters.
 * const img = renderColour(Float32Array.from([0, 0, -1]), [3, 1, 1]);
 * if (img.rgb.join() !== "0,0,255") throw new Error("blue");
 * ```
 */
export function renderColour(map: ArrayLike<number>, shape: number[], options: ColourOptions = {}): RgbImage {
  const [c, h, w] = shape;
  if (c !== 3 && c !== 1) {
    throw new RangeError(`renderColour() needs a 3-channel (RGB) or 1-channel map: got ${c} channels`);
  }
  const mode = options.mode ?? "abs";
  const f = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++) {
        const v = map[((c === 1 ? 0 : k) * h + y) * w + x];
        f[(y * w + x) * 3 + k] = mode === "abs" ? Math.abs(v) : Math.max(0, v);
      }
    }
  }
  return image(w, h, f);
}

/**
 * Signed magnitude map: the channel sum of the map per pixel, scaled to [−1, 1] by its largest absolute
 * value, rendered blue (−1) – white (0) – red (+1).
 * @param map A map, CHW.
 * @param shape `[C, H, W]`.
 * @returns The RGB image and the signed magnitudes (H×W, in [−1, 1]).
 * @example
 * ```ts
 * import { renderSignedMagnitude } from "./render.ts";
 * const img = renderSignedMagnitude(Float32Array.from([2, -1, 0]), [1, 1, 3]);
 * if (img.rgb.join() !== "255,0,0,128,128,255,255,255,255") throw new Error();
 * ```
 */
export function renderSignedMagnitude(
  map: ArrayLike<number>,
  shape: number[],
): RgbImage & { magnitude: Float32Array } {
  const [c, h, w] = shape;
  const m = new Float64Array(h * w);
  let top = 0;
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < c; k++) m[i] += map[k * h * w + i];
    top = Math.max(top, Math.abs(m[i]));
  }
  const magnitude = new Float32Array(h * w);
  const f = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    const v = top > 0 ? m[i] / top : 0;
    magnitude[i] = v;
    const [r, g, b] = v >= 0 ? [1, 1 - v, 1 - v] : [1 + v, 1 + v, 1];
    f[i * 3] = r;
    f[i * 3 + 1] = g;
    f[i * 3 + 2] = b;
  }
  return { ...image(w, h, f), magnitude };
}
