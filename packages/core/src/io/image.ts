/**
 * 8-bit RGB images: decoding PNG/JPEG, encoding PNG, bilinear resizing of float planes, and turning an
 * image into normalised network input.
 * @module
 */
import { decode as decodePngRaw, encode as encodePngRaw } from "fast-png";
import jpeg from "jpeg-js";
import { writeFileAtomic } from "./atomic_write.ts";

/** An 8-bit RGB image, row-major, channels interleaved: pixel (x, y) is `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGB bytes, length `width * height * 3`. */
  data: Uint8Array;
}

/** An 8-bit RGBA image (straight, not premultiplied, alpha) for {@link encodePng}. */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGBA bytes, length `width * height * 4`. */
  data: Uint8Array;
  /** Marks the data as four channels per pixel. */
  channels: 4;
}

/** Memory layout of a float image: channel planes (`"chw"`) or interleaved channels (`"hwc"`). */
export type Layout = "chw" | "hwc";

/** Options for {@link imageToTensorData}. */
export interface TensorDataOptions {
  /** Output `[height, width]`; the image is resized bilinearly when it differs. Default: the image size. */
  size?: readonly [number, number];
  /** Per-channel mean subtracted after scaling to [0, 1]. Default: ImageNet `[0.485, 0.456, 0.406]`. */
  mean?: readonly number[];
  /** Per-channel standard deviation divided by. Default: ImageNet `[0.229, 0.224, 0.225]`. */
  std?: readonly number[];
  /** Output layout. Default `"chw"`. */
  layout?: Layout;
}

/** A float image ready for a network: `data` laid out as `shape` (`[3, h, w]` or `[h, w, 3]`). */
export interface TensorData {
  /** Normalised values. */
  data: Float32Array;
  /** `[3, height, width]` for `"chw"`, `[height, width, 3]` for `"hwc"`. */
  shape: [number, number, number];
}

/** ImageNet channel means used by torchvision's pretrained classifiers. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** ImageNet channel standard deviations used by torchvision's pretrained classifiers. */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Creates an RGB image filled with one colour.
 *
 * @param width Width in pixels (positive integer).
 * @param height Height in pixels (positive integer).
 * @param fill Fill colour `[r, g, b]`, default black.
 * @returns A new image.
 * @example
 * ```ts
 * const white = createImage(64, 32, [255, 255, 255]);
 * ```
 */
