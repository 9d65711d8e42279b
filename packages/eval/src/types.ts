/**
 * The plain data every metric works on: float arrays with an explicit shape, boxes in pixel coordinates,
 * and the model as a batch-scoring callback. Nothing here knows about tfjs or a particular model.
 * @module
 */

/**
 * A dense row-major float array with its shape: `[H, W]` for a single-channel map, `[C, H, W]` for a
 * multi-channel map or an input image. A `.npy` loaded by the core (`NdArray` with float32 data) fits.
 */
export interface NdFloat32 {
  /** Elements in row-major (C-) order; `data.length` is the product of `shape`. */
  readonly data: Float32Array;
  /** `[H, W]` or `[C, H, W]`. */
  readonly shape: readonly number[];
}

/** A saliency map at the input's resolution: `[H, W]`, or `[C, H, W]` (one plane per input channel). */
export type SaliencyMap = NdFloat32;

/** One model input, `[C, H, W]`, in whatever space the {@linkcode ScoreFn} expects. */
export type InputArray = NdFloat32;

/**
 * The model's decision for a batch of inputs: one number per input, in order (a class probability, a
 * logit, a similarity...). Each input has the shape of the image being evaluated (`[C, H, W]`, row-major).
 * The callback owns any tensors it makes and must not modify the arrays it is given (the unperturbed
 * input is passed as is); the protocols only pass and receive plain arrays.
 */
export type ScoreFn = (inputs: Float32Array[]) => Promise<number[]> | number[];

/** Sizes of a map or image. */
export interface Dims {
  /** Channels (1 for an `[H, W]` map). */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/**
 * Reads and checks the shape of a map or image.
 *
 * @param a The array; `shape` must be `[H, W]` or `[C, H, W]` with positive integer sizes matching
 *   `data.length`.
 * @param what Name used in error messages.
 * @returns Its channels, height and width.
 * @throws {RangeError} If the shape is not rank 2 or 3, has a non-positive size, or disagrees with the data.
 * @example
 * ```ts
 * import { dimsOf } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const d = dimsOf({ data: new Float32Array(6), shape: [2, 3] });
 * assert.deepEqual(d, { channels: 1, height: 2, width: 3 });
 * ```
 */
export function dimsOf(a: NdFloat32, what = "map"): Dims {
  if (a === null || typeof a !== "object" || !(a.data instanceof Float32Array) || !Array.isArray(a.shape)) {
    throw new TypeError(`Invalid ${what}: expected { data: Float32Array, shape: number[] }`);
  }
  const s = a.shape;
  if (s.length !== 2 && s.length !== 3) {
    throw new RangeError(`Invalid ${what}: shape must be [H, W] or [C, H, W], got [${s.join(", ")}]`);
  }
  for (const v of s) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`Invalid ${what}: sizes must be positive integers, got [${s.join(", ")}]`);
    }
  }
  const [channels, height, width] = s.length === 2 ? [1, s[0], s[1]] : [s[0], s[1], s[2]];
  if (a.data.length !== channels * height * width) {
    throw new RangeError(
      `Invalid ${what}: shape [${s.join(", ")}] needs ${
        channels * height * width
      } values, got ${a.data.length}`,
    );
  }
  return { channels, height, width };
}

/**
 * Checks that a map can be used with an input image: same height and width, and either one channel
 * (broadcast over the input's channels) or as many channels as the input.
 *
 * @param input The image, `[C, H, W]`.
 * @param map The map, `[H, W]` or `[C, H, W]`.
 * @returns The input's and the map's dims.
 * @throws {RangeError} If the sizes disagree (the message gives both shapes).
 * @example
 * ```ts
 * import { checkMapForInput } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const input = { data: new Float32Array(12), shape: [3, 2, 2] };
 * checkMapForInput(input, { data: new Float32Array(4), shape: [2, 2] }); // fine
 * assert.throws(() => checkMapForInput(input, { data: new Float32Array(9), shape: [3, 3] }));
 * ```
 */
export function checkMapForInput(input: InputArray, map: SaliencyMap): { input: Dims; map: Dims } {
  const di = dimsOf(input, "input");
  if (input.shape.length !== 3) {
    throw new RangeError(`Invalid input: shape must be [C, H, W], got [${input.shape.join(", ")}]`);
  }
  const dm = dimsOf(map, "map");
  if (dm.height !== di.height || dm.width !== di.width) {
    throw new RangeError(
      `Map [${map.shape.join(", ")}] does not match input [${input.shape.join(", ")}]: ` +
        `upsample the map to ${di.height}×${di.width} first`,
    );
  }
  if (dm.channels !== 1 && dm.channels !== di.channels) {
    throw new RangeError(
      `Map [${map.shape.join(", ")}] has ${dm.channels} channels; input [${input.shape.join(", ")}] ` +
        `needs 1 or ${di.channels}`,
    );
  }
  return { input: di, map: dm };
}
