/**
 * Rendering explanation maps for people: normalising and upsampling maps, colour-mapped overlays on
 * the input image, labelled grids of tiles, text, peak markers and colour bars. Everything works on
 * {@link RgbImage} values in memory; write results with `writePng`.
 * @module
 */
import { applyColormap, applyDivergingColormap, type ColormapName } from "./colormap.ts";
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows, textWidth } from "./font.ts";
import { createImage, resizeBilinear, type RgbImage } from "./image.ts";

/** An RGB colour, each channel an integer in 0..255. */
export type Color = readonly [number, number, number];

/** Options for {@link overlay}. */
export interface OverlayOptions {
  /** Weight of the colour-mapped map in the blend, 0 (image only) .. 1 (map only). Default 0.5. */
  alpha?: number;
  /** Colour map. Default `"jet"`, or `"bwr"` when `signed`. */
  colormap?: ColormapName;
  /**
   * Rescale the upsampled map first: min-max to [0, 1], or by max |value| to [-1, 1] when `signed`.
   * Default true; when false, values are clamped to [0, 1] (or [-1, 1] when `signed`).
   */
  normalize?: boolean;
  /** Treat the map as signed (evidence for and against) and colour it with a diverging map. Default false. */
  signed?: boolean;
}

/** One tile of a {@link grid}. */
export interface GridTile {
  /** The tile image. */
  image: RgbImage;
  /** Caption drawn under the tile. */
  label?: string;
}

/** Options for {@link grid}. */
export interface GridOptions {
  /** Tiles per row. Default `ceil(sqrt(tiles.length))`. */
  columns?: number;
  /** Gap in pixels around and between cells. Default 4. */
  padding?: number;
  /** Background colour. Default white. */
  background?: Color;
  /** Height of the caption band under each tile. Default `7 * textScale + 4` if any label, else 0. */
  labelHeight?: number;
  /** Caption colour. Default black. */
  labelColor?: Color;
  /** Integer magnification of the caption font. Default 1. */
  textScale?: number;
}

/** Options for {@link colorbar}. */
export interface ColorbarOptions {
  /** Width in pixels. Default 16 (vertical) or 128 (horizontal). */
  width?: number;
  /** Height in pixels. Default 128 (vertical) or 16 (horizontal). */
  height?: number;
  /** Colour map. Default `"jet"`. */
  colormap?: ColormapName;
  /** `"vertical"` puts value 1 at the top; `"horizontal"` puts value 1 at the right. Default vertical. */
  orientation?: "vertical" | "horizontal";
}

/**
 * Rescales a map linearly to [0, 1] (minimum to 0, maximum to 1). Non-finite entries are ignored when
 * finding the range and come out as 0; a constant (or entirely non-finite) map comes out as all zeros.
 *
 * @param map Scalar values.
 * @returns A new array of the same length.
 * @example
 * ```ts
 * normalizeMinMax(new Float32Array([2, 4, 6])); // [0, 0.5, 1]
 * ```
 */
export function normalizeMinMax(map: Float32Array): Float32Array {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const out = new Float32Array(map.length);
  const range = max - min;
  if (!(range > 0) || !Number.isFinite(range)) return out;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    out[i] = Number.isFinite(v) ? (v - min) / range : 0;
  }
  return out;
}

/**
 * Rescales a signed map to [-1, 1] by dividing by its largest absolute finite value, so 0 stays 0.
 * Non-finite entries come out as 0; an all-zero map stays all zeros.
 *
 * @param map Signed scalar values.
 * @returns A new array of the same length.
 * @example
 * ```ts
 * normalizeMaxAbs(new Float32Array([-2, 1, 0])); // [-1, 0.5, 0]
 * ```
 */
export function normalizeMaxAbs(map: Float32Array): Float32Array {
  let peak = 0;
  for (let i = 0; i < map.length; i++) {
    const a = Math.abs(map[i]);
    if (Number.isFinite(a) && a > peak) peak = a;
  }
  const out = new Float32Array(map.length);
  if (peak === 0) return out;
  for (let i = 0; i < map.length; i++) out[i] = Number.isFinite(map[i]) ? map[i] / peak : 0;
  return out;
}

