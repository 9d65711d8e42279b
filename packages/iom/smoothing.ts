/**
 * IOM's post-processing (PANE §6.2): `IOM = Norm(AcgFlt(r-Exc⁺))` — neighbourhood-average filtering of
 * each channel, then scaling into [−1, 1] by the largest absolute value. Plain JavaScript on CHW arrays
 * (float64 accumulation), identical on every backend.
 * @module
 */

/**
 * Neighbourhood-average filter of every channel of a C×H×W map: each value becomes the mean of the k×k
 * window centred on it, over the pixels inside the image (no padding values are invented at the border).
 * @param data Values, CHW order.
 * @param shape `[C, H, W]`.
 * @param k Window size, odd and ≥ 1 (1 leaves the map unchanged). @default 3
 * @returns A new CHW array.
 * @example
 * ```ts
 * import { neighbourhoodAverage } from "./smoothing.ts";
 * const out = neighbourhoodAverage(Float32Array.from([0, 0, 0, 0, 9, 0, 0, 0, 0]), [1, 3, 3], 3);
 * if (out[4] !== 1 || out[0] !== 9 / 4) throw new Error("centre: 9/9, corner: 9/4");
 * ```
 */
export function neighbourhoodAverage(data: ArrayLike<number>, shape: number[], k = 3): Float32Array {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) {
    throw new RangeError(`Smoothing kernel size must be an odd integer ≥ 1: got ${k}`);
  }
  const [c, h, w] = shape;
  if (shape.length !== 3 || c * h * w !== data.length) {
    throw new RangeError(`neighbourhoodAverage() needs a C×H×W map: shape [${shape}], ${data.length} values`);
  }
  const r = (k - 1) / 2;
  const out = new Float32Array(data.length);
  const rowSum = new Float64Array(h * w);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let u = Math.max(0, x - r); u <= Math.min(w - 1, x + r); u++) s += data[base + y * w + u];
        rowSum[y * w + x] = s;
      }
    }
    for (let y = 0; y < h; y++) {
      const y0 = Math.max(0, y - r), y1 = Math.min(h - 1, y + r);
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let v = y0; v <= y1; v++) s += rowSum[v * w + x];
        const n = (y1 - y0 + 1) * (Math.min(w - 1, x + r) - Math.max(0, x - r) + 1);
        out[base + y * w + x] = s / n;
      }
    }
  }
  return out;
}

/**
 * Scale values into [−1, 1] by the largest absolute value (all zeros stay zeros).
 * @param data Values.
 * @returns A new array with `max |v| = 1` (unless all are zero).
 * @example
 * ```ts
 * import { normaliseSigned } from "./smoothing.ts";
 * if (normaliseSigned([2, -4]).join() !== "0.5,-1") throw new Error();
 * ```
 */
export function normaliseSigned(data: ArrayLike<number>): Float32Array {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  const out = new Float32Array(data.length);
  if (m > 0 && Number.isFinite(m)) { for (let i = 0; i < data.length; i++) out[i] = data[i] / m; }
  return out;
}
