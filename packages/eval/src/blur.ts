/**
 * Gaussian blur of a `[C, H, W]` image, the substrate RISE's insertion metric starts from.
 * @module
 */
import { dimsOf, type InputArray } from "./types.ts";

/** Options of {@linkcode gaussianBlur}. */
export interface BlurOptions {
  /** Standard deviation in pixels (RISE: 5). @default 5 */
  sigma?: number;
  /** Kernel width in pixels, odd (RISE: 11). @default 11 */
  kernelSize?: number;
}

/**
 * Separable Gaussian blur, channel by channel. Near the border the kernel is truncated to the image and
 * renormalised to sum 1 (RISE pads with zeros, which darkens the border towards the input's zero; we do
 * not), so a constant image stays constant.
 *
 * @param input The image, `[C, H, W]` (or `[H, W]`).
 * @param options Sigma and kernel size.
 * @returns A new array of the same shape.
 * @throws {RangeError} If sigma is not positive or the kernel size not a positive odd integer.
 * @example
 * ```ts
 * import { gaussianBlur } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const flat = { data: new Float32Array(12).fill(3), shape: [1, 3, 4] };
 * assert.deepEqual(Array.from(gaussianBlur(flat)).map((v) => Math.round(v * 1e6) / 1e6), new Array(12).fill(3));
 * ```
 */
export function gaussianBlur(input: InputArray, options: BlurOptions = {}): Float32Array {
  const { channels, height, width } = dimsOf(input, "input");
  const sigma = options.sigma ?? 5, size = options.kernelSize ?? 11;
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`Invalid blur sigma ${sigma}: must be > 0`);
  }
  if (!Number.isSafeInteger(size) || size < 1 || size % 2 === 0) {
    throw new RangeError(`Invalid blur kernelSize ${size}: must be a positive odd integer`);
  }
  const r = (size - 1) / 2;
  const g = new Float64Array(size);
  for (let k = -r; k <= r; k++) g[k + r] = Math.exp(-(k * k) / (2 * sigma * sigma));
  const hw = height * width;
  const tmp = new Float64Array(hw);
  const out = new Float32Array(channels * hw);
  for (let c = 0; c < channels; c++) {
    const src = input.data.subarray(c * hw, (c + 1) * hw);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0, w = 0;
        for (let k = Math.max(-r, -x); k <= Math.min(r, width - 1 - x); k++) {
          s += g[k + r] * src[y * width + x + k];
          w += g[k + r];
        }
        tmp[y * width + x] = s / w;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0, w = 0;
        for (let k = Math.max(-r, -y); k <= Math.min(r, height - 1 - y); k++) {
          s += g[k + r] * tmp[(y + k) * width + x];
          w += g[k + r];
        }
        out[c * hw + y * width + x] = s / w;
      }
    }
  }
  return out;
}