/**
 * Upsamples (or downsamples) a single-channel map bilinearly with half-pixel centres, as
 * `F.interpolate(mode="bilinear", align_corners=False)` does.
 *
 * @param map Row-major map of `h * w` values.
 * @param h Map height.
 * @param w Map width.
 * @param outH Output height.
 * @param outW Output width.
 * @returns A new `outH * outW` map.
 * @throws {RangeError} If a size is invalid or `map.length !== h * w`.
 * @example
 * ```ts
 * import { upsampleMap } from "@cnnlens/core";
 * const full = upsampleMap(new Float32Array(49).fill(2), 7, 7, 224, 224);
 * if (full.length !== 224 * 224 || full[1000] !== 2) throw new Error("a constant map stays constant");
 * ```
 */
export function upsampleMap(
  map: Float32Array,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  return resizeBilinear(map, 1, h, w, outH, outW, "chw");
}

/**
 * Blends a colour-mapped explanation map over an image. The map is upsampled to the image size,
 * normalised (unless `normalize: false`), coloured, and mixed as `(1 - alpha) * image + alpha * colour`.
 *
 * @param img The image explained.
 * @param map Row-major map of `mapH * mapW` values.
 * @param mapH Map height.
 * @param mapW Map width.
 * @param options Blend weight, colour map, normalisation and signedness.
 * @returns A new image of the same size as `img`.
 * @throws {RangeError} If `alpha` is outside [0, 1] or the map size does not match its length.
 * @example
 * ```ts
 * import { createImage, overlay } from "@cnnlens/core";
 * const img = createImage(28, 28, [128, 128, 128]);
 * const shown = overlay(img, new Float32Array(49).map((_, i) => i), 7, 7, { alpha: 0.4, colormap: "turbo" });
 * if (shown.width !== 28 || shown.data.length !== 28 * 28 * 3) throw new Error("same size as the image");
 * ```
 */
export function overlay(
  img: RgbImage,
  map: Float32Array,
  mapH: number,
  mapW: number,
  options: OverlayOptions = {},
): RgbImage {
  const what = "Cannot overlay map";
  const alpha = options.alpha ?? 0.5;
  const signed = options.signed ?? false;
  const normalize = options.normalize ?? true;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`${what}: alpha must be in [0, 1], got ${alpha}`);
  if (map.length !== mapH * mapW) {
    throw new RangeError(
      `${what}: map has ${map.length} values but mapH*mapW = ${mapH}*${mapW} = ${mapH * mapW}`,
    );
  }
  checkImageData(what, img);
  const full = upsampleMap(map, mapH, mapW, img.height, img.width);
  let colours: Uint8Array;
  if (signed) {
    colours = applyDivergingColormap(normalize ? normalizeMaxAbs(full) : full, options.colormap ?? "bwr");
  } else {
    colours = applyColormap(normalize ? normalizeMinMax(full) : full, options.colormap ?? "jet");
  }
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((1 - alpha) * img.data[i] + alpha * colours[i]);
  return { width: img.width, height: img.height, data: out };
}

/**
 * Lays tiles out in a grid, left to right then top to bottom, each centred horizontally in a cell as
 * large as the largest tile, with its label centred in a band below it (labels too wide for the cell
 * are cut short and end in `..`).
 *
 * Output size: `columns * cellW + (columns + 1) * padding` wide and
 * `rows * (cellH + labelHeight) + (rows + 1) * padding` high.
 *
 * @param tiles Images with optional labels.
 * @param options Columns, padding, colours and label band height.
 * @returns A new image.
 * @throws {RangeError} If `tiles` is empty or an option is out of range.
 * @example
 * ```ts
 * import { createImage, grid } from "@cnnlens/core";
 * const img = createImage(32, 32, [200, 200, 200]);
 * const sheet = grid([{ image: img, label: "input" }, { image: img, label: "Grad-CAM" }], { columns: 2 });
 * if (sheet.width <= 64) throw new Error("two tiles side by side, with padding");
 * ```
 */