export function createImage(
  width: number,
  height: number,
  fill: readonly [number, number, number] = [0, 0, 0],
): RgbImage {
  checkSize("Cannot create image", width, height);
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/**
 * Decodes PNG or JPEG bytes (detected by their magic bytes) into 8-bit RGB.
 *
 * PNG: every colour type and bit depth is accepted — greyscale (1/2/4/8/16-bit), grey+alpha, RGB,
 * RGBA, and palette images (palette expanded). 16-bit samples keep their high byte, low bit depths are
 * scaled to 0..255. **Alpha is dropped** (as PIL's `Image.convert("RGB")` does), so a fully
 * transparent pixel keeps whatever colour it stores. Interlaced (Adam7) PNGs with 1/2/4-bit samples
 * are refused. JPEG: baseline and progressive via `jpeg-js`, greyscale expanded to RGB.
 *
 * @param bytes Encoded file contents.
 * @param pathForMessages Optional file name to quote in error messages.
 * @returns The decoded image.
 * @throws {SyntaxError} If the data is neither PNG nor JPEG, or is corrupt.
 * @throws {RangeError} If the data is truncated.
 * @throws {TypeError} If `bytes` is not a Uint8Array, or for an interlaced PNG with sub-byte samples.
 * @example
 * ```ts ignore
 * const img = decodeImage(await Deno.readFile("cat.jpg"), "cat.jpg");
 * console.log(img.width, img.height);
 * ```
 */
export function decodeImage(bytes: Uint8Array, pathForMessages?: string): RgbImage {
  const what = pathForMessages === undefined
    ? "Cannot decode image"
    : `Cannot decode image '${pathForMessages}'`;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${what}: expected a Uint8Array, got ${typeName(bytes)}`);
  }
  if (bytes.length === 0) throw new RangeError(`${what}: the data is empty`);
  if (startsWith(bytes, PNG_SIGNATURE)) return decodePng(bytes, what);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return decodeJpeg(bytes, what);
  if (startsWith(PNG_SIGNATURE, bytes) || startsWith([0xff, 0xd8, 0xff], bytes)) {
    throw new RangeError(
      `${what}: truncated ${bytes[0] === 0x89 ? "PNG" : "JPEG"} (only ${bytes.length} bytes)`,
    );
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
  throw new SyntaxError(`${what}: not a PNG or JPEG (starts with 0x${head})`);
}

/**
 * Encodes an RGB (or RGBA) image as an 8-bit PNG.
 *
 * @param img The image; pass `channels: 4` with RGBA data to keep an alpha channel.
 * @returns PNG file bytes.
 * @throws {RangeError} If the size is invalid or `data` has the wrong length.
 * @example
 * ```ts
 * const png = encodePng(createImage(8, 8, [255, 0, 0]));
 * ```
 */
export function encodePng(img: RgbImage | RgbaImage): Uint8Array {
  const channels = "channels" in img && img.channels === 4 ? 4 : 3;
  checkImage("Cannot encode PNG", img, channels);
  return encodePngRaw({ width: img.width, height: img.height, data: img.data, channels, depth: 8 });
}

/**
 * Reads and decodes a PNG or JPEG file.
 *
 * @param path File path.
 * @returns The decoded RGB image.
 * @throws Whatever {@link decodeImage} throws, with `path` in the message; file-system errors as-is.
 * @example
 * ```ts ignore
 * const img = await readImage("samples/dog.png");
 * ```
 */
export async function readImage(path: string): Promise<RgbImage> {
  return decodeImage(await Deno.readFile(path), path);
}

/**
 * Writes an image as a PNG file atomically (temporary file `<path>.tmp-<random>`, then rename).
 *
 * @param path Destination path.
 * @param img RGB or RGBA image.
 * @returns A promise that resolves once the file is in place.
 * @example
 * ```ts
 * import { createImage, readImage, writePng } from "@cnnlens/core";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await writePng(path, createImage(4, 3, [10, 20, 30]));
 * if ((await readImage(path)).data[2] !== 30) throw new Error("round trip");
 * ```
 */
export async function writePng(path: string, img: RgbImage | RgbaImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}

/**
 * Resizes a float image bilinearly with the half-pixel-centre convention (`align_corners=False`), as
 * PyTorch's `F.interpolate(mode="bilinear")` and torchvision's resize without antialiasing do: output
 * pixel `d` samples source coordinate `(d + 0.5) * (inSize / outSize) - 0.5`, clamped to
 * `[0, inSize - 1]`. No antialiasing is applied when shrinking.
 *
 * @param src Source values, `c * h * w` of them, in `layout` order.
 * @param c Number of channels.
 * @param h Source height.
 * @param w Source width.
 * @param outH Output height.
 * @param outW Output width.
 * @param layout `"chw"` (planes) or `"hwc"` (interleaved); the output uses the same layout.
 * @returns A new array of `c * outH * outW` values.
 * @throws {RangeError} If a size is not a positive integer or `src` has the wrong length.
 * @example
 * ```ts
 * const big = resizeBilinear(new Float32Array([0, 1, 2, 3]), 1, 2, 2, 4, 4, "chw");
 * ```
 */
export function resizeBilinear(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  layout: Layout,
): Float32Array {
  const what = "Cannot resize";
  for (const [name, v] of [["c", c], ["h", h], ["w", w], ["outH", outH], ["outW", outW]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (layout !== "chw" && layout !== "hwc") {
    throw new TypeError(`${what}: layout must be "chw" or "hwc", got ${JSON.stringify(layout)}`);
  }
  if (src.length !== c * h * w) {
    throw new RangeError(`${what}: src has ${src.length} values but c*h*w = ${c}*${h}*${w} = ${c * h * w}`);
  }
  if (outH === h && outW === w) return Float32Array.from(src);

  const ys = axisTaps(h, outH);
  const xs = axisTaps(w, outW);
  const out = new Float32Array(c * outH * outW);
  if (layout === "chw") {
    for (let ch = 0; ch < c; ch++) {
      const base = ch * h * w;
      let o = ch * outH * outW;
      for (let oy = 0; oy < outH; oy++) {
        const r0 = base + ys.i0[oy] * w, r1 = base + ys.i1[oy] * w, fy = ys.f[oy];
        for (let ox = 0; ox < outW; ox++) {
          const x0 = xs.i0[ox], x1 = xs.i1[ox], fx = xs.f[ox];
          const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * fx;
          const bottom = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * fx;
          out[o++] = top + (bottom - top) * fy;
        }
      }
    }
  } else {
    let o = 0;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = ys.i0[oy] * w, r1 = ys.i1[oy] * w, fy = ys.f[oy];
      for (let ox = 0; ox < outW; ox++) {
        const p00 = (r0 + xs.i0[ox]) * c, p01 = (r0 + xs.i1[ox]) * c;
        const p10 = (r1 + xs.i0[ox]) * c, p11 = (r1 + xs.i1[ox]) * c;
        const fx = xs.f[ox];
        for (let ch = 0; ch < c; ch++) {
          const top = src[p00 + ch] + (src[p01 + ch] - src[p00 + ch]) * fx;
          const bottom = src[p10 + ch] + (src[p11 + ch] - src[p10 + ch]) * fx;
          out[o++] = top + (bottom - top) * fy;
        }
      }
    }
  }
  return out;
}

/**
 * Converts an RGB image to normalised float network input: values scaled to [0, 1], resized
 * bilinearly (half-pixel centres, see {@link resizeBilinear}) when `size` differs from the image, then
 * normalised per channel as `(v - mean[c]) / std[c]`.
 *
 * @param img Source image.
 * @param options Target size, normalisation constants and layout (default `"chw"`, ImageNet mean/std).
 * @returns The float data and its shape.
 * @throws {RangeError} If `size`, `mean` or `std` is invalid.
 * @example
 * ```ts
 * import { createImage, imageToTensorData } from "@cnnlens/core";
 * const img = createImage(100, 80, [124, 116, 104]);
 * const { data, shape } = imageToTensorData(img, { size: [224, 224] });
 * if (shape.join() !== "3,224,224" || Math.abs(data[0]) > 0.01) throw new Error("≈ ImageNet mean → 0");
 * ```
 */
export function imageToTensorData(img: RgbImage, options: TensorDataOptions = {}): TensorData {
  const what = "Cannot convert image to tensor data";
  checkImage(what, img, 3);
  const [outH, outW] = options.size ?? [img.height, img.width];
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  const layout = options.layout ?? "chw";
  if (mean.length !== 3 || !mean.every(Number.isFinite)) {
    throw new RangeError(`${what}: mean must be 3 finite numbers, got [${mean.join(", ")}]`);
  }
  if (std.length !== 3 || !std.every((s) => Number.isFinite(s) && s !== 0)) {
    throw new RangeError(`${what}: std must be 3 finite non-zero numbers, got [${std.join(", ")}]`);
  }
  const scaled = new Float32Array(img.data.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = img.data[i] / 255;
  const hwc = resizeBilinear(scaled, 3, img.height, img.width, outH, outW, "hwc");
  const n = outH * outW;
  const data = new Float32Array(3 * n);
  if (layout === "hwc") {
    for (let p = 0; p < n; p++) {
      for (let ch = 0; ch < 3; ch++) data[p * 3 + ch] = (hwc[p * 3 + ch] - mean[ch]) / std[ch];
    }
    return { data, shape: [outH, outW, 3] };
  }
  if (layout !== "chw") {
    throw new TypeError(`${what}: layout must be "chw" or "hwc", got ${JSON.stringify(layout)}`);
  }
  for (let ch = 0; ch < 3; ch++) {
    const m = mean[ch], s = std[ch], base = ch * n;
    for (let p = 0; p < n; p++) data[base + p] = (hwc[p * 3 + ch] - m) / s;
  }
  return { data, shape: [3, outH, outW] };
}

// ---------------------------------------------------------------------------------------------------

interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Per output index: the two source indices and the weight of the second one. */
function axisTaps(inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize), f = new Float32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), inSize - 1);
    const lo = Math.floor(s);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    f[d] = s - lo;
  }
  return { i0, i1, f };
}

function decodePng(bytes: Uint8Array, what: string): RgbImage {
  checkPngChunks(bytes, what);
  // IHDR data starts at byte 16: width, height (4 bytes each), bit depth (24), ..., interlace (28).
  if (bytes[28] === 1 && bytes[24] < 8) {
    // fast-png's Adam7 path assumes whole-byte samples and would return scrambled pixels.
    throw new TypeError(
      `${what}: interlaced PNG with ${
        bytes[24]
      }-bit samples is not supported (re-save it without interlacing)`,
    );
  }
  let png;
  try {
    png = decodePngRaw(bytes);
  } catch (err) {
    throw new SyntaxError(`${what}: corrupt PNG (${oneLine(err)})`);
  }
  const { width, height, depth, channels } = png;
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  if (png.palette !== undefined && channels === 1) {
    const palette = png.palette;
    const indices = unpackSamples(png.data as Uint8Array, width, height, depth);
    for (let p = 0; p < pixels; p++) {
      const entry = palette[indices[p]];
      if (entry === undefined) {
        throw new SyntaxError(
          `${what}: corrupt PNG (palette index ${indices[p]} of ${palette.length} entries)`,
        );
      }
      out[p * 3] = entry[0];
      out[p * 3 + 1] = entry[1];
      out[p * 3 + 2] = entry[2];
    }
    return { width, height, data: out };
  }
  let samples: ArrayLike<number>;
  if (depth === 16) {
    const wide = png.data as Uint16Array;
    const narrow = new Uint8Array(wide.length);
    for (let i = 0; i < wide.length; i++) narrow[i] = wide[i] >> 8;
    samples = narrow;
  } else if (depth === 8) {
    samples = png.data;
  } else {
    const unpacked = unpackSamples(png.data as Uint8Array, width, height, depth);
    const factor = 255 / ((1 << depth) - 1);
    for (let i = 0; i < unpacked.length; i++) unpacked[i] = Math.round(unpacked[i] * factor);
    samples = unpacked;
  }
  if (samples.length < pixels * channels) {
    throw new RangeError(
      `${what}: truncated PNG (${samples.length} samples for ${width}x${height}x${channels})`,
    );
  }
  for (let p = 0; p < pixels; p++) {
    const s = p * channels;
    if (channels <= 2) {
      const g = samples[s];
      out[p * 3] = g;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = g;
    } else {
      out[p * 3] = samples[s];
      out[p * 3 + 1] = samples[s + 1];
      out[p * 3 + 2] = samples[s + 2];
    }
  }
  return { width, height, data: out };
}

/** Unpacks 1/2/4/8-bit samples (rows padded to whole bytes) into one byte per sample. */
function unpackSamples(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Walks the chunk list so that truncation is reported as such rather than as a parser failure. */
function checkPngChunks(bytes: Uint8Array, what: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let first = true;
  for (;;) {
    if (pos + 8 > bytes.length) {
      throw new RangeError(
        `${what}: truncated PNG (file ends at byte ${bytes.length} before the IEND chunk)`,
      );
    }
    const length = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (first && type !== "IHDR") {
      throw new SyntaxError(`${what}: corrupt PNG (first chunk is ${JSON.stringify(type)}, expected "IHDR")`);
    }
    first = false;
    const end = pos + 12 + length;
    if (end > bytes.length) {
      throw new RangeError(
        `${what}: truncated PNG (${type} chunk needs ${length + 12} bytes at offset ${pos}, only ${
          bytes.length - pos
        } remain)`,
      );
    }
    if (type === "IEND") return;
    pos = end;
  }
}

function decodeJpeg(bytes: Uint8Array, what: string): RgbImage {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    const endsWithEoi = bytes.length >= 4 && bytes[bytes.length - 2] === 0xff &&
      bytes[bytes.length - 1] === 0xd9;
    if (!endsWithEoi) {
      throw new RangeError(`${what}: truncated JPEG (no end-of-image marker; decoder said: ${oneLine(err)})`);
    }
    throw new SyntaxError(`${what}: corrupt JPEG (${oneLine(err)})`);
  }
}

function checkSize(what: string, width: number, height: number): void {
  if (!Number.isSafeInteger(width) || width < 1 || !Number.isSafeInteger(height) || height < 1) {
    throw new RangeError(`${what}: size must be positive integers, got ${width}x${height}`);
  }
}

function checkImage(
  what: string,
  img: { width: number; height: number; data: Uint8Array },
  channels: number,
): void {
  checkSize(what, img.width, img.height);
  if (!(img.data instanceof Uint8Array)) {
    throw new TypeError(`${what}: data must be a Uint8Array, got ${typeName(img.data)}`);
  }
  const expected = img.width * img.height * channels;
  if (img.data.length !== expected) {
    throw new RangeError(
      `${what}: data has ${img.data.length} bytes but ${img.width}x${img.height}x${channels} needs ` +
        `${expected}`,
    );
  }
}

function startsWith(bytes: ArrayLike<number>, prefix: ArrayLike<number>): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === "object" ? (value as object).constructor?.name ?? "object" : typeof value;
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0].trim();
}
