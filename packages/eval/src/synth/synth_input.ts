/**
 * Synthetic images to model input: float32, scaled to [0, 1] and normalised per channel (ImageNet mean/std
 * by default, what the CLI applies to a PNG for a model that does not say otherwise), in the layout a
 * caller needs. The arithmetic is the core's `imageToTensorData` at the image's own size, value for value.
 * @module
 */
import type { RgbImage } from "@cnnlens/core";

/** Options of {@linkcode synthInput}. */
export interface SynthInputOptions {
  /** `"nhwc"`: one `[N, H, W, 3]` block (tfjs tensors); `"nchw"`: `[N, 3, H, W]` (cnnlens' per-sample
   * `[C, H, W]` inputs, back to back). @default "nhwc" */
  layout?: "nhwc" | "nchw";
  /** Per-channel mean, subtracted after scaling to [0, 1]. @default [0.485, 0.456, 0.406] */
  mean?: readonly number[];
  /** Per-channel standard deviation. @default [0.229, 0.224, 0.225] */
  std?: readonly number[];
}

/** The normalisation the committed models were trained with (ImageNet's). */
export const SYNTH_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** See {@linkcode SYNTH_MEAN}. */
export const SYNTH_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/**
 * Converts images of one size to one float32 batch.
 *
 * @param images The images (all the same width and height).
 * @param options Layout and normalisation.
 * @returns `N · H · W · 3` values in the chosen layout.
 * @throws {RangeError} If the images differ in size or there are none.
 * @example
 * ```ts
 * import { synthInput } from "./synth_input.ts";
 * import assert from "node:assert/strict";
 * const img = { width: 1, height: 1, data: new Uint8Array([255, 0, 0]) };
 * const x = synthInput([img], { mean: [0, 0, 0], std: [1, 1, 1] });
 * assert.deepEqual(Array.from(x), [1, 0, 0]);
 * ```
 */
export function synthInput(images: readonly RgbImage[], options: SynthInputOptions = {}): Float32Array {
  if (images.length === 0) throw new RangeError("Cannot make input from no images");
  const { width, height } = images[0];
  const mean = options.mean ?? SYNTH_MEAN, std = options.std ?? SYNTH_STD;
  const layout = options.layout ?? "nhwc";
  if (layout !== "nhwc" && layout !== "nchw") {
    throw new RangeError(`Layout must be "nhwc" or "nchw", got ${JSON.stringify(layout)}`);
  }
  const hw = width * height;
  const out = new Float32Array(images.length * hw * 3);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height || img.data.length !== hw * 3) {
      throw new RangeError(
        `Image ${n} is ${img.width}×${img.height} (${img.data.length} bytes), expected ${width}×${height} RGB`,
      );
    }
    const base = n * hw * 3;
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 3; c++) {
        const v = (Math.fround(img.data[p * 3 + c] / 255) - mean[c]) / std[c];
        out[layout === "nhwc" ? base + p * 3 + c : base + c * hw + p] = v;
      }
    }
  });
  return out;
}
