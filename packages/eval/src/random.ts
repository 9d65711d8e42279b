/**
 * A small seeded random source (mulberry32 with Box-Muller normals), so that noisy protocols (ROAD's
 * imputation noise) are reproducible across runs and machines.
 * @module
 */

/** A seeded random source. */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (mean 0, variance 1). */
  normal(): number;
}

/**
 * Creates a seeded random source.
 *
 * @param seed Any integer (taken modulo 2³²).
 * @returns A source; the same seed gives the same sequence.
 * @example
 * ```ts
 * import { seededRandom } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(seededRandom(7).normal(), seededRandom(7).normal());
 * ```
 */
export function seededRandom(seed: number): SeededRandom {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  let spare: number | null = null;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { uniform, normal };
}