export function grid(tiles: readonly GridTile[], options: GridOptions = {}): RgbImage {
  const what = "Cannot build grid";
  if (tiles.length === 0) throw new RangeError(`${what}: no tiles`);
  const columns = options.columns ?? Math.ceil(Math.sqrt(tiles.length));
  const padding = options.padding ?? 4;
  const scale = options.textScale ?? 1;
  const hasLabels = tiles.some((t) => t.label !== undefined && t.label.length > 0);
  const labelHeight = options.labelHeight ?? (hasLabels ? GLYPH_HEIGHT * scale + 4 : 0);
  checkCount(what, "columns", columns, 1);
  checkCount(what, "padding", padding, 0);
  checkCount(what, "textScale", scale, 1);
  checkCount(what, "labelHeight", labelHeight, 0);
  const background = checkColor(what, options.background ?? [255, 255, 255]);
  const labelColor = checkColor(what, options.labelColor ?? [0, 0, 0]);
  tiles.forEach((t, i) => checkImageData(`${what}: tile ${i}`, t.image));

  const cellW = Math.max(...tiles.map((t) => t.image.width));
  const cellH = Math.max(...tiles.map((t) => t.image.height));
  const rows = Math.ceil(tiles.length / columns);
  const out = createImage(
    columns * cellW + (columns + 1) * padding,
    rows * (cellH + labelHeight) + (rows + 1) * padding,
    background,
  );
  tiles.forEach((tile, i) => {
    const cellX = padding + (i % columns) * (cellW + padding);
    const cellY = padding + Math.floor(i / columns) * (cellH + labelHeight + padding);
    blit(out, tile.image, cellX + Math.floor((cellW - tile.image.width) / 2), cellY);
    if (tile.label !== undefined && tile.label.length > 0 && labelHeight > 0) {
      const label = fitText(tile.label, cellW, scale);
      const x = cellX + Math.floor((cellW - textWidth(label, scale)) / 2);
      const y = cellY + cellH + Math.max(0, Math.floor((labelHeight - GLYPH_HEIGHT * scale) / 2));
      drawText(out, x, y, label, labelColor, scale);
    }
  });
  return out;
}

/**
 * Draws one line of text in place with the built-in 5x7 font. `(x, y)` is the top-left corner of the
 * text box, which is `textWidth(text, scale)` by `7 * scale` pixels; only pixels inside that box (and
 * inside the image) change. Pixels falling outside the image are skipped.
 *
 * @param img Image to draw on (modified).
 * @param x Left edge in pixels (rounded).
 * @param y Top edge in pixels (rounded).
 * @param text The text; characters outside printable ASCII are drawn as `?`.
 * @param color Ink colour, default black.
 * @param scale Integer magnification, default 1.
 * @returns Nothing; `img` is modified.
 * @example
 * ```ts
 * import { createImage, drawText } from "@cnnlens/core";
 * const img = createImage(200, 30);
 * drawText(img, 4, 4, "class 281: tabby", [255, 255, 255], 2);
 * if (!img.data.some((v) => v === 255)) throw new Error("text drawn");
 * ```
 */
export function drawText(
  img: RgbImage,
  x: number,
  y: number,
  text: string,
  color: Color = [0, 0, 0],
  scale = 1,
): void {
  const what = "Cannot draw text";
  checkCount(what, "scale", scale, 1);
  const ink = checkColor(what, color);
  const left = Math.round(x), top = Math.round(y);
  Array.from(text).forEach((ch, i) => {
    const rows = glyphRows(ch);
    const gx = left + i * GLYPH_ADVANCE * scale;
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if ((rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1) {
          fillRect(img, gx + c * scale, top + r * scale, scale, scale, ink);
        }
      }
    }
  });
}

