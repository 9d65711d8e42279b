/**
 * The three ways the faithfulness protocols combine an input with a map. A `[H, W]` map is broadcast
 * over the input's channels; a `[C, H, W]` map applies channel by channel.
 * @module
 */
import { checkMapForInput, type InputArray, type SaliencyMap } from "./types.ts";

function mapIndexer(input: InputArray, map: SaliencyMap): (i: number) => number {
  const { map: dm } = checkMapForInput(input, map);
  const hw = dm.height * dm.width;
  return dm.channels === 1 ? (i) => i % hw : (i) => i;
}

/**
 * `X ⊙ S`: the input masked by the map (FAM Eq. 21's masked image; Grad-CAM++'s `O`).
 *
 * @param input `X`, `[C, H, W]`.
 * @param map `S` (normally normalised to [0, 1]), `[H, W]` or `[C, H, W]`.
 * @returns A new `[C, H, W]` array.
 * @example
 * ```ts
 * import { multiplyByMap } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 1, 2] };
 * const s = { data: new Float32Array([0.5, 0]), shape: [1, 2] };
 * assert.deepEqual(Array.from(multiplyByMap(x, s)), [0.5, 0, 1.5, 0]);
 * ```
 */
export function multiplyByMap(input: InputArray, map: SaliencyMap): Float32Array {
  const at = mapIndexer(input, map);
  const out = new Float32Array(input.data.length);
  for (let i = 0; i < out.length; i++) out[i] = input.data[i] * map.data[at(i)];
  return out;
}

/**
 * `E = (1 − w)·X + w·S`, IOM section 8.3's explanation image (`w = 0.5`).
 *
 * @param input `X`, `[C, H, W]`.
 * @param map `S`, `[H, W]` or `[C, H, W]`.
 * @param weight `w`. @default 0.5
 * @returns A new `[C, H, W]` array.
 * @example
 * ```ts
 * import { blendWithMap } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 0]), shape: [1, 1, 2] };
 * const s = { data: new Float32Array([0, 1]), shape: [1, 2] };
 * assert.deepEqual(Array.from(blendWithMap(x, s)), [0.5, 0.5]);
 * ```
 */
export function blendWithMap(input: InputArray, map: SaliencyMap, weight = 0.5): Float32Array {
  const at = mapIndexer(input, map);
  const out = new Float32Array(input.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (1 - weight) * input.data[i] + weight * map.data[at(i)];
  return out;
}

/**
 * `X̂ = (1 − I(S′)) ∘ X` (IOM section 8.3 after XGrad-CAM): `S′` keeps the entries of `S` strictly above
 * the mean of `S` (all entries of the map) and zeroes the rest, `I(·)` marks the non-zero entries, so the
 * input is zeroed where `S > mean(S)` and `S ≠ 0`.
 *
 * @param input `X`, `[C, H, W]`.
 * @param map `S`, `[H, W]` or `[C, H, W]`.
 * @returns A new `[C, H, W]` array.
 * @example
 * ```ts
 * import { removeAboveMean } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([5, 6, 7, 8]), shape: [1, 2, 2] };
 * const s = { data: new Float32Array([0, 0.1, 0.2, 0.9]), shape: [2, 2] }; // mean 0.3
 * assert.deepEqual(Array.from(removeAboveMean(x, s)), [5, 6, 7, 0]);
 * ```
 */
export function removeAboveMean(input: InputArray, map: SaliencyMap): Float32Array {
  const at = mapIndexer(input, map);
  let mean = 0;
  for (let i = 0; i < map.data.length; i++) mean += map.data[i];
  mean /= map.data.length;
  const out = new Float32Array(input.data.length);
  for (let i = 0; i < out.length; i++) {
    const s = map.data[at(i)];
    out[i] = s > mean && s !== 0 ? 0 : input.data[i];
  }
  return out;
}
