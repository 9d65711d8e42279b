/**
 * Colour maps as 256-entry RGB lookup tables, and functions that colour scalar maps with them.
 *
 * - `turbo`: Google's Turbo, sampled from its published degree-5 polynomial approximation.
 * - `jet`: the classic MATLAB jet, computed analytically (piecewise linear, dark blue to dark red).
 * - `viridis`: sampled from a degree-7 polynomial least-squares fit to matplotlib's viridis table
 *   (fit made for cnnlens; within 2.5/255 of the original per channel, exact at both ends).
 * - `bwr`: a diverging blue-white-red map for signed values, exactly white in the middle (entry 128).
 * @module
 */

/** Names of the built-in colour maps. */
export type ColormapName = "turbo" | "jet" | "viridis" | "bwr";

/** Number of entries in every lookup table. */
export const COLORMAP_SIZE = 256;

/** Index of the exactly-white middle entry of the diverging `bwr` table. */
const BWR_MIDDLE = 128;

type Rgb = [number, number, number];

function buildTable(color: (t: number) => Rgb): Uint8Array {
  const lut = new Uint8Array(COLORMAP_SIZE * 3);
  for (let i = 0; i < COLORMAP_SIZE; i++) {
    const rgb = color(i / (COLORMAP_SIZE - 1));
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, rgb[c])));
  }
  return lut;
}

function polynomial(coefficients: readonly number[], t: number): number {
  let acc = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = acc * t + coefficients[k];
  return acc;
}

// Turbo (Anton Mikhailov, Google, 2019): published polynomial approximation, coefficients of 1..t^5.
const TURBO = [
  [0.13572138, 4.6153926, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
  [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
  [0.1066733, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
] as const;

// Viridis: least-squares fit of a degree-7 polynomial (coefficients of 1..t^7) per channel to the
// 256-entry matplotlib table, computed for cnnlens with numpy.linalg.lstsq, the two end entries
// weighted 50x (and their neighbours 10x) so that the ends of the map are reproduced exactly.
const VIRIDIS = [
  [0.266938813, 0.78601877, -10.7328852, 56.7403262, -168.226667, 261.242584, -193.260148, 54.1770999],
  [0.00484091913, 1.44732541, -0.547364942, -1.18993489, 0.920185414, 6.01781607, -10.019069, 4.27235988],
  [0.329375324, 1.76180458, -5.94728849, 17.286621, -49.5043704, 93.5375252, -91.9332765, 34.6135539],
] as const;

const BWR_BLUE: Rgb = [33, 102, 172];
const BWR_RED: Rgb = [178, 24, 43];

function bwrTable(): Uint8Array {
  const lut = new Uint8Array(COLORMAP_SIZE * 3);
  for (let i = 0; i < COLORMAP_SIZE; i++) {
    // Blue half: entries 0..127 run from the blue end towards white; red half: 128 (white)..255 (red).
    const end = i < BWR_MIDDLE ? BWR_BLUE : BWR_RED;
    const strength = i < BWR_MIDDLE
      ? (BWR_MIDDLE - i) / BWR_MIDDLE
      : (i - BWR_MIDDLE) / (COLORMAP_SIZE - 1 - BWR_MIDDLE);
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(255 + (end[c] - 255) * strength);
  }
  return lut;
}

/**
 * The built-in lookup tables: each is `256 * 3` bytes, entry `i` (RGB at `3 * i`) being the colour
 * for value `i / 255`.
 *
 * @example
 * ```ts
 * const [r, g, b] = colormaps.viridis.subarray(0, 3); // colour for value 0
 * ```
 */
export const colormaps: Readonly<Record<ColormapName, Uint8Array>> = Object.freeze({
  turbo: buildTable((t) => [polynomial(TURBO[0], t), polynomial(TURBO[1], t), polynomial(TURBO[2], t)]),
  jet: buildTable((t) => [1.5 - Math.abs(4 * t - 3), 1.5 - Math.abs(4 * t - 2), 1.5 - Math.abs(4 * t - 1)]),
  viridis: buildTable((t) => [
    polynomial(VIRIDIS[0], t),
    polynomial(VIRIDIS[1], t),
    polynomial(VIRIDIS[2], t),
  ]),
  bwr: bwrTable(),
});

/**
 * Tells whether a string names a built-in colour map (useful for validating CLI options).
 *
 * @param name Candidate name.
 * @returns `true` if `name` is a key of {@link colormaps}.
 * @example
 * ```ts
 * import { isColormapName } from "@cnnlens/core";
 * if (!isColormapName("turbo") || isColormapName("rainbow")) throw new Error("turbo only");
 * ```
 */
export function isColormapName(name: string): name is ColormapName {
  return Object.hasOwn(colormaps, name);
}

/**
 * Colours values in [0, 1] with a colour map. Values outside are clamped; NaN is treated as 0.
 *
 * @param values Scalar values, nominally in [0, 1].
 * @param name Colour map name, default `"jet"`.
 * @returns Interleaved RGB bytes, `3 * values.length` of them.
 * @throws {TypeError} If `name` is not a built-in colour map.
 * @example
 * ```ts
 * const rgb = applyColormap(new Float32Array([0, 0.5, 1]), "turbo");
 * ```
 */
export function applyColormap(values: ArrayLike<number>, name: ColormapName = "jet"): Uint8Array {
  const lut = lookup(name);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const t = v > 0 ? (v < 1 ? v : 1) : 0; // NaN fails both comparisons and lands on 0
    const k = Math.round(t * (COLORMAP_SIZE - 1)) * 3;
    out[i * 3] = lut[k];
    out[i * 3 + 1] = lut[k + 1];
    out[i * 3 + 2] = lut[k + 2];
  }
  return out;
}

/**
 * Colours signed values in [-1, 1] with a diverging map: -1 is the blue end, 0 the middle (white for
 * `bwr`), 1 the red end. Values outside are clamped; NaN is treated as 0.
 *
 * @param values Signed scalar values, nominally in [-1, 1].
 * @param name Colour map name, default `"bwr"`.
 * @returns Interleaved RGB bytes, `3 * values.length` of them.
 * @throws {TypeError} If `name` is not a built-in colour map.
 * @example
 * ```ts
 * const rgb = applyDivergingColormap(new Float32Array([-1, 0, 1])); // blue, white, red
 * ```
 */
export function applyDivergingColormap(values: ArrayLike<number>, name: ColormapName = "bwr"): Uint8Array {
  const lut = lookup(name);
  const out = new Uint8Array(values.length * 3);
  const top = COLORMAP_SIZE - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const s = v > -1 ? (v < 1 ? v : 1) : (v <= -1 ? -1 : 0); // NaN -> 0
    // The two halves have 128 and 127 steps so that s = 0 lands exactly on entry 128.
    const index = s < 0
      ? Math.round(BWR_MIDDLE + s * BWR_MIDDLE)
      : Math.round(BWR_MIDDLE + s * (top - BWR_MIDDLE));
    const k = index * 3;
    out[i * 3] = lut[k];
    out[i * 3 + 1] = lut[k + 1];
    out[i * 3 + 2] = lut[k + 2];
  }
  return out;
}

function lookup(name: ColormapName): Uint8Array {
  if (typeof name !== "string" || !isColormapName(name)) {
    throw new TypeError(
      `Unknown colormap ${JSON.stringify(name)}; expected one of ${Object.keys(colormaps).join(", ")}`,
    );
  }
  return colormaps[name];
}