/**
 * Draws a cross centred on `(x, y)` in place, e.g. to mark the peak of a map. The arms reach `size`
 * pixels from the centre in each direction; parts outside the image are skipped.
 *
 * @param img Image to draw on (modified).
 * @param x Centre column (rounded).
 * @param y Centre row (rounded).
 * @param color Colour, default white.
 * @param size Arm length in pixels, default 3.
 * @returns Nothing; `img` is modified.
 * @example
 * ```ts
 * import { createImage, drawMarker } from "@cnnlens/core";
 * const shown = createImage(9, 9);
 * drawMarker(shown, 4, 4, [255, 255, 255]);
 * if (shown.data[(4 * 9 + 4) * 3] !== 255) throw new Error("centre marked");
 * ```
 */
export function drawMarker(
  img: RgbImage,
  x: number,
  y: number,
  color: Color = [255, 255, 255],
  size = 3,
): void {
  const what = "Cannot draw marker";
  checkCount(what, "size", size, 0);
  const ink = checkColor(what, color);
  const cx = Math.round(x), cy = Math.round(y);
  fillRect(img, cx - size, cy, 2 * size + 1, 1, ink);
  fillRect(img, cx, cy - size, 1, 2 * size + 1, ink);
}

/**
 * Renders a colour bar: a gradient through a colour map, for a figure legend.
 *
 * @param options Size, colour map and orientation.
 * @returns A new image; vertical bars have value 1 at the top row, horizontal bars at the right column.
 * @example
 * ```ts
 * const legend = colorbar({ colormap: "turbo", height: 224 });
 * ```
 */
export function colorbar(options: ColorbarOptions = {}): RgbImage {
  const vertical = (options.orientation ?? "vertical") === "vertical";
  const width = options.width ?? (vertical ? 16 : 128);
  const height = options.height ?? (vertical ? 128 : 16);
  const out = createImage(width, height);
  const steps = vertical ? height : width;
  const values = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    values[i] = steps === 1 ? 1 : vertical ? 1 - i / (steps - 1) : i / (steps - 1);
  }
  const colours = applyColormap(values, options.colormap ?? "jet");
  for (let yy = 0; yy < height; yy++) {
    for (let xx = 0; xx < width; xx++) {
      const k = (vertical ? yy : xx) * 3, o = (yy * width + xx) * 3;
      out.data[o] = colours[k];
      out.data[o + 1] = colours[k + 1];
      out.data[o + 2] = colours[k + 2];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, color: Color): void {
  const x0 = Math.max(0, x), y0 = Math.max(0, y);
  const x1 = Math.min(img.width, x + w), y1 = Math.min(img.height, y + h);
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const o = (yy * img.width + xx) * 3;
      img.data[o] = color[0];
      img.data[o + 1] = color[1];
      img.data[o + 2] = color[2];
    }
  }
}

function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    const ty = y + row;
    if (ty < 0 || ty >= dst.height) continue;
    const from = row * src.width * 3;
    dst.data.set(src.data.subarray(from, from + src.width * 3), (ty * dst.width + x) * 3);
  }
}

function fitText(text: string, maxWidth: number, scale: number): string {
  const chars = Array.from(text);
  if (textWidth(text, scale) <= maxWidth) return text;
  for (let n = chars.length - 1; n > 0; n--) {
    const candidate = chars.slice(0, n).join("") + "..";
    if (textWidth(candidate, scale) <= maxWidth) return candidate;
  }
  return "";
}

function checkCount(what: string, name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${what}: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

function checkColor(what: string, color: Color): Color {
  if (
    !Array.isArray(color) || color.length !== 3 ||
    !color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)
  ) {
    throw new RangeError(`${what}: colour must be 3 integers in 0..255, got ${JSON.stringify(color)}`);
  }
  return color;
}

function checkImageData(what: string, img: RgbImage): void {
  if (
    !Number.isSafeInteger(img.width) || img.width < 1 || !Number.isSafeInteger(img.height) ||
    img.height < 1 ||
    !(img.data instanceof Uint8Array) || img.data.length !== img.width * img.height * 3
  ) {
    throw new RangeError(
      `${what}: expected an RGB image with width*height*3 bytes, got ${img.width}x${img.height} ` +
        `with ${img.data?.length} bytes`,
    );
  }
}
