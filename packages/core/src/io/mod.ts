/**
 * Image and array I/O for cnnlens, in pure TypeScript over typed arrays: `.npy` files, PNG/JPEG
 * decoding and PNG encoding, bilinear resizing, colour maps, and rendering of explanation maps
 * (overlays, labelled grids, text, markers, colour bars).
 *
 * @example
 * ```ts ignore
 * import { loadNpy, overlay, readImage, writePng } from "./mod.ts";
 *
 * const img = await readImage("cat.png");
 * const cam = await loadNpy("cam.npy"); // float32, shape [7, 7]
 * await writePng("cam_overlay.png", overlay(img, cam.data as Float32Array, 7, 7, { alpha: 0.4 }));
 * ```
 * @module
 */
export { writeFileAtomic } from "./atomic_write.ts";
export {
  applyColormap,
  applyDivergingColormap,
  COLORMAP_SIZE,
  type ColormapName,
  colormaps,
  isColormapName,
} from "./colormap.ts";
export { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows, textWidth } from "./font.ts";
export {
  createImage,
  decodeImage,
  encodePng,
  IMAGENET_MEAN,
  IMAGENET_STD,
  imageToTensorData,
  type Layout,
  readImage,
  resizeBilinear,
  type RgbaImage,
  type RgbImage,
  type TensorData,
  type TensorDataOptions,
  writePng,
} from "./image.ts";
export { loadNpy, type NdArray, type NdArrayData, type NpyDtype, readNpy, saveNpy, writeNpy } from "./npy.ts";
export {
  type Color,
  colorbar,
  type ColorbarOptions,
  drawMarker,
  drawText,
  grid,
  type GridOptions,
  type GridTile,
  normalizeMaxAbs,
  normalizeMinMax,
  overlay,
  type OverlayOptions,
  upsampleMap,
} from "./render.ts";
