/**
 * face-api's input handling, reproduced without tfjs: cut a face box out of an RGB image (as
 * `extractFaceTensors` does), pad it to a centred square with black, resize bilinearly (TensorFlow's
 * legacy sampling: no half-pixel centres, no corner alignment) and normalise with face-api's mean.
 * @module
 */
import type { RgbImage } from "../../io/image.ts";

/** A face box in image pixels (top-left corner and size), as face-api's detectors report it. */
export interface FaceBox {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
}

/** The preprocessing record of a face-api model, in the terms the CLI's model loader uses. */
export interface FaceApiPreprocessing {
  /** Network input size `[H, W]`. */
  size: [number, number];
  /** Mean subtracted after scaling pixels to [0, 1]: face-api's `meanRgb / 255`. */
  mean: [number, number, number];
  /** Standard deviation divided by after subtracting the mean: 1 (face-api divides by 255 only). */
  std: [number, number, number];
  /** face-api's mean in 0–255 units. */
  meanRgb: [number, number, number];
  /**
   * How a non-square image becomes square before resizing: black padding split evenly, the larger half
   * after (right/bottom). {@linkcode faceapiPreprocess} does this; generic resizing does not.
   */
  padToSquare: "centre";
}

/** face-api's per-channel mean (0–255 units), subtracted before dividing by 255. */
export const FACEAPI_MEAN_RGB: readonly [number, number, number] = Object.freeze(
  [122.782, 117.001, 104.298] as [number, number, number],
);

function record(size: number): FaceApiPreprocessing {
  const m = FACEAPI_MEAN_RGB;
  return Object.freeze({
    size: [size, size],
    mean: [m[0] / 255, m[1] / 255, m[2] / 255],
    std: [1, 1, 1],
    meanRgb: [...m],
    padToSquare: "centre",
  }) as FaceApiPreprocessing;
}

/** Preprocessing of `zoo:faceapi-recognition`: 150 × 150, (x − meanRgb) / 255. */
export const FACE_RECOGNITION_PREPROCESSING: FaceApiPreprocessing = record(150);
/** Preprocessing of `zoo:faceapi-expression`: 112 × 112, (x − meanRgb) / 255. */
export const FACE_EXPRESSION_PREPROCESSING: FaceApiPreprocessing = record(112);

/**
 * Cut a face out of an image as face-api's `extractFaceTensors` does: clip the box at the image borders,
 * floor its corner and size, and copy those pixels.
 *
 * @param img The image.
 * @param box The face box (fractional values allowed).
 * @returns The face's pixels.
 * @throws {RangeError} When the clipped box is empty.
 * @example
 * ```ts
 * import { extractFace } from "./faceapi_preprocess.ts";
 * const img = { width: 4, height: 3, data: new Uint8Array(36).map((_, i) => i) };
 * const face = extractFace(img, { x: 2.7, y: -1, width: 5, height: 2.5 });
 * // Clipped to x ∈ [2.7, 4), y ∈ [0, 1.5), then floored: one pixel, (2, 0).
 * if (face.width !== 1 || face.height !== 1 || face.data[0] !== 6) throw new Error("clipped crop expected");
 * ```
 */
export function extractFace(img: RgbImage, box: FaceBox): RgbImage {
  const x0 = Math.max(box.x, 0);
  const y0 = Math.max(box.y, 0);
  const x = Math.floor(x0);
  const y = Math.floor(y0);
  const width = Math.floor(Math.min(box.x + box.width - x0, img.width - x0));
  const height = Math.floor(Math.min(box.y + box.height - y0, img.height - y0));
  if (!(width > 0 && height > 0)) {
    throw new RangeError(
      `Face box [${box.x}, ${box.y}, ${box.width}, ${box.height}] lies outside the ${img.width}×${img.height} image`,
    );
  }
  const data = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    for (let i = 0; i < width * 3; i++) data[r * width * 3 + i] = img.data[((y + r) * img.width + x) * 3 + i];
  }
  return { width, height, data };
}

/**
 * face-api's network input for one image: pad to a centred square with black (the larger half of the
 * padding after the image), resize to `size × size` with TensorFlow's legacy bilinear sampling (source
 * coordinate = destination · in/out; `resizeBilinear(…, alignCorners=false, halfPixelCenters=false)`),
 * subtract {@linkcode FACEAPI_MEAN_RGB} and divide by 255.
 *
 * @param img The face image (RGB 0–255).
 * @param size Output side: 150 for recognition, 112 for expressions.
 * @returns NHWC values of shape [1, size, size, 3] (`tf.tensor4d(data, [1, size, size, 3])`).
 * @example
 * ```ts
 * import { faceapiPreprocess } from "./faceapi_preprocess.ts";
 * const grey = { width: 2, height: 1, data: new Uint8Array([200, 200, 200, 200, 200, 200]) };
 * const x = faceapiPreprocess(grey, 2);
 * // The 2×1 image becomes 2×2: row 0 is the image, row 1 padding (black; the larger half goes after).
 * if (Math.abs(x[0] - (200 - 122.782) / 255) > 1e-6) throw new Error("image row expected on top");
 * if (Math.abs(x[6] - (0 - 122.782) / 255) > 1e-6) throw new Error("padding row expected below");
 * ```
 */
export function faceapiPreprocess(img: RgbImage, size: number): Float32Array {
  const { width: w, height: h, data } = img;
  if (!(w > 0 && h > 0) || data.length !== w * h * 3) {
    throw new RangeError(
      `Cannot preprocess a ${w}×${h} image with ${data.length} values (expected ${w * h * 3})`,
    );
  }
  if (!(Number.isInteger(size) && size > 0)) {
    throw new RangeError(`Input size must be a positive integer, got ${size}`);
  }
  // Pad to a square: face-api appends round(d / 2) and prepends the rest.
  const side = Math.max(w, h);
  const before = (Math.abs(h - w)) - Math.round(Math.abs(h - w) * 0.5);
  const offX = w < h ? before : 0;
  const offY = h < w ? before : 0;
  const at = (sy: number, sx: number, c: number): number => {
    const yy = sy - offY;
    const xx = sx - offX;
    return yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : data[(yy * w + xx) * 3 + c];
  };
  // Source sampling positions along one axis (same for rows and columns: the image is square now).
  const ratio = side / size;
  const lo = new Int32Array(size);
  const hi = new Int32Array(size);
  const frac = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const s = i * ratio;
    lo[i] = Math.floor(s);
    hi[i] = Math.min(lo[i] + 1, side - 1);
    frac[i] = s - lo[i];
  }
  const out = new Float32Array(size * size * 3);
  const mean = FACEAPI_MEAN_RGB;
  for (let r = 0; r < size; r++) {
    const fy = frac[r];
    for (let q = 0; q < size; q++) {
      const fx = frac[q];
      for (let c = 0; c < 3; c++) {
        const top = at(lo[r], lo[q], c) * (1 - fx) + at(lo[r], hi[q], c) * fx;
        const bottom = at(hi[r], lo[q], c) * (1 - fx) + at(hi[r], hi[q], c) * fx;
        const v = top * (1 - fy) + bottom * fy;
        out[(r * size + q) * 3 + c] = (v - mean[c]) / 255;
      }
    }
  }
  return out;
}
