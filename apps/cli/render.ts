import { grid, normalizeMinMax, overlay, type RgbImage } from "@cnnlens/core";

/** One map at its own resolution (H × W), before upsampling and normalisation. */
export interface RawMap {
  data: Float32Array;
  height: number;
  width: number;
  label?: string;
}

/**
 * The standard picture of a map: upsampled (bilinear), min-max normalised, colour-mapped over the image.
 * @param img The input picture.
 * @param map The raw map.
 * @param signed Use the diverging colour map for signed maps.
 * @param alpha Weight of the colour map (1: the colour-mapped map alone, for interactive opacity).
 * @returns The overlay.
 */
export function overlayMap(img: RgbImage, map: RawMap, signed = false, alpha = 0.5): RgbImage {
  return overlay(img, map.data, map.height, map.width, { alpha, colormap: signed ? "bwr" : "jet", signed });
}

/**
 * A labelled strip of overlays (e.g. NAFlow's flow, shallow to deep).
 * @param img The input picture.
 * @param maps Raw maps with labels.
 * @param columns Columns of the grid.
 * @returns The picture.
 */
export function overlayStrip(img: RgbImage, maps: RawMap[], columns = Math.min(maps.length, 6)): RgbImage {
  return grid(maps.map((m) => ({ image: overlayMap(img, m), label: m.label })), { columns });
}

export { normalizeMinMax };
